/**
 * The append-order decider (src/checker/append-order.ts) against the Wing–Gong search on small
 * kv histories of appends and reads: random concurrent executions, some with a read's answer
 * mutated (a piece dropped, two pieces swapped, a foreign piece added). Both must give the same
 * verdict on every key the decider decides, and it must decide nearly all of them.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../src/checker/linearizable.js';
import { kvModel } from '../../src/checker/models/kv.js';
import { type Op, PairedHistory } from '../../src/history/op.js';
import { syntheticKvHistory } from '../../src/history/synthetic.js';
import { Rng } from '../../src/lib/rng.js';

/** The same model under another name, so the search runs instead of the decider. */
const searchOnly = { ...kvModel, name: 'kv-search' };

function mutate(ops: Op[], rng: Rng): Op[] {
  const reads = ops.filter((o) => o.type === 'ok' && o.f === 'read' && typeof o.value === 'string' && o.value.split(' ').length > 2);
  if (reads.length === 0 || rng.chance(0.4)) return ops;
  const r = rng.pick(reads);
  const pieces = String(r.value).trim().split(' ');
  const how = rng.int(4);
  if (how === 3) {
    // Read ahead: the answer also shows the next piece of the longest answer (an append that may
    // have started only after this read returned).
    const longest = reads.map((x) => String(x.value).trim().split(' ')).sort((a, b) => b.length - a.length)[0]!;
    if (longest.length > pieces.length && pieces.every((p, i) => longest[i] === p)) pieces.push(longest[pieces.length]!);
    return ops.map((o) => (o === r ? { ...o, value: `${pieces.join(' ')} ` } : o));
  }
  if (how === 0) pieces.splice(rng.int(pieces.length), 1);
  else if (how === 1 && pieces.length > 1) {
    const i = rng.int(pieces.length - 1);
    [pieces[i], pieces[i + 1]] = [pieces[i + 1]!, pieces[i]!];
  } else pieces.push('x99.9999');
  return ops.map((o) => (o === r ? { ...o, value: `${pieces.join(' ')} ` } : o));
}

describe('append order decider vs search', () => {
  it('agrees with the search on 300 small histories, deciding nearly all of them', () => {
    let decided = 0;
    let illegal = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rng = new Rng(seed);
      const ops = mutate(syntheticKvHistory({ clients: 2 + rng.int(4), keys: 1, ops: 8 + rng.int(14), seed, infoProbability: 0.1, slowProbability: 0.2 }), rng);
      const fast = checkLinearizable(PairedHistory.of(ops), kvModel);
      const slow = checkLinearizable(PairedHistory.of(ops), searchOnly);
      expect(fast.valid, `seed ${seed}: decider ${String(fast.valid)} (${fast.failures[0]?.message ?? ''}), search ${String(slow.valid)}`).toBe(slow.valid);
      if (fast.decidedByOrder) decided++;
      if (fast.valid === false) illegal++;
    }
    expect(decided).toBeGreaterThanOrEqual(290);
    expect(illegal).toBeGreaterThan(60);
  });

  it('a key with writes goes to the search', () => {
    const ops: Op[] = [
      { index: 0, time: 0, process: 0, type: 'invoke', f: 'write', key: 'k', value: 'a ' },
      { index: 1, time: 1, process: 0, type: 'ok', f: 'write', key: 'k', value: 'a ' },
      { index: 2, time: 2, process: 0, type: 'invoke', f: 'read', key: 'k', value: null },
      { index: 3, time: 3, process: 0, type: 'ok', f: 'read', key: 'k', value: 'a ' },
    ];
    const r = checkLinearizable(PairedHistory.of(ops), kvModel);
    expect(r.valid).toBe(true);
    expect(r.decidedByOrder ?? 0).toBe(0);
  });
});
