/**
 * Deciding a kv key with puts from what its reads reveal (a read-mapping, as in Gibbons & Korach's
 * work on linearizability with known reads-from, and Elle's "traceable" objects).
 *
 * When every put and append on a key writes a value nobody else writes, and every read's answer
 * parses into pieces in one way only, a read names the whole state it saw: the put it follows (or
 * the initial empty value) and the appends after that put, in order. Call the stretch from one put
 * to the next an epoch. Each epoch happens once, so its reads must all be prefixes of its longest
 * read, and that read fixes the order of every append anybody saw in it.
 *
 * So the search runs over a much smaller state: not the string, but "epoch e with its first k
 * seen appends", or "dead" — a state holding a piece no read ever saw (a put never read, an append
 * never read), which no read can match until the next put. Every dead state behaves alike, so they
 * are one. An append a read saw may only be placed where that read saw it: anywhere else, the read
 * needing it could never be satisfied. What is left to search is how the epochs and the
 * operations no read reveals (puts never read, appends overwritten before any read) fit around each
 * other in real time; the order the reads reveal is never searched. The result is exact: the
 * abstraction keeps every read's verdict (answers are told apart exactly by (epoch, k)).
 *
 * Indeterminate ops are settled first, as linearizable.ts does for registers: one that a read
 * reveals certainly happened, before the first such read returned; one no read reveals is dropped
 * (placing it "never" breaks no read, as no read can contain it).
 *
 * Keys whose values repeat, are empty, or whose answers parse in more than one way are left to the
 * plain search (`undecided`).
 */
import type { OpPair } from '../history/op.js';
import { countBelow } from '../lib/sorted.js';
import type { LinOp, Model } from './models/model.js';

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** The abstract state nobody observed. */
const DEAD = -1;
/** The target of a read whose answer is impossible in any order. */
const NEVER = -2;

export type ReadsFromPlan = { kind: 'plan'; model: Model<number>; pairs: OpPair[] } | { kind: 'undecided'; why: string };

type Parsed = { head: OpPair | null; appends: OpPair[] } | 'impossible';

/**
 * Builds the abstract model and the settled ops for one kv key, or says why the key must be
 * searched as it is.
 */
