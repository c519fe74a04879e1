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

/** A written value (or the initial one): its creator, the reads of it, and the cas that replaced it. */
interface Cluster {
  value: unknown;
  /** The write or cas that wrote it; null for the initial value. */
  creator: OpPair | null;
  /** The creator's place in the key's pairs (-1 for the initial value). */
  index: number;
  reads: OpPair[];
  /** The one successful cas that expected this value, if any: the value's stretch ends with it. */
  next: OpPair | null;
}

/** Clusters linked by cas, from a write (or the initial value) on: they take effect one after another, as one stretch. */
interface Chain {
  clusters: Cluster[];
  /** Earliest return and latest invocation among the chain's ops. */
  minRet: number;
  maxInv: number;
}

/**
 * Decides a read/write/cas register key whose written values are all distinct, without a search
 * (Gibbons & Korach's zones for a register with a known read-mapping, extended to cas).
 *
 * Each value's writer and the ops that saw it (reads of it, and the cas that expected it) form a
 * cluster that takes effect as one contiguous stretch: the value is written once, so nothing may
 * overwrite it between its write and its last observer. A successful cas both ends the stretch of
 * the value it expected (at most one cas can: the value never comes back) and starts the stretch
 * of the value it wrote, so the clusters a cas links follow each other directly: a chain, from a
 * plain write (or the initial value) through every cas that followed, is one stretch too, its
 * inner order fixed. Whether that order fits real time is checked by placing every op of the chain
 * as early as its predecessors allow. Then chains are what clusters are in Gibbons & Korach: a
 * chain whose earliest return comes before its latest invocation must stretch at least over that
 * gap (a forward zone); otherwise it fits at a single instant between the two (a backward zone).
 * The key is linearizable exactly when every chain fits its own order, no two forward zones
 * overlap, and no backward zone lies wholly inside a forward one.
 *
 * Indeterminate writes and cas are settled as in kvReadsFrom: one whose value some op saw
 * happened (and a cas that happened saw its expected value, so that value's writer happened too);
 * one whose value nobody saw is dropped, since "it never happened" breaks nothing. A cas that
 * failed is not in `pairs` (linearizable.ts drops it). Keys with repeated values, a write of the
 * initial value, a cas not shaped [expected, new], or writes ordered by the final log are left to
 * the search.
 */
