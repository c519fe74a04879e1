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
 * Indeterminate writes are the expensive part of any such search: each one may or may not have
 * happened, anywhere after its invocation. When a model tells written values apart and every value
 * written on a key is unique (as replab's workloads guarantee), most of them are settled before the
 * search: a write whose value nobody ever observed is dropped (placing it "never" is always
 * allowed, and no observation needs it), and a write whose value was observed certainly happened,
 * before the first observation completed — so it becomes an ordinary op with that deadline.
 *
 * A per-key time budget turns a search that runs too long into `unknown`, never a guess.
 */
import v8 from 'node:v8';
import type { OpPair, PairedHistory } from '../history/op.js';
import { countBelow } from '../lib/sorted.js';
import { decideAppendOnly } from './append-order.js';
import { LinearizedSet, VisitedConfigurations } from './configurations.js';
import type { LinOp, Model } from './models/model.js';
import { decideRegisterReadsFrom, kvReadsFrom } from './reads-from.js';

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

/**
 * How a key was decided: from the order its reads show (append-only kv keys), from what its reads
 * reveal (reads-from.ts: kv keys with puts, with a search over what the reads do not reveal;
 * register keys with distinct values, with none), or by the plain search.
 */
export type KeyMethod = 'append-order' | 'reads-from' | 'search';

export interface KeyFailure {
  key: string;
  method?: KeyMethod;
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
  unknown: Array<{ key: string; reason: string; method?: KeyMethod }>;
  /** Keys decided from the order their reads show, without a search (kv appends and reads). */
  decidedByOrder?: number;
  /** Keys decided (valid or not) by each method; unknown keys are not counted. */
  decidedBy?: Partial<Record<KeyMethod, number>>;
  /**
   * Wall-clock time of each key's search, measured around it, for keys that needed one (ms); with
   * keys on threads, a key's first try on the main thread is included.
   */
  searchMs?: Array<{ key: string; method: KeyMethod; ms: number }>;
  /** Keys whose memo filled up and was cleared (the search degraded but stayed exact). */
  memoEvictions: Array<{ key: string; evictions: number }>;
}

export interface LinearizabilityOptions {
  /** Search time per key before it is `unknown`. @default 10000 */
  budgetMsPerKey?: number;
  /** Time each key already had elsewhere (parallel.ts's first try), counted against its budget. @default 0 */
  spentMsPerKey?: number;
  /** Stop after this many failing keys. @default 10 */
  maxFailures?: number;
  /**
   * Memory for one key's memo of visited configurations; past it the memo is cleared and the
   * search goes on (slower, still exact). @default 256
   */
  memoryMib?: number;
}

interface Entry {
  op: number;
  /** Position of the event in the history. */
  pos: number;
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
  /** Call and return events of completed ops, by history position (linked by buildList). */
  entries: Entry[];
  /** Indeterminate ops (ids finite..n-1), by invocation position. */
  infoInvokePos: number[];
  /** History ops behind each LinOp, for reports. */
  source: OpPair[];
}

export function checkLinearizable<S>(history: PairedHistory, model: Model<S>, options: LinearizabilityOptions = {}): LinearizabilityResult {
  const budget = options.budgetMsPerKey ?? 10_000;
  const maxFailures = options.maxFailures ?? 10;
  const result = emptyResult(model.name);
  const { byKey, problems } = groupByKey(history, model);
  result.unknown.push(...problems);
  // One key at a time: its search structures are garbage before the next key's are built.
  for (const [key, pairs] of byKey) {
    const decided = decideWithoutSearch(key, pairs, model);
    if (decided) {
      result.keys++;
      countDecided(result, decided.method);
      result.opsChecked += pairs.length;
      if (decided.failure) {
        result.failures.push(decided.failure);
        if (result.failures.length >= maxFailures) break;
      }
      continue;
    }
    // kv keys with puts: search only what the reads do not reveal (reads-from.ts).
    const plan = model.name === 'kv' ? kvReadsFrom(pairs) : undefined;
    const method: KeyMethod = plan?.kind === 'plan' ? 'reads-from' : 'search';
    const m = plan?.kind === 'plan' ? (plan.model as unknown as Model<S>) : model;
    const p = buildPartition(key, plan?.kind === 'plan' ? plan.pairs : pairs, m);
    byKey.set(key, []);
    result.keys++;
    result.opsChecked += p.ops.length;
    const cap = memoCap(options.memoryMib ?? DEFAULT_MEMO_MIB);
    const t0 = performance.now();
    const r = searchPartition(p, m, budget, cap.bytes, options.spentMsPerKey ?? 0);
    result.searchMs = [...(result.searchMs ?? []), { key: p.key, method, ms: Math.round(performance.now() - t0) }];
    if (r.memoEvictions) result.memoEvictions.push({ key: p.key, evictions: r.memoEvictions });
    if (r.kind === 'unknown') {
      const lowered =
        cap.lowered && r.memoEvictions
          ? `; the memo was capped at ${Math.floor(cap.bytes / MIB)} MiB, not the ${options.memoryMib} MiB asked, to fit the heap`
          : '';
      result.unknown.push({ key: p.key, reason: r.reason + lowered, method });
      continue;
    }
    countDecided(result, method);
    if (r.kind === 'illegal') {
      result.failures.push({ ...r.failure, method });
      if (result.failures.length >= maxFailures) break;
    }
  }
  result.valid = result.failures.length > 0 ? false : result.unknown.length > 0 ? 'unknown' : true;
  return result;
}

/** A result with no key checked yet: valid until a key says otherwise. */
export function emptyResult(model: string): LinearizabilityResult {
  return { valid: true, model, keys: 0, opsChecked: 0, failures: [], unknown: [], memoEvictions: [] };
}

function countDecided(result: LinearizabilityResult, method: KeyMethod): void {
  result.decidedBy = { ...result.decidedBy, [method]: (result.decidedBy?.[method] ?? 0) + 1 };
  if (method === 'append-order') result.decidedByOrder = (result.decidedByOrder ?? 0) + 1;
}

/**
 * A key the deciders settle without a search: append/read kv keys from the order their reads show
 * (append-order.ts), read/write/cas register keys with distinct values from their read-mapping
 * (reads-from.ts). Undefined when the key needs a search; else the method and the failure, if any.
 */
function decideWithoutSearch<S>(key: string, pairs: OpPair[], model: Model<S>): { method: KeyMethod; failure?: KeyFailure } | undefined {
  if (model.name === 'kv') {
    // Appends and reads only: the answers fix the order, no search needed (append-order.ts).
    const v = decideAppendOnly(key, pairs);
    if (v.kind === 'undecided') return undefined;
    return { method: 'append-order', failure: v.kind === 'illegal' ? { ...appendFailure(key, pairs, v), method: 'append-order' } : undefined };
  }
  if (model.name === 'register') {
    // Read/write/cas keys with distinct written values: decided from the read-mapping (reads-from.ts).
    const v = decideRegisterReadsFrom(key, pairs, model as Model<unknown>);
    if (v.kind === 'undecided') return undefined;
    return { method: 'reads-from', failure: v.kind === 'illegal' ? { ...appendFailure(key, pairs, { ...v, order: [] }), method: 'reads-from' } : undefined };
  }
  return undefined;
}

/**
 * Runs the search-free deciders over every key of `history` (parallel.ts, before it splits keys
 * by thread). Keys are grouped from the history's own pairs, without the per-key copies `byKey`
 * makes, which at a million ops cost as much as deciding. Keys are in history order; `search`
 * lists those still to search, and keys whose ops the model lacks come back with their reason.
 */
export function decideKeysWithoutSearch<S>(
  history: PairedHistory,
  model: Model<S>,
): { decided: Map<string, LinearizabilityResult>; search: string[]; problems: Array<{ key: string; reason: string }> } {
  const { byKey, problems } = groupByKey(history, model);
  const decided = new Map<string, LinearizabilityResult>();
  const search: string[] = [];
  for (const [key, pairs] of byKey) {
    const d = decideWithoutSearch(key, pairs, model);
    if (!d) {
      search.push(key);
      continue;
    }
    const r = { ...emptyResult(model.name), keys: 1, opsChecked: pairs.length };
    countDecided(r, d.method);
    if (d.failure) {
      r.failures.push(d.failure);
      r.valid = false;
    }
    decided.set(key, r);
  }
  return { decided, search, problems };
}

function groupByKey<S>(history: PairedHistory, model: Model<S>): { byKey: Map<string, OpPair[]>; problems: Array<{ key: string; reason: string }> } {
  const byKey = new Map<string, OpPair[]>();
  const problems: Array<{ key: string; reason: string }> = [];
  const badKeys = new Set<string>();
  for (const pair of history.pairs) {
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
    const list = byKey.get(key);
    if (list) list.push(pair);
    else byKey.set(key, [pair]);
  }
  for (const key of badKeys) byKey.delete(key);
  return { byKey, problems };
}

interface Candidate {
  pair: OpPair;
  op: LinOp;
  invokePos: number;
  /** Return position for completed ops (and settled indeterminate ones); undefined otherwise. */
  returnPos: number | undefined;
}

function buildPartition<S>(key: string, pairs: OpPair[], model: Model<S>): Partition {
  const cands: Candidate[] = pairs.map((pair) => {
    const ok = pair.complete?.type === 'ok';
    const op: LinOp = { id: -1, f: pair.invoke.f, input: pair.invoke.value, output: ok ? pair.complete!.value : undefined, outcome: ok ? 'ok' : 'info' };
    return { pair, op, invokePos: pair.invokePos, returnPos: ok ? pair.completePos : undefined };
  });
  const kept = settleIndeterminate(cands, model);
  const finite = kept.filter((c) => c.returnPos !== undefined).sort((a, b) => a.returnPos! - b.returnPos!);
  const info = kept.filter((c) => c.returnPos === undefined).sort((a, b) => a.invokePos - b.invokePos);
  const ordered = finite.concat(info);
  ordered.forEach((c, id) => {
    c.op.id = id;
  });
  // Writes the final log holds are linearized in log order: chain each to its predecessor.
  const logged = ordered.filter((c) => typeof c.pair.invoke.logLsn === 'number').sort((a, b) => a.pair.invoke.logLsn! - b.pair.invoke.logLsn!);
  logged.forEach((c, i) => {
    c.op.logPred = i > 0 ? logged[i - 1]!.op.id : -1;
  });
  const entries: Entry[] = [];
  finite.forEach((c, id) => {
    const call: Entry = { op: id, pos: c.invokePos, isCall: true, prev: null, next: null, ret: null };
    call.ret = { op: id, pos: c.returnPos!, isCall: false, prev: null, next: null, ret: null };
    entries.push(call, call.ret);
  });
  entries.sort((a, b) => a.pos - b.pos);
  return {
    key,
    ops: ordered.map((c) => c.op),
    finite: finite.length,
    entries,
    infoInvokePos: info.map((c) => c.invokePos),
    source: ordered.map((c) => c.pair),
  };
}

/**
 * Settles indeterminate writes when the model tells written values apart and each is unique on
 * this key. A value seen by a completed op was installed by exactly one write, which therefore
 * happened before that observation completed. Settling is transitive: an indeterminate cas that
 * certainly happened also certainly saw its expected value, whose write then happened too. What
 * remains unobserved is dropped ("never happened" explains everything); what was settled becomes
 * an ordinary op whose return sits just before the deadline.
 */
function settleIndeterminate<S>(cands: Candidate[], model: Model<S>): Candidate[] {
  const written = model.writtenValue;
  const observed = model.observedValue;
  if (!written || !observed) return cands;
  const seen = new Set<unknown>();
  // A written value is a state, so the model's state key identifies it without serialising.
  const keyOf = (v: S) => model.stateKey(v);
  for (const c of cands) {
    const v = written(c.op);
    if (v === undefined) continue;
    const k = keyOf(v);
    if (seen.has(k)) return cands; // a repeated value: observations do not name their write
    seen.add(k);
  }
  const deadline = new Map<unknown, number>();
  const observe = (v: S | undefined, pos: number): boolean => {
    if (v === undefined) return false;
    const k = keyOf(v);
    const d = deadline.get(k);
    if (d !== undefined && d <= pos) return false;
    deadline.set(k, pos);
    return true;
  };
  for (const c of cands) if (c.returnPos !== undefined) observe(observed(c.op), c.returnPos);
  // Indeterminate writes, each with the value it would have written (never undefined).
  const pending = new Map<Candidate, S>();
  for (const c of cands) {
    const v = c.op.outcome === 'info' ? written(c.op) : undefined;
    if (v !== undefined) pending.set(c, v);
  }
  const settled = new Map<Candidate, number>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [c, v] of pending) {
      const d = deadline.get(keyOf(v));
      if (d === undefined || d < c.invokePos || settled.get(c) === d) continue;
      settled.set(c, d);
      // Had it happened, it saw this: now it did, so that value's write happened by `d` too.
      observe(observed({ ...c.op, outcome: 'ok' }), d);
      changed = true;
    }
  }
  const out: Candidate[] = [];
  for (const c of cands) {
    const v = pending.get(c);
    if (v === undefined) {
      out.push(c);
      continue;
    }
    const d = settled.get(c);
    if (d !== undefined) out.push({ ...c, op: { ...c.op, outcome: 'ok', output: c.op.input }, returnPos: d - 0.5 });
    else if (deadline.has(keyOf(v))) out.push(c); // seen before it was invoked: the search will reject it
    // else: never observed, dropped
  }
  return out;
}