export function kvReadsFrom(pairs: readonly OpPair[]): ReadsFromPlan {
  const writes = pairs.filter((p) => p.invoke.f === 'write');
  const appends = pairs.filter((p) => p.invoke.f === 'append');
  const value = (p: OpPair) => str(p.invoke.value);
  const byValue = new Map<string, OpPair>();
  for (const p of writes.concat(appends)) {
    const v = value(p);
    if (v === '' || byValue.has(v)) return { kind: 'undecided', why: 'written values are empty or repeat' };
    byValue.set(v, p);
  }
  // Values are looked up by each length they come in (few: tokens are alike), so parsing an answer
  // costs its pieces times those lengths, not times every op on the key.
  const lengths = [...new Set([...byValue.keys()].map((v) => v.length))];
  const isWrite = (p: OpPair) => p.invoke.f === 'write';
  /** One way to read `s` as (a put or nothing) then appends; null when there are several. */
  const parse = (s: string): Parsed | null => {
    let head: OpPair | null = null;
    const out: OpPair[] = [];
    let pos = 0;
    while (pos < s.length) {
      const candidates: OpPair[] = [];
      for (const len of lengths) {
        const p = pos + len <= s.length ? byValue.get(s.slice(pos, pos + len)) : undefined;
        if (p && (pos === 0 || !isWrite(p))) candidates.push(p);
      }
      if (candidates.length === 0) return 'impossible';
      if (candidates.length > 1) return null;
      const p = candidates[0]!;
      if (isWrite(p)) head = p;
      else out.push(p);
      pos += value(p).length;
    }
    return { head, appends: out };
  };

  // Every distinct answer, parsed once; then each epoch's longest answer fixes its order.
  const reads = pairs.filter((p) => p.invoke.f === 'read' && p.complete?.type === 'ok');
  const parsed = new Map<string, Parsed>();
  for (const r of reads) {
    const s = str(r.complete!.value);
    if (parsed.has(s)) continue;
    const x = parse(s);
    if (x === null) return { kind: 'undecided', why: 'a read parses into puts and appends in more than one way' };
    parsed.set(s, x);
  }
  const longest = new Map<OpPair | null, OpPair[]>();
  for (const x of parsed.values()) {
    if (x === 'impossible') continue;
    const l = longest.get(x.head);
    if (!l || x.appends.length > l.length) longest.set(x.head, x.appends);
  }
  // Abstract states: epoch e's k-th state is base[e] + k; the initial epoch comes first.
  const heads: Array<OpPair | null> = [null, ...[...longest.keys()].filter((h) => h !== null)];
  const orders = heads.map((h) => longest.get(h) ?? []);
  const base: number[] = [];
  let n = 0;
  for (const o of orders) {
    base.push(n);
    n += o.length + 1;
  }
  const epochOf = new Int32Array(n);
  for (let e = 0; e < orders.length; e++) epochOf.fill(e, base[e]!, base[e]! + orders[e]!.length + 1);
  const headState = new Map<string, number>();
  heads.forEach((h, e) => {
    if (h) headState.set(value(h), base[e]!);
  });
  /** Appends some read saw, each with where (they must go there and nowhere else). */
  const seenAppend = new Set<string>();
  for (const o of orders) for (const a of o) seenAppend.add(value(a));
  const target = new Map<string, number>();
  for (const [s, x] of parsed) {
    if (x === 'impossible') {
      target.set(s, NEVER);
      continue;
    }
    const e = heads.indexOf(x.head);
    const o = orders[e]!;
    const prefix = x.appends.every((a, i) => o[i] === a);
    target.set(s, prefix ? base[e]! + x.appends.length : NEVER);
  }
  const show = (s: number): unknown => {
    if (s === DEAD) return '(a value holding a put or append no read saw)';
    const e = epochOf[s]!;
    const h = heads[e];
    return (
      (h ? value(h) : '') +
      orders[e]!.slice(0, s - base[e]!)
        .map(value)
        .join('')
    );
  };
  const model: Model<number> = {
    name: 'kv',
    fs: new Set(['read', 'write', 'append']),
    init: () => 0,
    step(state: number, op: LinOp): number | undefined {
      switch (op.f) {
        case 'read': {
          const t = target.get(str(op.output));
          return t === state ? state : undefined;
        }
        case 'write':
          return headState.get(str(op.input)) ?? DEAD;
        case 'append': {
          const v = str(op.input);
          if (state !== DEAD) {
            const e = epochOf[state]!;
            const next = orders[e]![state - base[e]!];
            if (next && value(next) === v) return state + 1;
          }
          return seenAppend.has(v) ? undefined : DEAD;
        }
        default:
          return undefined;
      }
    },
    stateKey: (s) => s,
    isPureRead: (f) => f === 'read',
    // An op that leaves a dead state dead (an unread put or append) is best placed at once: placed
    // later instead, it would turn the state it finds dead, and any state allows whatever a dead
    // one does (puts and unread ops alike; reads and seen appends never follow a dead state).
    placeNow: (s, next) => s === DEAD && next === DEAD,
    show,
  };

  // Settle indeterminate puts and appends: revealed ones happened before the first read revealing
  // them returned; the rest are dropped.
  const deadline = new Map<OpPair, number>();
  const reveal = (p: OpPair, pos: number) => {
    const d = deadline.get(p);
    if (d === undefined || pos < d) deadline.set(p, pos);
  };
  for (const r of reads) {
    const x = parsed.get(str(r.complete!.value))!;
    if (x === 'impossible') continue;
    if (x.head) reveal(x.head, r.completePos!);
    for (const a of x.appends) reveal(a, r.completePos!);
  }
  const out: OpPair[] = [];
  for (const p of pairs) {
    if (p.complete?.type === 'ok') {
      out.push(p);
      continue;
    }
    const d = deadline.get(p);
    // Unread: "never happened" breaks no read — unless the final log says it did.
    if (d === undefined && typeof p.invoke.logLsn === 'number') return { kind: 'undecided', why: 'the final log holds an indeterminate op no read reveals' };
    if (d === undefined) continue;
    out.push({ ...p, complete: { ...p.invoke, type: 'ok' }, completePos: d - 0.5 });
  }
  return { kind: 'plan', model, pairs: out };
}

export type RegisterVerdict = { kind: 'ok' } | { kind: 'undecided'; why: string } | { kind: 'illegal'; op: OpPair; state: unknown; message: string };

/** A written value (or the initial one) with the ops that read it. */
interface Cluster {
  write: OpPair | null;
  reads: OpPair[];
}

/**
 * Decides a read/write register key whose written values are all distinct, without a search
 * (Gibbons & Korach's zones for a register with a known read-mapping).
 *
 * Each value's write and the reads of it form a cluster that must take effect as one contiguous
 * stretch (the value is written once, so nothing may overwrite it between its write and its last
 * read). A cluster whose earliest return comes before its latest invocation must stretch at least
 * over that gap (a forward zone); otherwise it fits at a single instant between the two (a
 * backward zone). The key is linearizable exactly when every read returns after its write was
 * invoked, no two forward zones overlap, and no backward zone lies wholly inside a forward one. An
 * indeterminate write is placed only when read (before its first read returned), as in
 * kvReadsFrom. Keys with cas, repeated values, a write of the initial value or writes ordered by the
 * final log are left to the search.
 */
