/**
 * What a workload needs from a system under test: a few data operations, each answered with an
 * ok / fail / info outcome under the same rules whatever the system (src/client/kv-http.ts states them for
 * HTTP, src/systems/postgres/sql-client.ts for SQL). A workload generates operations and reads the
 * final state through this, and never names a protocol.
 */

import { z } from 'zod';
import type { Outcome } from '../client/kv-http.js';
import type { ReadPolicy } from '../lib/read-consistency.js';
import type { Rng } from '../lib/rng.js';

/** What a final read's scan answers with: every key under the prefix and its value. */
export const ScanItemsSchema = z.array(z.object({ key: z.string(), value: z.string() }));
export type ScanItems = z.infer<typeof ScanItemsSchema>;

/**
 * The items of an ok scan, checked: a system module (or a node) answering something else is a
 * failed final read naming what came, not a crash in the workload.
 */
export function scanItems(value: unknown): { ok: true; items: ScanItems } | { ok: false; error: string } {
  const r = ScanItemsSchema.safeParse(value);
  return r.success ? { ok: true, items: r.data } : { ok: false, error: `scan answered ${JSON.stringify(value)?.slice(0, 80)}, not [{key, value}]` };
}

/** One read, and where it may be served (src/lib/read-consistency.ts names the policies). */
export interface ReadRequest {
  key: string;
  policy: ReadPolicy;
  /**
   * The session's token (policy `session`): the highest LSN this client wrote or read, or null
   * before any. The read must reflect at least that LSN, wherever it is served.
   */
  token: number | null;
  rng: Rng;
  timeoutMs: number;
}

export interface DataClient {
  /**
   * Reads `key` where `policy` sends it. An ok outcome names the serving `node` and carries `lsn`,
   * the log position the serving node had applied when it answered (what a session token is
   * built from); a policy that cannot be met anywhere is a definite fail naming why.
   */
  read(req: ReadRequest): Promise<Outcome>;
  /** Sets `key` to `value` on the leader; an ok outcome carries the write's `lsn` where the system has one. */
  write(key: string, value: string, timeoutMs: number): Promise<Outcome>;
  /** Sets `key` to `value` only if it holds `expected` (null: absent); a mismatch is a definite fail. */
  cas(key: string, expected: string | null, value: string, timeoutMs: number): Promise<Outcome>;
  /** Creates `key` (a set element; its value is "1"). */
  add(key: string, timeoutMs: number): Promise<Outcome>;
  /** Every key under `prefix` read directly on node `nodeId` (final reads): ok with value [{key, value}]. */
  scan(nodeId: string, prefix: string, timeoutMs: number): Promise<Outcome>;
  nodeIds(): string[];
  /** A failed operation named the leader: send the next ones there. */
  noteLeaderHint(leader: string): void;
  /** Finds the leader again. */
  refresh(): Promise<void>;
  close(): void;
}
