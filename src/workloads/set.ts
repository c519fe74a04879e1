/**
 * The set workload (Jepsen's set): each op adds a new unique element, stored as its own key
 * `<prefix><element>`; after the faults heal and the cluster converges, a final read of every node
 * lists what survived. Loss, not linearizability, is the question.
 */

import type { Outcome } from '../client/kv-http.js';
import type { Rng } from '../lib/rng.js';
import type { DataClient } from './data-client.js';
import { scanItems } from './data-client.js';
import type { WorkloadSpec } from './spec.js';
import type { Invocation, Workload } from './workload.js';

export const SET_KEY = 'set';

export function setWorkload(spec: WorkloadSpec): Workload {
  const counters = new Map<number, number>();
  return {
    name: spec.name,
    model: 'set',
    next(_rng: Rng, slot: number): Invocation {
      const n = (counters.get(slot) ?? 0) + 1;
      counters.set(slot, n);
      // Unique across slots: slot in the low digits keeps elements small numbers.
      return { f: 'add', key: SET_KEY, value: n * 1000 + slot };
    },
    perform(op: Invocation, client: DataClient, _rng: Rng, timeoutMs: number): Promise<Outcome> {
      return client.add(spec.keyPrefix + String(op.value), timeoutMs);
    },
    // Each element is its own key; the stored value is always "1".
    effect: (invoke) => (invoke.f === 'add' ? { key: spec.keyPrefix + String(invoke.value), value: '1' } : undefined),
    async finalRead(nodeId, client, timeoutMs) {
      const out = await client.scan(nodeId, spec.keyPrefix, timeoutMs);
      if (out.type !== 'ok') return [{ key: SET_KEY, outcome: out }];
      const scanned = scanItems(out.value);
      if (!scanned.ok) return [{ key: SET_KEY, outcome: { type: 'fail' as const, error: scanned.error } }];
      const elements = scanned.items.map((i) => Number(i.key.slice(spec.keyPrefix.length))).sort((a, b) => a - b);
      return [{ key: SET_KEY, outcome: { ...out, value: elements } }];
    },
  };
}
