/**
 * Deciding a kv key whose ops are only appends and reads, without a search (Elle's insight for
 * append-only data, applied to Porcupine's kv model).
 *
 * The value of such a key is the concatenation, in linearization order, of every append that has
 * taken effect. So a read's answer names exactly the appends before it and their order. When
 * each answer parses into appended pieces in one way only:
 *   1. every answer must be a prefix of the longest one (two answers that order appends
 *      differently, or a piece nobody appended, are impossible in any order);
 *   2. that longest answer fixes the order of every observed append; appends no read saw come
 *      after all of them (or never, if indeterminate);
 *   3. with the order fixed, real time decides: placing each op at the earliest moment the order
 *      and its invocation allow, it must still come before its return.
 * All three are exact, so the key is decided in O(n log n) whatever the concurrency — the case
 * where a Wing–Gong search explodes (dozens of overlapping appends). Keys with writes, repeated
 * append values or answers that parse in more than one way are left to the search (`undecided`).
 */
import type { OpPair } from '../history/op.js';

export type AppendVerdict =
  | { kind: 'ok' }
  | { kind: 'undecided'; why: string }
  | { kind: 'illegal'; op: OpPair; order: OpPair[]; state: string; message: string };

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** Parses `s` into appended pieces; null when ambiguous; 'impossible' when no appends compose it. */
function parse(s: string, byFirst: Map<string, OpPair[]>, value: (p: OpPair) => string): OpPair[] | null | 'impossible' {
  const out: OpPair[] = [];
  let pos = 0;
  while (pos < s.length) {
    const candidates = (byFirst.get(s[pos]!) ?? []).filter((p) => s.startsWith(value(p), pos));
    if (candidates.length === 0) return 'impossible';
    if (candidates.length > 1) return null;
    out.push(candidates[0]!);
    pos += value(candidates[0]!).length;
  }
  return out;
}

export function decideAppendOnly(key: string, pairs: readonly OpPair[]): AppendVerdict {
  if (pairs.some((p) => p.invoke.f !== 'read' && p.invoke.f !== 'append')) return { kind: 'undecided', why: 'the key has writes' };
  const appends = pairs.filter((p) => p.invoke.f === 'append');
  const value = (p: OpPair) => str(p.invoke.value);
  const byValue = new Map<string, OpPair>();
  for (const a of appends) {
    const v = value(a);
    if (v === '' || byValue.has(v)) return { kind: 'undecided', why: 'append values are empty or repeat' };
    byValue.set(v, a);
  }
  const byFirst = new Map<string, OpPair[]>();
  for (const a of appends) byFirst.set(value(a)[0]!, [...(byFirst.get(value(a)[0]!) ?? []), a]);
  const reads = pairs.filter((p) => p.invoke.f === 'read' && p.complete?.type === 'ok');
  const seqs = new Map<OpPair, OpPair[]>();
  for (const r of reads) {
    const answer = str(r.complete!.value);
    const seq = parse(answer, byFirst, value);
    if (seq === null) return { kind: 'undecided', why: 'a read parses into appends in more than one way' };
    if (seq === 'impossible')
      return {
        kind: 'illegal',
        op: r,
        order: [],
        state: answer,
        message: `key ${JSON.stringify(key)}: process ${JSON.stringify(r.invoke.process)}'s read ${JSON.stringify(answer)} (history index ${r.invoke.index}–${r.complete!.index}) is no concatenation of this key's appends: it saw something never appended`,
      };
    if (new Set(seq).size !== seq.length)
      return {
        kind: 'illegal',
        op: r,
        order: [],
        state: answer,
        message: `key ${JSON.stringify(key)}: process ${JSON.stringify(r.invoke.process)}'s read (history index ${r.invoke.index}) saw one append twice`,
      };
    seqs.set(r, seq);
  }
  // 1. One order: every answer a prefix of the longest.
  let longest: OpPair[] = [];
  let longestRead: OpPair | undefined;
  for (const [r, seq] of seqs) if (seq.length > longest.length) [longest, longestRead] = [seq, r];
  for (const [r, seq] of seqs) {
    const i = seq.findIndex((a, j) => longest[j] !== a);
    if (i >= 0) {
      return {
        kind: 'illegal',
        op: r,
        order: longest.slice(0, i),
        state: seq.slice(0, i).map(value).join(''),
        message: `key ${JSON.stringify(key)}: process ${JSON.stringify(r.invoke.process)}'s read (history index ${r.invoke.index}–${r.complete!.index}) puts ${JSON.stringify(value(seq[i]!))} at position ${i + 1}, but the read at history index ${longestRead!.invoke.index} puts ${JSON.stringify(value(longest[i]!))} there: no single order of appends explains both`,
      };
    }
  }
  // 2 and 3. The order is fixed: place every op at its earliest moment and check its return.
  const slots = new Map<number, OpPair[]>();
  for (const [r, seq] of seqs) slots.set(seq.length, [...(slots.get(seq.length) ?? []), r]);
  const ret = (p: OpPair) => (p.complete?.type === 'ok' ? p.completePos! : Infinity);
  let t = -Infinity;
  const placed: OpPair[] = [];
  const fail = (op: OpPair, why: string): AppendVerdict => ({
    kind: 'illegal',
    op,
    order: placed.slice(),
    state: placed
      .filter((p) => p.invoke.f === 'append')
      .map(value)
      .join(''),
    message: `key ${JSON.stringify(key)}: ${why}`,
  });
  for (let m = 0; m <= longest.length; m++) {
    let after = t;
    for (const r of slots.get(m) ?? []) {
      const at = Math.max(t, r.invokePos);
      if (at >= ret(r))
        return fail(
          r,
          `process ${JSON.stringify(r.invoke.process)}'s read (history index ${r.invoke.index}–${r.complete!.index}) saw ${m} append(s), so it took effect after ${m ? `the append of ${JSON.stringify(value(longest[m - 1]!))}` : 'nothing'}, which cannot take effect before the read returned`,
        );
      after = Math.max(after, at);
      placed.push(r);
    }
    if (m === longest.length) {
      t = after;
      break;
    }
    const a = longest[m]!;
    const at = Math.max(after, a.invokePos);
    if (at >= ret(a))
      return fail(
        a,
        `process ${JSON.stringify(a.invoke.process)}'s append of ${JSON.stringify(value(a))} (history index ${a.invoke.index}–${a.complete?.index ?? '?'}) is at position ${m + 1} of the order the reads show, after ops that cannot all take effect before it returned`,
      );
    t = at;
    placed.push(a);
  }
  const observed = new Set(longest);
  for (const a of appends) {
    if (observed.has(a) || a.complete?.type !== 'ok') continue; // an unseen indeterminate append never happened
    const at = Math.max(t, a.invokePos);
    if (at >= ret(a))
      return fail(
        a,
        `process ${JSON.stringify(a.invoke.process)}'s acknowledged append of ${JSON.stringify(value(a))} (history index ${a.invoke.index}–${a.complete.index}) is in no read, so it took effect after every read — but it returned before some read that did not see it took effect`,
      );
  }
  return { kind: 'ok' };
}
