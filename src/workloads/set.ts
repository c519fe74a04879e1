/**
 * The set workload (Jepsen's set): each op adds a new unique element, stored as its own key
 * `<prefix><element>`; after the faults heal and the cluster converges, a final read of every node
 * lists what survived. Loss, not linearizability, is the question.
 *
 * With `readShare`, that share of operations reads back one of the most recently invoked adds
 * (any client's, finished or still in flight) where the `reads` policy sends it: an ok read's value
 * is the element when found, null when not. A read that found an element the final state lacks is
 * a read of a lost write (src/checker/lost-reads.ts).
 */

import type { Outcome } from '../client/kv-http.js';
import type { Rng } from '../lib/rng.js';
import type { DataClient } from './data-client.js';
import { scanItems } from './data-client.js';
import { readsPolicy } from './register.js';
import type { WorkloadSpec } from './spec.js';
import type { Invocation, Workload } from './workload.js';

export const SET_KEY = 'set';
/** How many of the latest adds a read picks from: recent enough to catch one in flight. */
const RECENT = 16;

export function setWorkload(spec: WorkloadSpec): Workload {
  const counters = new Map<number, number>();
  const recent: number[] = [];
  const policy = spec.readShare > 0 ? readsPolicy(spec.reads) : undefined;
  return {
    name: spec.name,
    model: 'set',
    next(rng: Rng, slot: number): Invocation {
      // No draw without readShare: the adds a seed generates stay what they were.
      if (policy && recent.length > 0 && rng.next() < spec.readShare) return { f: 'read', key: SET_KEY, value: null, extra: { element: rng.pick(recent) } };
      const n = (counters.get(slot) ?? 0) + 1;
      counters.set(slot, n);
      // Unique across slots: slot in the low digits keeps elements small numbers.
      const element = n * 1000 + slot;
      if (policy) {
        recent.push(element);
        if (recent.length > RECENT) recent.shift();
      }
      return { f: 'add', key: SET_KEY, value: element };
    },
    async perform(op: Invocation, client: DataClient, rng: Rng, timeoutMs: number): Promise<Outcome> {
      if (op.f === 'read' && policy) {
        const element = op.extra?.element as number;
        const out = await client.read({ key: spec.keyPrefix + String(element), policy, token: null, rng, timeoutMs });
        return out.type === 'ok' ? { ...out, value: out.value === null || out.value === undefined ? null : element } : out;
      }
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
