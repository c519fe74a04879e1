/**
 * Linearizability checking: the Wing–Gong search with Lowe's memoisation, as Porcupine does it,
 * run separately for each key ("per-key" partitioning: independent registers linearize
 * independently, so a long history becomes many short searches).
 *
 * The search walks a linked list of call and return events in history order. At a call it tries
 * to linearize that op now (the model accepts it from the current state); at a return whose op is
 * not yet linearized it backtracks. Each (linearized set, state) pair is visited once.
 *
 * `info` ops (and ops still pending at the end) have no return event: they may take effect at any
 * point after their invocation, or never — the search succeeds as soon as every completed op is
 * linearized, which leaves the undecided ones "after everything", i.e. never observed. `fail` ops
 * definitely did not happen and are dropped; so are indeterminate reads, which observed nothing.
 *
 * The linearized set is kept compact: ops are numbered in completion order, and the set is stored
 * as a watermark (every op below it is linearized) plus the few linearized ops above it. A search
 * state therefore costs O(concurrency) memory instead of O(history), which is what lets a
 * 100k-op key fit in memory.
 *
 * A per-key time budget turns a search that runs too long into `unknown`, never a guess.
 */
import type { Op } from '../history/op.js';
import { pairOps } from '../history/op.js';
import type { LinOp, Model } from './models/model.js';

export type Validity = true | false | 'unknown';

export interface OpSummary {
  process: number | string;
  f: string;
  key: string;
  value: unknown;
  type: string;
  invokeIndex: number;
  completeIndex: number | null;
}

export interface KeyFailure {
  key: string;
  /** The op that could not be linearized after the longest linearizable prefix. */
  op: OpSummary;
  /** Model state after the longest linearizable prefix. */
  state: unknown;
  /** How many completed ops of this key that prefix linearized, out of how many. */
  prefixLength: number;
  completedOps: number;
  /** The last ops of that prefix, in linearization order (at most 10). */
  prefixTail: OpSummary[];
  /** Ops overlapping the failed op in real time (at most 10). */
  concurrent: OpSummary[];
  message: string;
}

export interface LinearizabilityResult {
  valid: Validity;
  model: string;
  keys: number;
  opsChecked: number;
  failures: KeyFailure[];
  unknown: Array<{ key: string; reason: string }>;
}

export interface LinearizabilityOptions {
  /** Search time per key before it is `unknown`. @default 10000 */
  budgetMsPerKey?: number;
  /** Stop after this many failing keys. @default 10 */
  maxFailures?: number;
}

interface Entry {
  op: number;
  isCall: boolean;
  prev: Entry | null;
  next: Entry | null;
  ret: Entry | null;
}

/** Ops of one key, ready for the search. */
interface Partition {
  key: string;
  ops: LinOp[];
  /** Number of completed (ok) ops: ids 0..finite-1. */
  finite: number;
  /** Event order: [opId, isCall] by history position. */
  events: Array<[number, boolean]>;
  /** History ops behind each LinOp, for reports. */
  source: Array<{ invoke: Op; complete: Op | undefined }>;
}

/** The set of linearized op ids: all ids below `w`, plus `extras`. */
class LinearizedSet {
  w = 0;
  readonly extras = new Set<number>();
  add(id: number): void {
    if (id !== this.w) {
      this.extras.add(id);
      return;
    }
    this.w++;
    while (this.extras.delete(this.w)) this.w++;
  }
  remove(id: number): void {
    if (id >= this.w) {
      this.extras.delete(id);
      return;
    }
    for (let j = id + 1; j < this.w; j++) this.extras.add(j);
    this.w = id;
  }
  key(): string {
    if (this.extras.size === 0) return String(this.w);
    return `${this.w}:${[...this.extras].sort((a, b) => a - b).join(',')}`;
  }
}

