/**
 * The session workload: each client slot is one session (an application server's connection, a
 * user's browser) that writes keys and reads them back, its own and others', through a routing
 * policy (`reads:` in the workload spec; src/lib/read-consistency.ts). It is the history the
 * session-guarantee checker (src/checker/session.ts) reads:
 *
 *   write  invoke {key, value: "<slot>-<n>" (unique), policy}      ok {lsn, node}
 *   read   invoke {key, policy, token: highest LSN seen or null}   ok {value, lsn (applied there), node}
 *
 * The session's token is the highest LSN any of its acknowledged writes or reads carried; the
 * `session` policy asks a follower for at least that position (read-your-writes, monotonic
 * reads), every other policy ignores it. Half of a session's reads go to keys it wrote itself
 * (when it has any), so read-your-writes is exercised rather than left to chance.
 */

import type { Outcome } from '../client/kv-http.js';
import { formatReadPolicy, parseReadsSetting, type ReadPolicy } from '../lib/read-consistency.js';
import type { Rng } from '../lib/rng.js';
import type { DataClient } from './data-client.js';
import { scanItems } from './data-client.js';
import type { WorkloadSpec } from './spec.js';
import { type Invocation, sessionTokenOf, type Workload } from './workload.js';

/** A workload spec's `reads:` as a routing policy (the spec parser has checked it already). */
export function readPolicyOf(reads: string): ReadPolicy {
  const p = parseReadsSetting(reads);
  if (!p.ok) throw new Error(`workload reads: ${p.error}`);
  return p.value;
}

interface SessionState {
  token: number | null;
  written: string[];
  counter: number;
}

export function sessionWorkload(spec: WorkloadSpec): Workload {
  const keys = Array.from({ length: spec.keys }, (_, i) => `${spec.keyPrefix}k${i}`);
  const policy = readPolicyOf(spec.reads);
  const policyName = formatReadPolicy(policy);
  const sessions = new Map<number, SessionState>();
  const state = (slot: number): SessionState => {
    let s = sessions.get(slot);
    if (!s) {
      s = { token: null, written: [], counter: 0 };
      sessions.set(slot, s);
    }
    return s;
  };
  // Which slot an invocation belongs to: `observe` gets the op back, not the slot.
  const slotOf = new WeakMap<Invocation, number>();
  const writeShare = spec.mix.write + spec.mix.cas;
  const total = spec.mix.read + writeShare;
  return {
    name: spec.name,
    model: 'register',
    next(rng: Rng, slot: number): Invocation {
      const s = state(slot);
      let op: Invocation;
      if (rng.next() * total < spec.mix.read) {
        const own = s.written.length > 0 && rng.next() < 0.5;
        const key = own ? rng.pick(s.written) : rng.pick(keys);
        op = { f: 'read', key, value: null, extra: { policy: policyName, token: s.token } };
      } else {
        s.counter++;
        const key = rng.pick(keys);
        op = { f: 'write', key, value: `${slot}-${s.counter}`, extra: { policy: policyName } };
      }
      slotOf.set(op, slot);
      return op;
    },
    perform(op: Invocation, client: DataClient, rng: Rng, timeoutMs: number): Promise<Outcome> {
      if (op.f === 'write') return client.write(op.key, String(op.value), timeoutMs);
      return client.read({ key: op.key, policy, token: sessionTokenOf(op), rng, timeoutMs });
    },
    observe(op: Invocation, outcome: Outcome): void {
      const slot = slotOf.get(op);
      if (slot === undefined || outcome.type !== 'ok') return;
      const s = state(slot);
      if (op.f === 'write' && !s.written.includes(op.key)) s.written.push(op.key);
      if (typeof outcome.lsn === 'number' && Number.isSafeInteger(outcome.lsn)) s.token = Math.max(s.token ?? 0, outcome.lsn);
    },
    effect(invoke) {
      return invoke.f === 'write' && invoke.key !== undefined ? { key: invoke.key, value: String(invoke.value) } : undefined;
    },
    async finalRead(nodeId, client, timeoutMs) {
      const out = await client.scan(nodeId, spec.keyPrefix, timeoutMs);
      if (out.type !== 'ok') return keys.map((key) => ({ key, outcome: out }));
      const scanned = scanItems(out.value);
      if (!scanned.ok) return keys.map((key) => ({ key, outcome: { type: 'fail' as const, error: scanned.error } }));
      const held = new Map(scanned.items.map((i) => [i.key, i.value]));
      return keys.map((key) => ({ key, outcome: { ...out, value: held.get(key) ?? null } }));
    },
  };
}
