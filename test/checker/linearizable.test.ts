import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { checkLinearizable, memoCap } from '../../src/checker/linearizable.js';
import { kvModel } from '../../src/checker/models/kv.js';
import { registerModel, registerStartingAt } from '../../src/checker/models/register.js';
import { PairedHistory } from '../../src/history/op.js';
import { h } from '../helpers/history.js';

const check = (ops: ReturnType<typeof h>) => checkLinearizable(PairedHistory.of(ops), registerModel);
/** The register under another name: read/write keys go to the search, not the read-mapping check (reads-from.ts). */
const registerSearch = { ...registerModel, name: 'register-search' };

describe('linearizable: register', () => {
  it('the empty history is linearizable', () => {
    expect(check([]).valid).toBe(true);
  });

  it('sequential write then read', () => {
    expect(check(h(['invoke', 0, 'write', 1], ['ok', 0, 'write', 1], ['invoke', 1, 'read', null], ['ok', 1, 'read', 1])).valid).toBe(true);
  });

  it('a read of a value never written is not linearizable, and the failure names it', () => {
    const ops = h(['invoke', 0, 'write', 1], ['ok', 0, 'write', 1], ['invoke', 1, 'read', null], ['ok', 1, 'read', 2]);
    expect(check(ops).failures[0]!.message).toBe(`key "x": process 1's read of 2 (history index 2–3) saw a value never written`);
    const r = checkLinearizable(PairedHistory.of(ops), registerSearch);
    expect(r.valid).toBe(false);
    expect(r.failures[0]).toMatchObject({ key: 'x', op: { process: 1, f: 'read', value: 2 }, state: 1, prefixLength: 1, completedOps: 2 });
    expect(r.failures[0]!.message).toBe(
      `key "x": after linearizing 1 of 2 completed ops the state is 1; process 1's read 2 (history index 2–3) cannot be placed, and no other op overlaps it`,
    );
  });

  it('a stale read after a completed write is not linearizable', () => {
    expect(
      check(
        h(
          ['invoke', 0, 'write', 1],
          ['ok', 0, 'write', 1],
          ['invoke', 0, 'write', 2],
          ['ok', 0, 'write', 2],
          ['invoke', 1, 'read', null],
          ['ok', 1, 'read', 1],
        ),
      ).valid,
    ).toBe(false);
  });

  it('concurrent overlap: a read overlapping a write may see either value', () => {
    const base = (v: unknown) =>
      h(['invoke', 0, 'write', 1], ['ok', 0, 'write', 1], ['invoke', 0, 'write', 2], ['invoke', 1, 'read', null], ['ok', 1, 'read', v], ['ok', 0, 'write', 2]);
    expect(check(base(1)).valid).toBe(true);
    expect(check(base(2)).valid).toBe(true);
    expect(check(base(3)).valid).toBe(false);
  });

  it('two reads cannot see the new value then the old one (no going back)', () => {
    const ops = h(
      ['invoke', 0, 'write', 1],
      ['ok', 0, 'write', 1],
      ['invoke', 0, 'write', 2],
      ['invoke', 1, 'read', null],
      ['ok', 1, 'read', 2],
      ['invoke', 2, 'read', null],
      ['ok', 2, 'read', 1],
      ['ok', 0, 'write', 2],
    );
    expect(check(ops).valid).toBe(false);
  });

  it('info write: may take effect later or never', () => {
    const later = h(
      ['invoke', 0, 'write', 1],
      ['info', 0, 'write', 1],
      ['invoke', 1, 'read', null],
      ['ok', 1, 'read', null],
      ['invoke', 1, 'read', null],
      ['ok', 1, 'read', 1],
    );
    expect(check(later).valid).toBe(true);
    const never = h(['invoke', 0, 'write', 1], ['info', 0, 'write', 1], ['invoke', 1, 'read', null], ['ok', 1, 'read', null]);
    expect(check(never).valid).toBe(true);
    // But not before its invocation.
    const before = h(['invoke', 1, 'read', null], ['ok', 1, 'read', 1], ['invoke', 0, 'write', 1], ['info', 0, 'write', 1]);
    expect(check(before).valid).toBe(false);
  });

  it('incomplete history: a pending op is treated like info', () => {
    const ops = h(['invoke', 0, 'write', 1], ['invoke', 1, 'read', null], ['ok', 1, 'read', 1]);
    expect(check(ops).valid).toBe(true);
  });

  it('cas: success needs the expected value; a failed cas is dropped; an info cas may have happened', () => {
    const okCas = h(
      ['invoke', 0, 'write', 1],
      ['ok', 0, 'write', 1],
      ['invoke', 0, 'cas', [1, 2]],
      ['ok', 0, 'cas', [1, 2]],
      ['invoke', 1, 'read', null],
      ['ok', 1, 'read', 2],
    );
    expect(check(okCas).valid).toBe(true);
    const impossibleCas = h(['invoke', 0, 'write', 1], ['ok', 0, 'write', 1], ['invoke', 0, 'cas', [5, 2]], ['ok', 0, 'cas', [5, 2]]);
    expect(check(impossibleCas).valid).toBe(false);
    const failedCas = h(
      ['invoke', 0, 'write', 1],
      ['ok', 0, 'write', 1],
      ['invoke', 0, 'cas', [1, 2]],
      ['fail', 0, 'cas', [1, 2]],
      ['invoke', 1, 'read', null],
      ['ok', 1, 'read', 1],
    );
    expect(check(failedCas).valid).toBe(true);
    const failedButSeen = h(
      ['invoke', 0, 'write', 1],
      ['ok', 0, 'write', 1],
      ['invoke', 0, 'cas', [1, 2]],
      ['fail', 0, 'cas', [1, 2]],
      ['invoke', 1, 'read', null],
      ['ok', 1, 'read', 2],
    );
    expect(check(failedButSeen).valid).toBe(false);
    const infoCas = h(
      ['invoke', 0, 'write', 1],
      ['ok', 0, 'write', 1],
      ['invoke', 0, 'cas', [1, 2]],
      ['info', 0, 'cas', [1, 2]],
      ['invoke', 1, 'read', null],
      ['ok', 1, 'read', 2],
    );
    expect(check(infoCas).valid).toBe(true);
  });

  it('keys are independent (per-key partitioning)', () => {
    const ops = h(
      ['invoke', 0, 'write', 1, { key: 'a' }],
      ['ok', 0, 'write', 1, { key: 'a' }],
      ['invoke', 1, 'read', null, { key: 'b' }],
      ['ok', 1, 'read', null, { key: 'b' }],
    );
    const r = check(ops);
    expect(r.valid).toBe(true);
    expect(r.keys).toBe(2);
  });

  it('a search over budget is unknown, never a guess', () => {
    // Many concurrent indeterminate writes and a read nobody wrote: exponential without the cache hit.
    const steps: Parameters<typeof h> = [];
    for (let p = 0; p < 18; p++) steps.push(['invoke', p, 'write', p]);
    for (let p = 0; p < 18; p++) steps.push(['info', p, 'write', p]);
    for (let i = 0; i < 40; i++) steps.push(['invoke', 100 + i, 'read', null], ['ok', 100 + i, 'read', i % 18]);
    steps.push(['invoke', 99, 'read', null], ['ok', 99, 'read', 'never']);
    const r = checkLinearizable(PairedHistory.of(h(...steps)), registerSearch, { budgetMsPerKey: 1 });
    expect(r.valid).toBe('unknown');
    expect(r.unknown[0]!.reason).toMatch(
      /^search exceeded 1 ms after \d+ steps \(59 ops on this key\); the longest linearizable prefix found covers \d+ of \d+ completed ops$/,
    );
  });

  it('an op the model does not know makes that key unknown', () => {
    const r = check(h(['invoke', 0, 'add', 1], ['ok', 0, 'add', 1]));
    expect(r.valid).toBe('unknown');
    expect(r.unknown[0]!.reason).toBe('the register model has no "add" operation (it knows read, write, cas)');
  });
});