type SearchResult = ({ kind: 'ok' } | { kind: 'unknown'; reason: string } | { kind: 'illegal'; failure: KeyFailure }) & { memoEvictions?: number };

const MIB = 1024 * 1024;
/** Default memory for one key's memo of visited configurations. */
export const DEFAULT_MEMO_MIB = 256;

/**
 * The memo's cap for the next key: what was asked, but at most half of the heap still free. The
 * heap that exists is what counts: a bounded worker's (--heap-mib) or a key thread's can be far
 * smaller than --memory-mib, and a memo allowed to outgrow it ran the worker out of memory (or,
 * unbounded, aborted the process) instead of clearing itself and going on.
 */
export function memoCap(memoryMib: number): { bytes: number; lowered: boolean } {
  const heap = v8.getHeapStatistics();
  const room = Math.max(MIB, Math.floor((heap.heap_size_limit - heap.used_heap_size) / 2));
  return memoryMib * MIB > room ? { bytes: room, lowered: true } : { bytes: memoryMib * MIB, lowered: false };
}

function buildList(p: Partition): Entry {
  const head: Entry = { op: -1, pos: -1, isCall: false, prev: null, next: null, ret: null };
  let last = head;
  for (const e of p.entries) {
    e.prev = last;
    last.next = e;
    last = e;
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

/**
 * Candidates at each search node are enumerated in two phases: first the calls of completed ops
 * up to the first pending return (the classic WGL scan), then indeterminate ops invoked before that
 * return. Trying indeterminate ops last changes nothing about completeness — every candidate is
 * still tried before backtracking — but it stops the search from eagerly linearizing every
 * timed-out write it passes, which is what made histories with many `info` ops explode.
 */
function searchPartition<S>(p: Partition, model: Model<S>, budgetMs: number, memoCapBytes = DEFAULT_MEMO_MIB * MIB, spentMs = 0): SearchResult {
  const head = buildList(p);
  const deadline = Date.now() + budgetMs - spentMs;
  const visited = new VisitedConfigurations(memoCapBytes);
  const lin = new LinearizedSet(p.ops.length);
  const stack: Array<Frame<S>> = [];
  let state = model.init();
  let done = 0;
  const best = new LongestPrefix<S>(state);
  let entry: Entry | null = head.next;
  let candidates: number[] | null = null;
  let ci = 0;
  let steps = 0;

  /**
   * Linearizes op `id` next if the model allows it and the resulting configuration is new. An
   * indeterminate op that would change nothing is not placed: leaving it pending keeps every
   * option open (it can still take effect later, or never), so that configuration dominates — and
   * placing such no-ops is what makes the configurations multiply.
   */
  let tried: S = state; // the state tryOp produced (saves an allocation per step)
  const tryOp = (id: number): boolean => {
    const op = p.ops[id]!;
    if (op.logPred !== undefined && op.logPred >= 0 && !lin.has(op.logPred)) return false;
    const next = model.step(state, op);
    if (next === undefined) return false;
    const nextKey = model.stateKey(next);
    if (op.outcome === 'info' && nextKey === model.stateKey(state)) return false;
    lin.add(id);
    if (!visited.visit(nextKey, lin.key())) {
      lin.remove(id);
      return false;
    }
    tried = next;
    return true;
  };

  while (done < p.finite) {
    if ((++steps & 0xfff) === 0 && Date.now() > deadline) {
      return { kind: 'unknown', reason: budgetExceeded(p, budgetMs, steps, best.done, visited.evictions), memoEvictions: visited.evictions };
    }
    // Main phase: the calls before the first pending return, in history order.
    if (entry?.isCall) {
      const e: Entry = entry;
      if (tryOp(e.op)) {
        stack.push({ entry: e, candidates: null, ci: 0, state, forced: model.placeNow?.(state, tried) ?? false });
        state = tried;
        done++;
        lift(e);
        entry = head.next;
      } else entry = e.next;
      continue;
    }
    // Main phase exhausted at a return event: try indeterminate ops invoked before it.
    const blocking = entry ?? firstReturn(head);
    if (candidates === null) {
      candidates = infoCandidates(p, model, lin, state, blocking);
      ci = 0;
    }
    let advanced = false;
    for (; ci < candidates.length; ci++) {
      const id = candidates[ci]!;
      if (!lin.has(id) && tryOp(id)) {
        stack.push({ entry: blocking, candidates, ci, state });
        state = tried;
        entry = head.next;
        candidates = null;
        advanced = true;
        break;
      }
    }
    if (advanced) continue;
    // Nothing explains the return event: record the deepest failure and backtrack.
    best.offer(stack, done, blocking, state);
    const top = stack.pop();
    if (!top) break;
    best.popped(stack.length);
    state = top.state;
    if (top.candidates) {
      lin.remove(top.candidates[top.ci]!);
      entry = top.entry;
      candidates = top.candidates;
      ci = top.ci + 1;
    } else {
      const e = top.entry!;
      lin.remove(e.op);
      done--;
      unlift(e);
      entry = e.next;
      candidates = null;
      if (top.forced) {
        // Placing that op first was never worse than any alternative here (Model.placeNow): since
        // it failed, so does this node. Back up further without trying the alternatives.
        entry = firstReturn(head);
        candidates = [];
        ci = 0;
      }
    }
  }
  if (done >= p.finite) return { kind: 'ok', memoEvictions: visited.evictions };
  const shown = model.show ? { ...best, state: model.show(best.state) } : best;
  return { kind: 'illegal', failure: describeFailure(p, shown), memoEvictions: visited.evictions };
}

/**
 * One linearized op on the search stack, and how to resume enumerating the alternatives at its
 * node: the next main-list entry, or the rest of that node's ordered list of indeterminate
 * candidates. `state` is the model state before the op.
 */
interface Frame<S> {
  entry: Entry | null;
  candidates: number[] | null;
  ci: number;
  state: S;
  /** The op was placed because placing it now dominates every alternative (Model.placeNow). */
  forced?: boolean;
}

/** The op a frame linearized. */
function frameOp<S>(f: Frame<S>): number {
  return f.candidates ? f.candidates[f.ci]! : f.entry!.op;
}

/**
 * The longest linearizable prefix the search reached, for the failure report. The order is kept
 * incrementally: only the part of the stack that changed since the last record is copied
 * (`lowWater` is the depth the stack has not gone below since then), so recording at every dead
 * end costs amortised O(1) rather than a copy of the stack.
 */
class LongestPrefix<S> {
  /** Completed ops linearized in the prefix (-1 before any dead end). */
  done = -1;
  /** The prefix's ops in linearization order. */
  readonly order: number[] = [];
  /** The op of the return event nothing could explain (-1: none). */
  blocked = -1;
  private lowWater = 0;

  constructor(
    /** The model state after the prefix. */
    public state: S,
  ) {}

  /** At a dead end: keeps this stack if it linearized more completed ops than any before. */
  offer(stack: ReadonlyArray<Frame<S>>, done: number, blocking: Entry | null, state: S): void {
    if (done <= this.done) return;
    this.order.length = this.lowWater;
    for (let i = this.lowWater; i < stack.length; i++) this.order.push(frameOp(stack[i]!));
    this.done = done;
    this.blocked = blocking ? blocking.op : -1;
    this.state = state;
    this.lowWater = stack.length;
  }

  /** The stack was popped to `depth` frames: what lies above no longer matches the record. */
  popped(depth: number): void {
    this.lowWater = Math.min(this.lowWater, depth);
  }
}

/** Why a key's search gave up: the budget, how far it got, and whether the memo overflowed. */
function budgetExceeded(p: Partition, budgetMs: number, steps: number, bestDone: number, memoEvictions: number): string {
  const far = Math.max(bestDone, 0);
  return `search exceeded ${budgetMs} ms after ${steps} steps (${p.ops.length} ops on this key); the longest linearizable prefix found covers ${far} of ${p.finite} completed ops${memoEvictions ? `; the memo filled up ${memoEvictions} time(s) and was cleared` : ''}`;
}

/**
 * The indeterminate ops that may take effect now (invoked before the blocking return, not yet
 * linearized), best first: those after which the blocked op itself becomes possible, then the
 * rest; newest first within each group, since old ones that never took effect pile up. The order
 * only steers the search; every candidate is still tried before it backtracks.
 */
function infoCandidates<S>(p: Partition, model: Model<S>, lin: LinearizedSet, state: S, blocking: Entry | null): number[] {
  const last = countBelow(p.infoInvokePos, blocking ? blocking.pos : Infinity) - 1;
  const helpful: number[] = [];
  const rest: number[] = [];
  const blocked = blocking ? p.ops[blocking.op]! : undefined;
  for (let i = last; i >= 0; i--) {
    const id = p.finite + i;
    if (lin.has(id)) continue;
    const next = model.step(state, p.ops[id]!);
    if (next === undefined) continue;
    if (blocked && model.step(next, blocked) !== undefined) helpful.push(id);
    else rest.push(id);
  }
  return helpful.concat(rest);
}

function firstReturn(head: Entry): Entry | null {
  let e = head.next;
  while (e?.isCall) e = e.next;
  return e;
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

function describeFailure(p: Partition, best: { done: number; order: readonly number[]; blocked: number; state: unknown }): KeyFailure {
  const blocked = Math.max(best.blocked, 0);
  const op = summarize(p, blocked);
  const b = p.source[blocked]!;
  const end = b.completePos ?? Infinity;
  const concurrent: OpSummary[] = [];
  for (let id = 0; id < p.source.length && concurrent.length < 10; id++) {
    const o = p.source[id]!;
    if (id !== blocked && o.invokePos < end && (o.completePos ?? Infinity) > b.invokePos) concurrent.push(summarize(p, id));
  }
  const shown = (v: unknown) => JSON.stringify(v ?? null);
  const what = op.f === 'read' ? `read ${shown(op.value)}` : `${op.f} ${shown(op.value)}`;
  const message =
    `key ${shown(p.key)}: after linearizing ${Math.max(best.done, 0)} of ${p.finite} completed ops the state is ${shown(best.state)}; ` +
    `process ${shown(op.process)}'s ${what} (history index ${op.invokeIndex}–${op.completeIndex ?? '?'}) cannot be placed, ` +
    (concurrent.length === 0
      ? 'and no other op overlaps it'
      : `whatever order the ${concurrent.length} op${concurrent.length === 1 ? '' : 's'} overlapping it take effect in`);
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

function pairSummary(key: string, s: OpPair): OpSummary {
  return {
    process: s.invoke.process,
    f: s.invoke.f,
    key,
    value: s.complete?.type === 'ok' ? s.complete.value : s.invoke.value,
    type: s.complete?.type ?? 'info',
    invokeIndex: s.invoke.index,
    completeIndex: s.complete?.index ?? null,
  };
}

/** A failure found without a search (append order, register read-mapping), as the search reports one. */
function appendFailure(key: string, pairs: readonly OpPair[], v: { op: OpPair; order: OpPair[]; state: unknown; message: string }): KeyFailure {
  const b = v.op;
  const end = b.completePos ?? Infinity;
  const concurrent = pairs
    .filter((o) => o !== b && o.invokePos < end && (o.completePos ?? Infinity) > b.invokePos)
    .slice(0, 10)
    .map((o) => pairSummary(key, o));
  return {
    key,
    op: pairSummary(key, b),
    state: v.state,
    prefixLength: v.order.length,
    completedOps: pairs.filter((p) => p.complete?.type === 'ok').length,
    prefixTail: v.order.slice(-10).map((o) => pairSummary(key, o)),
    concurrent,
    message: v.message,
  };
}
