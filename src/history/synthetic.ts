/**
 * Synthetic register histories that are linearizable by construction, for property tests and
 * checker benchmarks: per key, P processes run ops back to back; each op takes effect at a random
 * instant between its invocation and completion, and reads/cas are answered by replaying the
 * register in the order of those instants. Written values are unique per key. Some ops end `info`
 * (and then took effect or not, at random); some cas fail because they expected another value.
 */
import { Rng } from '../lib/rng.js';
import type { Op } from './op.js';

export interface SyntheticOptions {
  keys: number;
  processesPerKey: number;
  /** Total ops (invocations) across keys. */
  ops: number;
  seed: number;
  /** @default 0.2 */
  casProbability?: number;
  /** @default 0.4 */
  readProbability?: number;
  /** Share of writes/cas that end indeterminate. @default 0.02 */
  infoProbability?: number;
}

interface Sim {
  key: string;
  process: number;
  f: 'read' | 'write' | 'cas';
  input: unknown;
  output: unknown;
  type: 'ok' | 'fail' | 'info';
  invokeT: number;
  effectT: number;
  completeT: number;
  happens: boolean;
}

export function syntheticRegisterHistory(o: SyntheticOptions): Op[] {
  const rng = new Rng(o.seed);
  const sims: Sim[] = [];
  for (let k = 0; k < o.keys; k++) {
    const n = Math.floor(o.ops / o.keys) + (k < o.ops % o.keys ? 1 : 0);
    sims.push(...simulateKey(rng.fork(), `k${k}`, k * o.processesPerKey, n, o));
  }
  return toHistory(sims);
}

/** A simulated op: what was asked, what came back, and when it was invoked and completed. */
interface TimedOp {
  key: string;
  process: number;
  f: string;
  input: unknown;
  output: unknown;
  type: 'ok' | 'fail' | 'info';
  invokeT: number;
  completeT: number;
}

/** The history of simulated ops: events by time, an invocation before a completion at the same instant. */
function toHistory(sims: readonly TimedOp[]): Op[] {
  const events: Array<{ t: number; order: number; sim: TimedOp; invoke: boolean }> = [];
  for (const s of sims) {
    events.push({ t: s.invokeT, order: 0, sim: s, invoke: true });
    events.push({ t: s.completeT, order: 1, sim: s, invoke: false });
  }
  events.sort((a, b) => a.t - b.t || a.order - b.order);
  return events.map((e, index) => {
    const s = e.sim;
    if (e.invoke)
      return { index, time: Math.round(e.t * 1000), process: s.process, type: 'invoke', f: s.f, key: s.key, value: s.f === 'read' ? null : s.input };
    return { index, time: Math.round(e.t * 1000), process: s.process, type: s.type, f: s.f, key: s.key, value: s.f === 'read' ? s.output : s.input };
  });
}

function simulateKey(rng: Rng, key: string, firstProcess: number, n: number, o: SyntheticOptions): Sim[] {
  const sims: Sim[] = [];
  const clocks = Array.from({ length: o.processesPerKey }, () => rng.range(0, 10));
  let nextValue = 0;
  for (let i = 0; i < n; i++) {
    const p = i % o.processesPerKey;
    const invokeT = clocks[p]!;
    const duration = rng.range(1, 30);
    const effectT = invokeT + rng.range(0, duration);
    const completeT = invokeT + duration;
    clocks[p] = completeT + rng.range(0, 5);
    const r = rng.next();
    const f = r < (o.readProbability ?? 0.4) ? 'read' : r < (o.readProbability ?? 0.4) + (o.casProbability ?? 0.2) ? 'cas' : 'write';
    const indeterminate = f !== 'read' && rng.chance(o.infoProbability ?? 0.02);
    sims.push({
      key,
      process: firstProcess + p,
      f,
      input: f === 'write' ? nextValue++ : null,
      output: null,
      type: indeterminate ? 'info' : 'ok',
      invokeT,
      effectT,
      completeT,
      happens: !indeterminate || rng.chance(0.5),
    });
  }
  // Replay in effect order to answer reads and cas.
  let state: unknown = null;
  const seen: unknown[] = [null];
  for (const s of [...sims].sort((a, b) => a.effectT - b.effectT)) {
    if (s.f === 'read') s.output = state;
    else if (s.f === 'write') {
      if (s.happens) state = s.input;
      seen.push(s.input);
    } else {
      const expected = rng.chance(0.6) ? state : rng.pick(seen);
      const next = nextValue++;
      s.input = [expected, next];
      seen.push(next);
      const matches = expected === state;
      if (s.type === 'info') {
        if (s.happens && matches) state = next;
      } else if (matches) state = next;
      else s.type = 'fail';
    }
  }
  return sims;
}