describe('linearizable: kv with append', () => {
  it('append concatenates; null reads as empty', () => {
    const ops = h(
      ['invoke', 0, 'read', null],
      ['ok', 0, 'read', null],
      ['invoke', 0, 'append', 'a'],
      ['ok', 0, 'append', 'a'],
      ['invoke', 1, 'append', 'b'],
      ['ok', 1, 'append', 'b'],
      ['invoke', 0, 'read', null],
      ['ok', 0, 'read', 'ab'],
    );
    expect(checkLinearizable(PairedHistory.of(ops), kvModel).valid).toBe(true);
    ops[7]!.value = 'ba';
    expect(checkLinearizable(PairedHistory.of(ops), kvModel).valid).toBe(false);
  });
});

describe('linearizability: a memo that fills up', () => {
  it('is cleared and the search goes on: the same verdicts, and the result says the memo filled up', async () => {
    const { syntheticKvHistory } = await import('../../src/history/synthetic.js');
    const { kvModel: kv } = await import('../../src/checker/models/kv.js');
    // Search-only (the append decider would not need a memo at all).
    const model = { ...kv, name: 'kv-search' };
    for (const anomalies of [0, 1]) {
      const ops = syntheticKvHistory({ clients: 6, keys: 1, ops: 60, seed: 3, anomalies, slowProbability: 0.3 });
      const roomy = checkLinearizable(PairedHistory.of(ops), model);
      const tight = checkLinearizable(PairedHistory.of(ops), model, { memoryMib: 0.002 });
      expect(tight.valid).toBe(roomy.valid);
      expect(roomy.memoEvictions).toEqual([]);
      expect(tight.memoEvictions.length).toBe(1);
      expect(tight.memoEvictions[0]!.evictions).toBeGreaterThan(0);
    }
  });
});

describe('linearizable: a register that starts somewhere else (--initial)', () => {
  // Knossos's histories start at (cas-register 0): a read of 0 and a cas from 0 before any write.
  const history = h(
    ['invoke', 0, 'read', null],
    ['ok', 0, 'read', 0],
    ['invoke', 1, 'cas', [0, 5]],
    ['ok', 1, 'cas', [0, 5]],
    ['invoke', 0, 'read', null],
    ['ok', 0, 'read', 5],
  );

  it('is linearizable from 0, not from null (the default)', () => {
    expect(checkHistory(history, { model: 'register', initial: 0 }).linearizable).toMatchObject({ valid: true });
    expect(checkHistory(history, { model: 'register' }).linearizable).toMatchObject({ valid: false });
  });

  it("the starting value is the model's alone: registerModel itself still starts at null", () => {
    expect(registerStartingAt(0).init()).toBe(0);
    expect(registerModel.init()).toBe(null);
  });
});

describe('linearizability: the memo cap fits the heap that exists', () => {
  it('a cap larger than half the free heap is lowered to it, and says so; a small one is kept', () => {
    const heap = v8.getHeapStatistics();
    const askedMib = Math.ceil(heap.heap_size_limit / 1024 / 1024) + 1; // more than the whole heap
    const big = memoCap(askedMib);
    expect(big.lowered).toBe(true);
    expect(big.bytes).toBeLessThanOrEqual((heap.heap_size_limit - heap.used_heap_size) / 2 + 1024 * 1024);
    expect(memoCap(1)).toEqual({ bytes: 1024 * 1024, lowered: false });
  });
});