export function decideRegisterReadsFrom(key: string, pairs: readonly OpPair[], model: Model<unknown>): RegisterVerdict {
  if (pairs.some((p) => p.invoke.f !== 'read' && p.invoke.f !== 'write')) return { kind: 'undecided', why: 'the key has cas' };
  // Writes the final log orders (evidence.ts) add constraints zones do not express.
  if (pairs.some((p) => typeof p.invoke.logLsn === 'number')) return { kind: 'undecided', why: 'the final log orders some writes' };
  const initialKey = model.stateKey(model.init());
  const clusters = new Map<unknown, Cluster>([[initialKey, { write: null, reads: [] }]]);
  for (const p of pairs) {
    if (p.invoke.f !== 'write') continue;
    const k = model.stateKey(p.invoke.value);
    if (clusters.has(k)) return { kind: 'undecided', why: 'written values repeat or equal the initial value' };
    clusters.set(k, { write: p, reads: [] });
  }
  const shown = (v: unknown) => JSON.stringify(v ?? null);
  const who = (p: OpPair) => `process ${shown(p.invoke.process)}'s ${p.invoke.f}`;
  const span = (p: OpPair) => `history index ${p.invoke.index}–${p.complete?.index ?? '?'}`;
  for (const r of pairs) {
    if (r.invoke.f !== 'read' || r.complete?.type !== 'ok') continue;
    const c = clusters.get(model.stateKey(r.complete.value));
    if (!c)
      return {
        kind: 'illegal',
        op: r,
        state: null,
        message: `key ${shown(key)}: ${who(r)} of ${shown(r.complete.value)} (${span(r)}) saw a value never written`,
      };
    if (c.write && r.completePos! < c.write.invokePos)
      return {
        kind: 'illegal',
        op: r,
        state: null,
        message: `key ${shown(key)}: ${who(r)} of ${shown(r.complete.value)} (${span(r)}) returned before that value's write (${span(c.write)}) was invoked`,
      };
    c.reads.push(r);
  }
  interface Zone {
    c: Cluster;
    /** Earliest return and latest invocation among the cluster's ops. */
    minRet: number;
    maxInv: number;
  }
  const forward: Zone[] = [];
  const backward: Zone[] = [];
  for (const c of clusters.values()) {
    // An unread write that may never have happened constrains nothing; the initial value is
    // "written" before everything.
    if (c.reads.length === 0 && c.write?.complete?.type !== 'ok') continue;
    let minRet = c.write ? (c.write.complete?.type === 'ok' ? c.write.completePos! : Infinity) : -Infinity;
    let maxInv = c.write ? c.write.invokePos : -Infinity;
    for (const r of c.reads) {
      minRet = Math.min(minRet, r.completePos!);
      maxInv = Math.max(maxInv, r.invokePos);
    }
    (minRet < maxInv ? forward : backward).push({ c, minRet, maxInv });
  }
  const value = (c: Cluster) => (c.write ? c.write.invoke.value : model.init());
  forward.sort((a, b) => a.minRet - b.minRet);
  for (let i = 1; i < forward.length; i++) {
    const [a, b] = [forward[i - 1]!, forward[i]!];
    if (b.minRet < a.maxInv) {
      const late = b.c.reads.find((r) => r.completePos === b.minRet) ?? b.c.write!;
      return {
        kind: 'illegal',
        op: late,
        state: value(a.c),
        message: `key ${shown(key)}: ${shown(value(a.c))} must hold from history index ${indexAt(pairs, a.minRet)} to ${indexAt(pairs, a.maxInv)} and ${shown(value(b.c))} from ${indexAt(pairs, b.minRet)} to ${indexAt(pairs, b.maxInv)} (each has an op returning before another of its ops was invoked), and these overlap: ${who(late)} (${span(late)}) cannot be placed`,
      };
    }
  }
  const starts = forward.map((z) => z.minRet);
  for (const z of backward) {
    // The forward zone starting last before this one's earliest instant is the only one that can hold it.
    const i = countBelow(starts, z.maxInv) - 1;
    const f = forward[i];
    if (f && z.minRet < f.maxInv) {
      const op = z.c.write ?? z.c.reads[0]!;
      return {
        kind: 'illegal',
        op,
        state: value(f.c),
        message: `key ${shown(key)}: ${shown(value(f.c))} must hold from history index ${indexAt(pairs, f.minRet)} to ${indexAt(pairs, f.maxInv)}, but ${who(op)} of ${shown(value(z.c))} (${span(op)})${z.c.reads.length && z.c.write ? ' and its reads' : ''} must take effect within that stretch`,
      };
    }
  }
  return { kind: 'ok' };
}

/** The history index of the event at position `pos` (for messages). */
function indexAt(pairs: readonly OpPair[], pos: number): number | string {
  if (!Number.isFinite(pos)) return pos < 0 ? 'the start' : 'the end';
  for (const p of pairs) {
    if (p.invokePos === pos) return p.invoke.index;
    if (p.completePos === pos) return p.complete!.index;
  }
  return pos;
}
