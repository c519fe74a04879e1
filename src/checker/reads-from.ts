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
  const byFirst = new Map<string, OpPair[]>();
  for (const p of byValue.values()) {
    const c = value(p)[0]!;
    const list = byFirst.get(c);
    if (list) list.push(p);
    else byFirst.set(c, [p]);
  }
  const isWrite = (p: OpPair) => p.invoke.f === 'write';
  /** One way to read `s` as (a put or nothing) then appends; null when there are several. */
  const parse = (s: string): Parsed | null => {
    let head: OpPair | null = null;
    const out: OpPair[] = [];
    let pos = 0;
    while (pos < s.length) {
      const candidates = (byFirst.get(s[pos]!) ?? []).filter((p) => (pos === 0 || !isWrite(p)) && s.startsWith(value(p), pos));
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
    if (d === undefined) continue;
    out.push({ ...p, complete: { ...p.invoke, type: 'ok' }, completePos: d - 0.5 });
  }
  return { kind: 'plan', model, pairs: out };
}