export interface SyntheticKvOptions {
  /** Concurrent clients, each picking a random key per op (Porcupine's kv test uses 50). */
  clients: number;
  keys: number;
  /** Total ops (invocations). */
  ops: number;
  seed: number;
  /** @default 0.4 */
  readProbability?: number;
  /** Share of appends that end indeterminate. @default 0.02 */
  infoProbability?: number;
  /** Share of ops that run 10× longer than usual (what makes the search wide). @default 0.1 */
  slowProbability?: number;
  /** Keys whose history gets one impossible read (a piece missing from the middle). @default 0 */
  anomalies?: number;
  /** Share of ops that overwrite the key (Porcupine's put); such keys need the search. @default 0 */
  writeProbability?: number;
}

/**
 * Porcupine-style kv histories (appends and reads of a string per key) with heavy concurrency:
 * `clients` clients each run ops back to back on random keys, every op taking effect at a random
 * instant between invocation and completion; reads answer with the key's string at that instant.
 * Linearizable by construction, unless `anomalies` keys get one read whose answer lacks an
 * appended piece in the middle (a lost append) — then those keys, and only those, are not.
 */
export function syntheticKvHistory(o: SyntheticKvOptions): Op[] {
  const rng = new Rng(o.seed);
  interface KvSim {
    key: string;
    process: number;
    f: 'read' | 'append' | 'write';
    input: string | null;
    output: string | null;
    type: 'ok' | 'info';
    invokeT: number;
    effectT: number;
    completeT: number;
    happens: boolean;
  }
  const sims: KvSim[] = [];
  const clocks = Array.from({ length: o.clients }, () => rng.range(0, 10));
  for (let i = 0; i < o.ops; i++) {
    const p = i % o.clients;
    const invokeT = clocks[p]!;
    const duration = rng.range(1, 30) * (rng.chance(o.slowProbability ?? 0.1) ? 10 : 1);
    const effectT = invokeT + rng.range(0, duration);
    const completeT = invokeT + duration;
    clocks[p] = completeT + rng.range(0, 5);
    const r = rng.next();
    const read = r < (o.readProbability ?? 0.4);
    const write = !read && r < (o.readProbability ?? 0.4) + (o.writeProbability ?? 0);
    const indeterminate = !read && rng.chance(o.infoProbability ?? 0.02);
    sims.push({
      key: String(rng.int(o.keys)),
      process: p,
      f: read ? 'read' : write ? 'write' : 'append',
      input: read ? null : `${write ? 'w' : 'x'}${p}.${i} `,
      output: null,
      type: indeterminate ? 'info' : 'ok',
      invokeT,
      effectT,
      completeT,
      happens: !indeterminate || rng.chance(0.5),
    });
  }
  const state = new Map<string, string>();
  for (const s of [...sims].sort((a, b) => a.effectT - b.effectT)) {
    const cur = state.get(s.key) ?? '';
    if (s.f === 'read') s.output = cur;
    else if (s.happens) state.set(s.key, s.f === 'write' ? s.input! : cur + s.input);
  }
  // One impossible read per chosen key: drop a piece from the middle of a long enough answer.
  const keys = [...new Set(sims.map((s) => s.key))].sort();
  for (const key of keys.slice(0, o.anomalies ?? 0)) {
    const reads = sims.filter((s) => s.key === key && s.f === 'read' && (s.output ?? '').split(' ').length > 4);
    if (reads.length === 0) continue;
    const r = reads[Math.floor(reads.length / 2)]!;
    const pieces = r.output!.trim().split(' ');
    pieces.splice(Math.floor(pieces.length / 2), 1);
    r.output = `${pieces.join(' ')} `;
  }
  return toHistory(sims);
}
