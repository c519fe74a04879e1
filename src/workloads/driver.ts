/**
 * Drives a workload against a cluster and records the history: `concurrency` client slots, each
 * looping invoke → perform → complete; a shared rate limit; a fixed duration; then final reads.
 *
 * As in Jepsen, a slot whose op ended `info` retires its process id (the op may still be in
 * flight) and continues as process id + concurrency. Each slot draws its ops from its own seeded
 * stream, so a seed replays the same per-process op sequence.
 */

import type { Outcome } from '../client/kv-http.js';
import type { Op } from '../history/op.js';
import type { HistoryRecorder } from '../history/recorder.js';
import { Rng } from '../lib/rng.js';
import type { DataClient } from './data-client.js';
import { registerWorkload } from './register.js';
import { sessionWorkload } from './session.js';
import { setWorkload } from './set.js';
import type { WorkloadSpec } from './spec.js';
import type { Workload } from './workload.js';

/** The registry: workload name → constructor. */
export const WORKLOADS: Record<WorkloadSpec['workload'], (spec: WorkloadSpec) => Workload> = {
  register: registerWorkload,
  set: setWorkload,
  session: sessionWorkload,
};

export function createWorkload(spec: WorkloadSpec): Workload {
  return WORKLOADS[spec.workload](spec);
}

export interface DriveOptions {
  spec: WorkloadSpec;
  workload: Workload;
  client: DataClient;
  /**
   * Each client slot's own view of the cluster (like separate application servers, each with its
   * own idea of who leads); defaults to the shared `client`.
   */
  clientFor?: (slot: number) => DataClient;
  recorder: HistoryRecorder;
  /** Overrides spec.durationSec. */
  durationSec?: number;
  /** Stops early when aborted. */
  signal?: AbortSignal;
  /** How long past spec.timeoutMs an operation may take before it is recorded `info`. @default 5000 */
  settleGraceMs?: number;
}

export interface DriveStats {
  invoked: number;
  ok: number;
  fail: number;
  info: number;
}

export async function drive(o: DriveOptions): Promise<DriveStats> {
  const { spec, workload, recorder } = o;
  const stats: DriveStats = { invoked: 0, ok: 0, fail: 0, info: 0 };
  const root = new Rng(spec.seed);
  const endAt = Date.now() + (o.durationSec ?? spec.durationSec) * 1000;
  const intervalMs = spec.rateOpsPerSec > 0 ? 1000 / spec.rateOpsPerSec : 0;
  let nextSlotAt = Date.now();
  const running = () => Date.now() < endAt && !o.signal?.aborted;

  const client = async (slot: number, rng: Rng) => {
    const targets = o.clientFor?.(slot) ?? o.client;
    let process = slot;
    while (running()) {
      if (intervalMs > 0) {
        const at = Math.max(Date.now(), nextSlotAt);
        nextSlotAt = at + intervalMs;
        if (at > Date.now()) await sleep(at - Date.now());
        if (!running()) break;
      }
      const op = workload.next(rng, slot);
      const invoke = recorder.invoke(process, op.f, { key: op.key, value: op.value, ...(op.extra ? { extra: op.extra } : {}) });
      stats.invoked++;
      const outcome = await settled(workload.perform(op, targets, rng, spec.timeoutMs), spec.timeoutMs + (o.settleGraceMs ?? SETTLE_GRACE_MS));
      complete(recorder, invoke, op.f, outcome);
      stats[outcome.type]++;
      workload.observe?.(op, outcome);
      if (outcome.type !== 'ok' && outcome.leader) targets.noteLeaderHint(outcome.leader);
      if (outcome.type === 'info') process += spec.concurrency;
      // Back off briefly after an error so a dead leader is not hammered in a tight loop.
      if (outcome.type !== 'ok') await sleep(Math.min(50, spec.timeoutMs / 10));
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, slot) => client(slot, root.fork())));
  return stats;
}

function complete(recorder: HistoryRecorder, invoke: Op, f: string, outcome: Outcome): void {
  const fields: Partial<Op> = {};
  if (outcome.node) fields.node = outcome.node;
  if (outcome.type === 'ok') {
    if (f === 'read') fields.value = outcome.value;
    if (outcome.lsn !== undefined) fields.lsn = outcome.lsn;
    if (outcome.epoch !== undefined) fields.epoch = outcome.epoch;
  } else fields.error = outcome.error;
  recorder.complete(invoke, outcome.type, fields);
}

/** Records a final read of every node (process "final-<node>"), after the cluster converged. */
export async function recordFinalReads(workload: Workload, client: DataClient, recorder: HistoryRecorder, timeoutMs = 5000): Promise<void> {
  for (const node of client.nodeIds()) {
    const reads = await workload.finalRead(node, client, timeoutMs);
    for (const { key, outcome } of reads) {
      const invoke = recorder.invoke(`final-${node}`, 'final-read', { key });
      recorder.complete(invoke, outcome.type, {
        node,
        value: outcome.type === 'ok' ? outcome.value : null,
        ...(outcome.type === 'ok' ? { lsn: outcome.lsn } : { error: outcome.error }),
      });
    }
  }
}

/**
 * How long past its own timeout an operation may take before the driver stops waiting for it: a
 * client (a user's system module) that never settles must not stop the workload. Such an op is
 * `info`: it may still happen.
 */
const SETTLE_GRACE_MS = 5000;

function settled(p: Promise<Outcome>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ type: 'info', error: `the client did not answer within ${ms} ms` }), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
