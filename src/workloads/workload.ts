/**
 * What a workload is (Jepsen's "a generator plus a checker, the caller adds the client"): how to
 * pick the next operation for a client process, how to perform it against the cluster, and how to
 * read the final state. The driver (driver.ts) supplies processes, timing and recording.
 */

import type { CheckModel } from '../checker/checker.js';
import type { Outcome } from '../client/kv-http.js';
import type { Rng } from '../lib/rng.js';
import type { DataClient } from './data-client.js';

export interface Invocation {
  f: string;
  key: string;
  value: unknown;
  /** More fields for the history's invoke line (a read's routing policy and session token). */
  extra?: Record<string, unknown>;
}

/** The session token a read carries in its `extra` (set when the workload reads with one), else null. */
export function sessionTokenOf(op: Invocation): number | null {
  const token = op.extra?.token;
  return typeof token === 'number' ? token : null;
}

export interface Workload {
  readonly name: string;
  readonly model: CheckModel;
  /** The next op for a client slot. `rng` is that slot's own stream, so sequences replay per seed. */
  next(rng: Rng, slot: number): Invocation;
  perform(op: Invocation, client: DataClient, rng: Rng, timeoutMs: number): Promise<Outcome>;
  /** Observes completed ops (e.g. to pick plausible cas expectations). */
  observe?(op: Invocation, outcome: Outcome): void;
  /**
   * The record a write puts in the node's log, read from its history invocation: the key and the
   * (unique) value the log holds. This is what the log evidence looks for.
   */
  effect(invoke: { f: string; key?: string; value: unknown }): { key: string; value: string } | undefined;
  /** Final reads: one or more (key, value) observations per node, taken after the cluster converged. */
  finalRead(nodeId: string, client: DataClient, timeoutMs: number): Promise<Array<{ key: string; outcome: Outcome }>>;
}