export function checkLinearizable<S>(history: Op[], model: Model<S>, options: LinearizabilityOptions = {}): LinearizabilityResult {
  const budget = options.budgetMsPerKey ?? 10_000;
  const maxFailures = options.maxFailures ?? 10;
  const result: LinearizabilityResult = { valid: true, model: model.name, keys: 0, opsChecked: 0, failures: [], unknown: [] };
  const { partitions, problems } = partition(history, model);
  result.unknown.push(...problems);
  for (const p of partitions) {
    result.keys++;
    result.opsChecked += p.ops.length;
    const r = searchPartition(p, model, budget);
    if (r.kind === 'unknown') result.unknown.push({ key: p.key, reason: r.reason });
    else if (r.kind === 'illegal') {
      result.failures.push(r.failure);
      if (result.failures.length >= maxFailures) break;
    }
  }
  result.valid = result.failures.length > 0 ? false : result.unknown.length > 0 ? 'unknown' : true;
  return result;
}

function partition<S>(history: Op[], model: Model<S>): { partitions: Partition[]; problems: Array<{ key: string; reason: string }> } {
  const position = new Map<Op, number>();
  history.forEach((op, i) => position.set(op, i));
  const byKey = new Map<string, Array<{ invoke: Op; complete: Op | undefined }>>();
  const problems: Array<{ key: string; reason: string }> = [];
  const badKeys = new Set<string>();
  for (const pair of pairOps(history).pairs) {
    const { invoke, complete } = pair;
    if (invoke.f === 'final-read') continue;
    const key = invoke.key ?? '';
    if (!model.fs.has(invoke.f)) {
      if (!badKeys.has(key)) problems.push({ key, reason: `the ${model.name} model has no "${invoke.f}" operation (it knows ${[...model.fs].join(', ')})` });
      badKeys.add(key);
      continue;
    }
    if (complete?.type === 'fail') continue;
    const indeterminate = !complete || complete.type === 'info';
    if (indeterminate && model.isPureRead(invoke.f)) continue;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(pair);
  }
  const partitions: Partition[] = [];
  for (const [key, pairs] of byKey) {
    if (badKeys.has(key)) continue;
    const finitePairs = pairs.filter((p) => p.complete?.type === 'ok').sort((a, b) => position.get(a.complete!)! - position.get(b.complete!)!);
    const infoPairs = pairs.filter((p) => p.complete?.type !== 'ok');
    const source = [...finitePairs, ...infoPairs];
    const ops: LinOp[] = source.map((p, id) => ({
      id,
      f: p.invoke.f,
      input: p.invoke.value,
      output: p.complete?.type === 'ok' ? p.complete.value : undefined,
      outcome: p.complete?.type === 'ok' ? 'ok' : 'info',
      invokeIndex: p.invoke.index,
      completeIndex: p.complete?.index,
      process: p.invoke.process,
    }));
    const events: Array<[number, boolean, number]> = [];
    source.forEach((p, id) => {
      events.push([id, true, position.get(p.invoke)!]);
      if (p.complete?.type === 'ok') events.push([id, false, position.get(p.complete)!]);
    });
    events.sort((a, b) => a[2] - b[2]);
    partitions.push({ key, ops, finite: finitePairs.length, events: events.map(([id, isCall]) => [id, isCall]), source });
  }
  return { partitions, problems };
}

type SearchResult = { kind: 'ok' } | { kind: 'unknown'; reason: string } | { kind: 'illegal'; failure: KeyFailure };

function buildList(p: Partition): Entry {
  const head: Entry = { op: -1, isCall: false, prev: null, next: null, ret: null };
  const calls = new Map<number, Entry>();
  let last = head;
  for (const [id, isCall] of p.events) {
    const e: Entry = { op: id, isCall, prev: last, next: null, ret: null };
    last.next = e;
    last = e;
    if (isCall) calls.set(id, e);
    else calls.get(id)!.ret = e;
  }
  return head;
}

function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.ret;
  if (ret) {
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  }
}

