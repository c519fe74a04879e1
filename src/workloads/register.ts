/**
 * The register workload (Jepsen's linearizable register): read, write and cas on independent keys.
 * Written values are unique per key (`<slot>-<n>`), so every read names the write it saw and the
 * final value names the write that won. cas expects the last value any client saw for the key,
 * which keeps its success rate useful without guessing.
 */

import type { Outcome } from '../client/kv-http.js';
import { parseReadsSetting, type ReadPolicy } from '../lib/read-consistency.js';
import type { Rng } from '../lib/rng.js';
import type { DataClient } from './data-client.js';
import { scanItems } from './data-client.js';
import type { WorkloadSpec } from './spec.js';
import { type Invocation, sessionTokenOf, type Workload } from './workload.js';

export function registerWorkload(spec: WorkloadSpec): Workload {
  const keys = Array.from({ length: spec.keys }, (_, i) => `${spec.keyPrefix}k${i}`);
  const counters = new Map<number, number>();
  const lastSeen = new Map<string, unknown>();
  const total = spec.mix.read + spec.mix.write + spec.mix.cas;
  const policy = readsPolicy(spec.reads);
  // Under the `session` policy each client slot is a session: its token is the highest LSN its
  // acknowledged operations carried, sent with each read (and recorded on the read's invoke).
  const tokens = new Map<number, number>();
  const slotOf = new WeakMap<Invocation, number>();
  return {
    name: spec.name,
    model: 'register',
    next(rng: Rng, slot: number): Invocation {
      const key = rng.pick(keys);
      const r = rng.next() * total;
      let op: Invocation;
      if (r < spec.mix.read)
        op = policy.kind === 'session' ? { f: 'read', key, value: null, extra: { token: tokens.get(slot) ?? null } } : { f: 'read', key, value: null };
      else {
        const n = (counters.get(slot) ?? 0) + 1;
        counters.set(slot, n);
        const value = `${slot}-${n}`;
        op = r < spec.mix.read + spec.mix.write ? { f: 'write', key, value } : { f: 'cas', key, value: [lastSeen.get(key) ?? null, value] };
      }
      if (policy.kind === 'session') slotOf.set(op, slot);
      return op;
    },
    perform(op: Invocation, client: DataClient, rng: Rng, timeoutMs: number): Promise<Outcome> {
      switch (op.f) {
        case 'read':
          return client.read({ key: op.key, policy, token: sessionTokenOf(op), rng, timeoutMs });
        case 'write':
          return client.write(op.key, String(op.value), timeoutMs);
        default: {
          const [expected, value] = op.value as [string | null, string];
          return client.cas(op.key, expected, value, timeoutMs);
        }
      }
    },
    observe(op: Invocation, outcome: Outcome): void {
      const slot = slotOf.get(op);
      if (slot !== undefined && outcome.type === 'ok' && typeof outcome.lsn === 'number') tokens.set(slot, Math.max(tokens.get(slot) ?? 0, outcome.lsn));
      if (outcome.type === 'ok') lastSeen.set(op.key, op.f === 'cas' ? (op.value as unknown[])[1] : op.f === 'write' ? op.value : outcome.value);
      else if (op.f === 'cas' && outcome.type === 'fail' && outcome.value !== undefined) lastSeen.set(op.key, outcome.value);
    },
    effect(invoke) {
      if (invoke.key === undefined) return undefined;
      if (invoke.f === 'write') return { key: invoke.key, value: String(invoke.value) };
      if (invoke.f === 'cas' && Array.isArray(invoke.value)) return { key: invoke.key, value: String(invoke.value[1]) };
      return undefined;
    },
    async finalRead(nodeId, client, timeoutMs) {
      const out = await client.scan(nodeId, spec.keyPrefix, timeoutMs);
      if (out.type !== 'ok') return keys.map((key) => ({ key, outcome: out }));
      const scanned = scanItems(out.value);
      if (!scanned.ok) return keys.map((key) => ({ key, outcome: { type: 'fail' as const, error: scanned.error } }));
      const items = new Map(scanned.items.map((i) => [i.key, i.value]));
      return keys.map((key) => ({ key, outcome: { ...out, value: items.get(key) ?? null } }));
    },
  };
}

/** The spec's `reads` as a policy (`leader` and `followers` are leader-only and round-robin). */
export function readsPolicy(reads: string): ReadPolicy {
  const p = parseReadsSetting(reads);
  // parseWorkloadSpec has refused anything else: a bad name here is a bug.
  if (!p.ok) throw new Error(`workload reads: ${p.error}`);
  return p.value;
}
