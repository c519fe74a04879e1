/**
 * What a workload needs from a system under test: a few data operations, each answered with an
 * ok / fail / info outcome under the same rules whatever the system (src/client/kv-http.ts states them for
 * HTTP, src/systems/postgres/sql-client.ts for SQL). A workload generates operations and reads the
 * final state through this, and never names a protocol.
 */

import { z } from 'zod';
import type { Outcome } from '../client/kv-http.js';
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

export interface DataClient {
  /** Reads `key` on the leader, or on a follower the rng picks (stale reads become measurable). */
  read(key: string, from: 'leader' | 'follower', rng: Rng, timeoutMs: number): Promise<Outcome>;
  /** Sets `key` to `value` on the leader. */
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