function unlift(call: Entry): void {
  const ret = call.ret;
  if (ret) {
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
  }
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

function searchPartition<S>(p: Partition, model: Model<S>, budgetMs: number): SearchResult {
  const head = buildList(p);
  const deadline = Date.now() + budgetMs;
  const cache = new Set<string>();
  const lin = new LinearizedSet();
  const stack: Array<{ entry: Entry; state: S }> = [];
  let state = model.init();
  let done = 0;
  // Longest linearizable prefix seen, maintained incrementally (see `lowWater`).
  let best = { done: -1, order: [] as number[], blocked: -1, state: state as S };
  let lowWater = 0;
  let entry = head.next;
  let steps = 0;
  while (done < p.finite) {
    if ((++steps & 0xfff) === 0 && Date.now() > deadline) {
      return { kind: 'unknown', reason: `search exceeded ${budgetMs} ms after ${steps} steps (${p.ops.length} ops on this key)` };
    }
    if (entry === null) break;
    if (entry.isCall) {
      const op = p.ops[entry.op]!;
      const next = model.step(state, op);
      if (next !== undefined) {
        lin.add(op.id);
        const key = `${lin.key()}|${model.stateKey(next)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ entry, state });
          state = next;
          if (op.outcome === 'ok') done++;
          lift(entry);
          entry = head.next;
          continue;
        }
        lin.remove(op.id);
      }
      entry = entry.next;
      continue;
    }
    // A return event whose op is not linearized: nothing placed so far explains it.
    if (done > best.done) {
      best = { done, order: best.order.slice(0, lowWater).concat(stack.slice(lowWater).map((s) => s.entry.op)), blocked: entry.op, state };
      lowWater = stack.length;
    }
    const top = stack.pop();
    if (!top) break;
    lowWater = Math.min(lowWater, stack.length);
    state = top.state;
    const undone = p.ops[top.entry.op]!;
    lin.remove(undone.id);
    if (undone.outcome === 'ok') done--;
    unlift(top.entry);
    entry = top.entry.next;
  }
  if (done >= p.finite) return { kind: 'ok' };
  return { kind: 'illegal', failure: describeFailure(p, best) };
}

function summarize(p: Partition, id: number): OpSummary {
  const s = p.source[id]!;
  return {
    process: s.invoke.process,
    f: s.invoke.f,
    key: p.key,
    value: s.complete?.type === 'ok' ? s.complete.value : s.invoke.value,
    type: s.complete?.type ?? 'info',
    invokeIndex: s.invoke.index,
    completeIndex: s.complete?.index ?? null,
  };
}

function describeFailure(p: Partition, best: { done: number; order: number[]; blocked: number; state: unknown }): KeyFailure {
  const blocked = Math.max(best.blocked, 0);
  const op = summarize(p, blocked);
  const b = p.ops[blocked]!;
  const end = b.completeIndex ?? Infinity;
  const concurrent: OpSummary[] = [];
  for (const o of p.ops) {
    if (o.id === blocked) continue;
    if (o.invokeIndex < end && (o.completeIndex ?? Infinity) > b.invokeIndex) concurrent.push(summarize(p, o.id));
    if (concurrent.length >= 10) break;
  }
  const shown = (v: unknown) => JSON.stringify(v ?? null);
  const what = op.f === 'read' ? `read ${shown(op.value)}` : `${op.f} ${shown(op.value)}`;
  const message =
    `key ${shown(p.key)}: after linearizing ${Math.max(best.done, 0)} of ${p.finite} completed ops the state is ${shown(best.state)}; ` +
    `process ${shown(op.process)}'s ${what} (history index ${op.invokeIndex}–${op.completeIndex ?? '?'}) cannot be placed, ` +
    `whatever order its ${concurrent.length} concurrent op(s) take effect in`;
  return {
    key: p.key,
    op,
    state: best.state,
    prefixLength: Math.max(best.done, 0),
    completedOps: p.finite,
    prefixTail: best.order.slice(-10).map((id) => summarize(p, id)),
    concurrent,
    message,
  };
}
