/**
 * The register workload (Jepsen's linearizable register): read, write and cas on independent keys.
 * Written values are unique per key (`<slot>-<n>`), so every read names the write it saw and the
 * final value names the write that won. cas expects the last value any client saw for the key,
 * which keeps its success rate useful without guessing.
 */

import type { Outcome } from '../client/kv-http.js';
import type { Rng } from '../lib/rng.js';
import type { DataClient } from './data-client.js';
import { scanItems } from './data-client.js';
import type { WorkloadSpec } from './spec.js';
import type { Invocation, Workload } from './workload.js';

export function registerWorkload(spec: WorkloadSpec): Workload {
  const keys = Array.from({ length: spec.keys }, (_, i) => `${spec.keyPrefix}k${i}`);
  const counters = new Map<number, number>();
  const lastSeen = new Map<string, unknown>();
  const total = spec.mix.read + spec.mix.write + spec.mix.cas;
  return {
    name: spec.name,
    model: 'register',
    next(rng: Rng, slot: number): Invocation {
      const key = rng.pick(keys);
      const r = rng.next() * total;
      if (r < spec.mix.read) return { f: 'read', key, value: null };
      const n = (counters.get(slot) ?? 0) + 1;
      counters.set(slot, n);
      const value = `${slot}-${n}`;
      if (r < spec.mix.read + spec.mix.write) return { f: 'write', key, value };
      return { f: 'cas', key, value: [lastSeen.get(key) ?? null, value] };
    },
    perform(op: Invocation, client: DataClient, rng: Rng, timeoutMs: number): Promise<Outcome> {
      switch (op.f) {
        case 'read':
          return client.read({
            key: op.key,
            policy: spec.reads === 'followers' ? { kind: 'round-robin' } : { kind: 'leader-only' },
            token: null,
            rng,
            timeoutMs,
          });
        case 'write':
          return client.write(op.key, String(op.value), timeoutMs);
        default: {
          const [expected, value] = op.value as [string | null, string];
          return client.cas(op.key, expected, value, timeoutMs);
        }
      }
    },
    observe(op: Invocation, outcome: Outcome): void {
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