export function decideRegisterReadsFrom(key: string, pairs: readonly OpPair[], model: Model<unknown>): RegisterVerdict {
  // Writes the final log orders (evidence.ts) add constraints zones do not express.
  if (pairs.some((p) => typeof p.invoke.logLsn === 'number')) return { kind: 'undecided', why: 'the final log orders some writes' };
  const vk = (v: unknown) => model.stateKey(v);
  const isCas = (p: OpPair) => p.invoke.f === 'cas';
  const casPair = (p: OpPair) => p.invoke.value as [unknown, unknown];
  const ok = (p: OpPair) => p.complete?.type === 'ok';
  for (const p of pairs) {
    const f = p.invoke.f;
    if (f !== 'read' && f !== 'write' && f !== 'cas') return { kind: 'undecided', why: `the key has ${f}` };
    if (f === 'cas' && !(Array.isArray(p.invoke.value) && p.invoke.value.length === 2)) return { kind: 'undecided', why: 'a cas is not [expected, new]' };
  }
  const written = (p: OpPair) => (isCas(p) ? casPair(p)[1] : p.invoke.value);
  const clusters = new Map<unknown, Cluster>([[vk(model.init()), { value: model.init(), creator: null, index: -1, reads: [], next: null }]]);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    if (p.invoke.f === 'read') continue;
    const w = written(p);
    // Neither names one value (NaN is not equal to itself, undefined is the model's "illegal"); JSON carries neither.
    if (w === undefined || Number.isNaN(w)) return { kind: 'undecided', why: 'a written value is undefined or NaN' };
    const k = vk(w);
    if (clusters.has(k)) return { kind: 'undecided', why: 'written values repeat or equal the initial value' };
    clusters.set(k, { value: w, creator: p, index: i, reads: [], next: null });
  }
  const shown = (v: unknown) => JSON.stringify(v ?? null);
  const who = (p: OpPair) => `process ${shown(p.invoke.process)}'s ${p.invoke.f}${isCas(p) ? ` ${shown(p.invoke.value)}` : ''}`;
  const span = (p: OpPair) => `history index ${p.invoke.index}–${p.complete?.index ?? '?'}`;
  const illegal = (op: OpPair, state: unknown, why: string): RegisterVerdict => ({ kind: 'illegal', op, state, message: `key ${shown(key)}: ${why}` });

  // What certainly happened: every ok op, and (transitively) each indeterminate one whose value was
  // seen. Ops go by their place in `pairs` (a Set of objects costs a hash per object).
  const happened = new Uint8Array(pairs.length);
  const seen = new Set<unknown>();
  const pendingBy = new Map<unknown, number>();
  const work: number[] = [];
  pairs.forEach((p, i) => {
    if (ok(p)) work.push(i);
    else if (p.invoke.f !== 'read') pendingBy.set(vk(written(p)), i);
  });
  const see = (v: unknown) => {
    const k = vk(v);
    if (seen.has(k)) return;
    seen.add(k);
    const i = pendingBy.get(k);
    if (i !== undefined) work.push(i);
  };
  while (work.length > 0) {
    const i = work.pop()!;
    if (happened[i]) continue;
    happened[i] = 1;
    const p = pairs[i]!;
    if (p.invoke.f === 'read') see(p.complete!.value);
    else if (isCas(p)) see(casPair(p)[0]);
  }
  const creatorHappened = (c: Cluster) => c.creator === null || happened[c.index] === 1;
  // The observers of each value, each checked against its writer.
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    if (!happened[i] || p.invoke.f === 'write') continue;
    const v = p.invoke.f === 'read' ? p.complete!.value : casPair(p)[0];
    const c = clusters.get(vk(v));
    if (!c)
      return illegal(
        p,
        null,
        p.invoke.f === 'read'
          ? `${who(p)} of ${shown(v)} (${span(p)}) saw a value never written`
          : `${who(p)} (${span(p)}) expected ${shown(v)}, a value never written`,
      );
    if (c.creator && p.completePos !== undefined && ok(p) && p.completePos < c.creator.invokePos)
      return illegal(p, null, `${who(p)} (${span(p)}) returned before the op that wrote ${shown(v)}, ${who(c.creator)} (${span(c.creator)}), was invoked`);
    if (p.invoke.f === 'read') c.reads.push(p);
    else if (c.next)
      return illegal(
        p,
        v,
        `${who(c.next)} (${span(c.next)}) and ${who(p)} (${span(p)}) both replaced ${shown(v)}, which ${c.creator ? 'was written once' : 'as the initial value held only once'}`,
      );
    else c.next = p;
  }

  // Chains, from each value a plain write (or nothing) created; a cluster no chain reaches sits on a cycle of cas.
  const retOf = (p: OpPair) => (ok(p) ? p.completePos! : Infinity);
  const chains: Chain[] = [];
  let reached = 0;
  for (const head of clusters.values()) {
    if (head.creator && (isCas(head.creator) || !creatorHappened(head))) continue;
    const chain: Chain = { clusters: [], minRet: head.creator ? retOf(head.creator) : -Infinity, maxInv: head.creator ? head.creator.invokePos : -Infinity };
    // Each op as early as the chain's order allows: `at` is the latest invocation it must follow.
    let at = chain.maxInv;
    let atOp = head.creator;
    const follow = (p: OpPair, c: Cluster): RegisterVerdict | undefined => {
      chain.minRet = Math.min(chain.minRet, retOf(p));
      chain.maxInv = Math.max(chain.maxInv, p.invokePos);
      if (atOp && retOf(p) < at)
        return illegal(
          p,
          c.value,
          `${who(p)} (${span(p)}) returned before ${who(atOp)} (${span(atOp)}) was invoked, yet the values read and written put it after that op`,
        );
      return undefined;
    };
    for (let c: Cluster | undefined = head; c; ) {
      chain.clusters.push(c);
      reached++;
      let latest = at;
      let latestOp = atOp;
      for (const r of c.reads) {
        const bad = follow(r, c);
        if (bad) return bad;
        if (r.invokePos > latest) [latest, latestOp] = [r.invokePos, r];
      }
      [at, atOp] = [latest, latestOp];
      const cas: OpPair | null = c.next;
      if (!cas) break;
      const bad = follow(cas, c);
      if (bad) return bad;
      if (cas.invokePos > at) [at, atOp] = [cas.invokePos, cas];
      c = clusters.get(vk(casPair(cas)[1]));
    }
    chains.push(chain);
  }
  const live = [...clusters.values()].filter(creatorHappened);
  if (reached < live.length) {
    const lost = live.find((c) => c.creator && isCas(c.creator) && !chains.some((ch) => ch.clusters.includes(c)))!;
    return illegal(
      lost.creator!,
      lost.value,
      lost.next === lost.creator
        ? `${who(lost.creator!)} (${span(lost.creator!)}) expects the very value it writes, which nothing wrote before it`
        : `${who(lost.creator!)} (${span(lost.creator!)}) is on a cycle of cas, each expecting the value another one wrote`,
    );
  }

  const forward = chains.filter((z) => z.minRet < z.maxInv).sort((a, b) => a.minRet - b.minRet);
  const backward = chains.filter((z) => z.minRet >= z.maxInv);
  const value = (z: Chain) => {
    const first = shown(z.clusters[0]!.value);
    return z.clusters.length === 1 ? first : `${first} (and the ${z.clusters.length - 1} value(s) cas wrote after it, in turn)`;
  };
  const opsOf = (z: Chain) => z.clusters.flatMap((c) => [...(c.creator ? [c.creator] : []), ...c.reads]);
  for (let i = 1; i < forward.length; i++) {
    const [a, b] = [forward[i - 1]!, forward[i]!];
    if (b.minRet < a.maxInv) {
      const late = opsOf(b).find((p) => p.completePos === b.minRet)!;
      return illegal(
        late,
        a.clusters[0]!.value,
        `${value(a)} must hold from history index ${indexAt(pairs, a.minRet)} to ${indexAt(pairs, a.maxInv)} and ${value(b)} from ${indexAt(pairs, b.minRet)} to ${indexAt(pairs, b.maxInv)} (each has an op returning before another of its ops was invoked), and these overlap: ${who(late)} (${span(late)}) cannot be placed`,
      );
    }
  }
  const starts = forward.map((z) => z.minRet);
  for (const z of backward) {
    // The forward zone starting last before this one's earliest instant is the only one that can hold it.
    const i = countBelow(starts, z.maxInv) - 1;
    const f = forward[i];
    if (f && z.minRet < f.maxInv) {
      const first = z.clusters[0]!;
      const op = first.creator ?? first.reads[0]!;
      return illegal(
        op,
        f.clusters[0]!.value,
        `${value(f)} must hold from history index ${indexAt(pairs, f.minRet)} to ${indexAt(pairs, f.maxInv)}, but ${who(op)} of ${value(z)} (${span(op)})${first.reads.length && first.creator ? ' and its reads' : ''} must take effect within that stretch`,
      );
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
