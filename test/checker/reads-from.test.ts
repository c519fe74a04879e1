/**
 * The reads-from decider for kv keys with puts (src/checker/reads-from.ts) against the plain
 * Wing–Gong search, on small random histories with puts, some with a read's answer mutated; a
 * property test over 500 seeds (sequential execution + random real-time widening is always linearizable, and an
 * answer naming something never written never is); and hand-made cases for what no read reveals.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../src/checker/linearizable.js';
import { kvModel } from '../../src/checker/models/kv.js';
import { registerModel } from '../../src/checker/models/register.js';
import { type Op, PairedHistory } from '../../src/history/op.js';
import { syntheticKvHistory, syntheticRegisterHistory } from '../../src/history/synthetic.js';
import { Rng } from '../../src/lib/rng.js';

/** The same model under another name, so neither decider runs and the plain search does. */
const searchOnly = { ...kvModel, name: 'kv-search' };

/** Mutates one read's answer: a piece dropped, two swapped, a foreign piece, a read ahead, another put as head. */
function mutate(ops: Op[], rng: Rng): Op[] {
  const reads = ops.filter((o) => o.type === 'ok' && o.f === 'read' && typeof o.value === 'string' && o.value.split(' ').length > 2);
  if (reads.length === 0 || rng.chance(0.4)) return ops;
  const r = rng.pick(reads);
  const pieces = String(r.value).trim().split(' ');
  const how = rng.int(5);
  if (how === 4) {
    const puts = ops.filter((o) => o.type === 'invoke' && o.f === 'write').map((o) => String(o.value).trim());
    if (puts.length > 0) {
      if (pieces[0]!.startsWith('w')) pieces[0] = rng.pick(puts);
      else pieces.unshift(rng.pick(puts));
    }
  } else if (how === 3) {
    const longest = reads.map((x) => String(x.value).trim().split(' ')).sort((a, b) => b.length - a.length)[0]!;
    if (longest.length > pieces.length && pieces.every((p, i) => longest[i] === p)) pieces.push(longest[pieces.length]!);
  } else if (how === 0) pieces.splice(rng.int(pieces.length), 1);
  else if (how === 1 && pieces.length > 1) {
    const i = rng.int(pieces.length - 1);
    [pieces[i], pieces[i + 1]] = [pieces[i + 1]!, pieces[i]!];
  } else pieces.push('x99.9999');
  return ops.map((o) => (o === r ? { ...o, value: `${pieces.join(' ')} ` } : o));
}

describe('reads-from decider vs search', () => {
  it('agrees with the search on 400 small histories with puts wherever the search finishes, and decides every one', () => {
    let byReadsFrom = 0;
    let illegal = 0;
    let legal = 0;
    let searchUnknown = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const rng = new Rng(seed);
      const ops = mutate(
        syntheticKvHistory({
          clients: 2 + rng.int(4),
          keys: 1,
          ops: 8 + rng.int(14),
          seed,
          infoProbability: 0.08,
          slowProbability: 0.2,
          writeProbability: 0.1 + rng.next() * 0.3,
        }),
        rng,
      );
      const fast = checkLinearizable(PairedHistory.of(ops), kvModel);
      const slow = checkLinearizable(PairedHistory.of(ops), searchOnly, { budgetMsPerKey: 1000 });
      expect(fast.valid, `seed ${seed}: the decider left it ${String(fast.valid)}`).not.toBe('unknown');
      // The plain search (no settling of indeterminate appends for kv) can still blow up here.
      if (slow.valid === 'unknown') {
        searchUnknown++;
        continue;
      }
      expect(fast.valid, `seed ${seed}: decider ${String(fast.valid)} (${fast.failures[0]?.message ?? ''}), search ${String(slow.valid)}`).toBe(slow.valid);
      if (fast.decidedBy?.['reads-from']) byReadsFrom++;
      if (fast.valid === false) illegal++;
      else legal++;
    }
    // Keys without a put go to the append-order decider; most here have one.
    expect(searchUnknown).toBeLessThan(20);
    expect(byReadsFrom).toBeGreaterThan(250);
    expect(illegal).toBeGreaterThan(60);
    expect(legal).toBeGreaterThan(150);
  });

  it('decides the 50-client histories with puts that the search left unknown, and finds the injected lost appends', () => {
    for (const anomalies of [0, 3]) {
      const ops = syntheticKvHistory({ clients: 50, keys: 10, ops: 2000, seed: 1, anomalies, writeProbability: 0.1 });
      const r = checkLinearizable(PairedHistory.of(ops), kvModel, { budgetMsPerKey: 10_000 });
      expect(r.unknown).toEqual([]);
      expect(r.decidedBy?.['reads-from']).toBe(10);
      expect(r.failures.length).toBe(anomalies);
      expect(r.failures.every((f) => f.method === 'reads-from')).toBe(true);
    }
  });
});

/** A sequential kv execution of puts, appends and reads on one key, with unique tokens. */
interface SeqOp {
  f: 'read' | 'write' | 'append';
  value: string | null;
  /** Indeterminate: the op took effect, but its client never heard back. */
  info: boolean;
}

/** A random sequential execution: 1–14 ops, some puts and appends indeterminate (but taken effect). */
function sequential(rng: Rng): SeqOp[] {
  let state = '';
  return Array.from({ length: 1 + rng.int(14) }, (_, i): SeqOp => {
    const f = rng.pick(['read', 'read', 'write', 'append', 'append'] as const);
    if (f === 'read') return { f, value: state, info: false };
    const v = `${f === 'write' ? 'w' : 'x'}${i} `;
    state = f === 'write' ? v : state + v;
    return { f, value: v, info: rng.chance(0.15) };
  });
}

/**
 * Op i takes effect at instant 10·i + 5; its invocation and completion are widened around that
 * instant at random, up to six ops' worth either side (each op its own process, so any overlap is
 * allowed).
 */
function widen(seq: SeqOp[], rng: Rng): Op[] {
  const events: Array<{ t: number; op: Omit<Op, 'index'> }> = [];
  seq.forEach((s, i) => {
    const at = 10 * i + 5;
    events.push({ t: at - 1 - rng.int(60), op: { time: 0, process: i, type: 'invoke', f: s.f, key: 'k', value: s.f === 'read' ? null : s.value } });
    if (!s.info) events.push({ t: at + 1 + rng.int(60), op: { time: 0, process: i, type: 'ok', f: s.f, key: 'k', value: s.value } });
  });
  events.sort((a, b) => a.t - b.t);
  return events.map((e, index) => ({ ...e.op, index, time: e.t }) as Op);
}

// Seeds are in the failure message; SEED=<n> replays one.
const seeds = process.env.SEED ? [Number(process.env.SEED)] : Array.from({ length: 500 }, (_, i) => 5000 + i);

describe('reads-from decider: property', () => {
  it('a sequential execution widened at random in real time is linearizable', () => {
    for (const seed of seeds) {
      const rng = new Rng(seed);
      const seq = sequential(rng);
      const r = checkLinearizable(PairedHistory.of(widen(seq, rng)), kvModel);
      expect(r.valid, `SEED=${seed}: ${r.failures[0]?.message}`).toBe(true);
      // Distinct non-empty values: never the plain search.
      expect(r.decidedBy?.search ?? 0, `SEED=${seed}`).toBe(0);
    }
  });

  it('one read naming a piece never written, or one piece twice, is caught', () => {
    let mutated = 0;
    for (const seed of seeds) {
      const rng = new Rng(seed);
      const seq = sequential(rng);
      const reads = seq.filter((s) => s.f === 'read' && s.value !== '');
      if (reads.length === 0) continue;
      const r = rng.pick(reads);
      const pieces = r.value!.trim().split(' ');
      r.value = rng.chance(0.5) ? `${r.value}${pieces[pieces.length - 1]!} ` : `${r.value}y999 `;
      const result = checkLinearizable(PairedHistory.of(widen(seq, rng)), kvModel);
      expect(result.valid, `SEED=${seed}`).toBe(false);
      mutated++;
    }
    expect(mutated).toBeGreaterThan(200);
  });
});

/** Builds a history from [process, type, f, value] events in order. */
function history(events: Array<[number, 'invoke' | 'ok' | 'info', 'read' | 'write' | 'append', string | null]>): Op[] {
  return events.map(([process, type, f, value], index) => ({ index, time: index, process, type, f, key: 'k', value }));
}

describe('reads-from decider: what no read reveals', () => {
  it('a put never read, overwritten by a put that is read, is placed before it', () => {
    const ops = history([
      [0, 'invoke', 'write', 'w1 '],
      [0, 'ok', 'write', 'w1 '],
      [1, 'invoke', 'write', 'w2 '],
      [2, 'invoke', 'append', 'x3 '],
      [2, 'ok', 'append', 'x3 '],
      [1, 'ok', 'write', 'w2 '],
      [3, 'invoke', 'read', null],
      [3, 'ok', 'read', 'w2 '],
    ]);
    // x3 was appended onto w1 (or before it) and overwritten by w2 before any read.
    const r = checkLinearizable(PairedHistory.of(ops), kvModel);
    expect(r.valid).toBe(true);
    expect(r.decidedBy).toEqual({ 'reads-from': 1 });
  });

  it('an acknowledged append after the last put that no later read shows is illegal, with the state spelled out', () => {
    const ops = history([
      [0, 'invoke', 'write', 'w1 '],
      [0, 'ok', 'write', 'w1 '],
      [1, 'invoke', 'append', 'x2 '],
      [1, 'ok', 'append', 'x2 '],
      [2, 'invoke', 'read', null],
      [2, 'ok', 'read', 'w1 '],
    ]);
    const r = checkLinearizable(PairedHistory.of(ops), kvModel);
    expect(r.valid).toBe(false);
    expect(r.failures[0]!.method).toBe('reads-from');
    expect(r.failures[0]!.message).toContain('read "w1 "');
    expect(typeof r.failures[0]!.state).toBe('string');
  });

  it('an indeterminate put that a read reveals happened; one no read reveals may never have', () => {
    const ops = history([
      [0, 'invoke', 'write', 'w1 '],
      [0, 'info', 'write', 'w1 '],
      [1, 'invoke', 'write', 'w2 '],
      [1, 'info', 'write', 'w2 '],
      [2, 'invoke', 'append', 'x3 '],
      [2, 'ok', 'append', 'x3 '],
      [3, 'invoke', 'read', null],
      [3, 'ok', 'read', 'w1 x3 '],
    ]);
    expect(checkLinearizable(PairedHistory.of(ops), kvModel).valid).toBe(true);
  });

  it('a read of a put invoked only after the read returned is illegal', () => {
    const ops = history([
      [3, 'invoke', 'read', null],
      [3, 'ok', 'read', 'w1 '],
      [0, 'invoke', 'write', 'w1 '],
      [0, 'info', 'write', 'w1 '],
    ]);
    const r = checkLinearizable(PairedHistory.of(ops), kvModel);
    expect(r.valid).toBe(false);
    expect(r.failures[0]!.method).toBe('reads-from');
  });

  it('repeated put values go to the plain search', () => {
    const ops = history([
      [0, 'invoke', 'write', 'w1 '],
      [0, 'ok', 'write', 'w1 '],
      [1, 'invoke', 'write', 'w1 '],
      [1, 'ok', 'write', 'w1 '],
      [2, 'invoke', 'read', null],
      [2, 'ok', 'read', 'w1 '],
    ]);
    const r = checkLinearizable(PairedHistory.of(ops), kvModel);
    expect(r.valid).toBe(true);
    expect(r.decidedBy).toEqual({ search: 1 });
  });
});

/** The register model under another name, so the read-mapping check is skipped and the search runs. */
const registerSearch = { ...registerModel, name: 'register-search' };

describe('register read-mapping (Gibbons–Korach zones) vs search', () => {
  it('agrees with the search on 1,500 small read/write histories, a third with a read changed to another written value, a third to the initial value', () => {
    let illegal = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const ops = syntheticRegisterHistory({ keys: 1, processesPerKey: 2 + (seed % 5), ops: 10 + (seed % 30), seed, casProbability: 0, infoProbability: 0.1 });
      const reads = ops.filter((o) => o.type === 'ok' && o.f === 'read');
      const writes = ops.filter((o) => o.type === 'invoke' && o.f === 'write');
      if (seed % 3 === 1 && reads.length > 0 && writes.length > 0) reads[seed % reads.length]!.value = writes[(seed * 7) % writes.length]!.value;
      if (seed % 3 === 2 && reads.length > 0) reads[seed % reads.length]!.value = null;
      const fast = checkLinearizable(PairedHistory.of(ops), registerModel);
      const slow = checkLinearizable(PairedHistory.of(ops), registerSearch);
      expect(fast.decidedBy, `seed ${seed}`).toEqual({ 'reads-from': 1 });
      expect(fast.valid, `seed ${seed}: zones ${String(fast.valid)} (${fast.failures[0]?.message ?? ''}), search ${String(slow.valid)}`).toBe(slow.valid);
      if (fast.valid === false) illegal++;
    }
    expect(illegal).toBeGreaterThan(400);
  });

  it("two values each pinned over a stretch that overlaps the other is illegal; a write pinned inside another value's stretch too", () => {
    const reg = (events: Array<[number, 'invoke' | 'ok' | 'info', 'read' | 'write', number | null]>): Op[] =>
      events.map(([process, type, f, value], index) => ({ index, time: index, process, type, f, key: 'r', value }));
    // 1 must hold from index 3 (its write returned) to 5 (a read of it invoked); 2 likewise from 4 to 6.
    const overlap = reg([
      [0, 'invoke', 'write', 1],
      [1, 'invoke', 'write', 2],
      [2, 'invoke', 'read', null],
      [0, 'ok', 'write', 1],
      [1, 'ok', 'write', 2],
      [3, 'invoke', 'read', null],
      [4, 'invoke', 'read', null],
      [3, 'ok', 'read', 1],
      [4, 'ok', 'read', 2],
      [2, 'ok', 'read', 1],
    ]);
    const a = checkLinearizable(PairedHistory.of(overlap), registerModel);
    expect(a.valid).toBe(false);
    expect(a.failures[0]!.method).toBe('reads-from');
    expect(checkLinearizable(PairedHistory.of(overlap), registerSearch).valid).toBe(false);
    const inside = reg([
      [0, 'invoke', 'write', 1],
      [0, 'ok', 'write', 1],
      [1, 'invoke', 'write', 2],
      [1, 'ok', 'write', 2],
      [2, 'invoke', 'read', null],
      [2, 'ok', 'read', 1],
    ]);
    const b = checkLinearizable(PairedHistory.of(inside), registerModel);
    expect(b.valid).toBe(false);
    expect(b.failures[0]!.message).toContain('must take effect within that stretch');
    expect(checkLinearizable(PairedHistory.of(inside), registerSearch).valid).toBe(false);
  });

  it('keys with cas and distinct values are decided from the read-mapping, not searched', () => {
    const ops: Op[] = [
      { index: 0, time: 0, process: 0, type: 'invoke', f: 'cas', key: 'r', value: [null, 1] },
      { index: 1, time: 1, process: 0, type: 'ok', f: 'cas', key: 'r', value: [null, 1] },
    ];
    expect(checkLinearizable(PairedHistory.of(ops), registerModel).decidedBy).toEqual({ 'reads-from': 1 });
  });
});

/** A register history from [process, type, f, value] events, one per index. */
function reg(events: Array<[number, 'invoke' | 'ok' | 'info' | 'fail', 'read' | 'write' | 'cas', unknown]>): Op[] {
  return events.map(([process, type, f, value], index) => ({ index, time: index, process, type, f, key: 'r', value }));
}

describe('register read-mapping with cas (chains of values) vs search', () => {
  it('agrees with the search on 2,000 small read/write/cas histories, most with a read or a cas mutated', () => {
    let illegal = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const ops = syntheticRegisterHistory({
        keys: 1,
        processesPerKey: 2 + (seed % 4),
        ops: 8 + (seed % 24),
        seed,
        casProbability: 0.35,
        infoProbability: 0.15,
      });
      const rng = new Rng(seed);
      const reads = ops.filter((o) => o.type === 'ok' && o.f === 'read');
      const cas = ops.filter((o) => o.f === 'cas' && (o.type === 'ok' || o.type === 'info'));
      const values = ops.filter((o) => o.type === 'invoke' && o.f !== 'read').map((o) => (o.f === 'cas' ? (o.value as unknown[])[1] : o.value));
      const mutation = seed % 5;
      // 0: as generated; 1: a read of another written value; 2: a read of the initial value;
      // 3: a cas expecting another written value (its invoke and completion alike); 4: an ok cas made indeterminate.
      if (mutation === 1 && reads.length && values.length) reads[rng.int(reads.length)]!.value = values[rng.int(values.length)];
      if (mutation === 2 && reads.length) reads[rng.int(reads.length)]!.value = null;
      if (mutation === 3 && cas.length && values.length) {
        const c = cas[rng.int(cas.length)]!;
        const v = [values[rng.int(values.length)], (c.value as unknown[])[1]];
        for (const o of ops) if (o.process === c.process && o.f === 'cas' && JSON.stringify(o.value) === JSON.stringify(c.value)) o.value = v;
      }
      if (mutation === 4) {
        const okCas = cas.filter((o) => o.type === 'ok');
        if (okCas.length) okCas[rng.int(okCas.length)]!.type = 'info';
      }
      const fast = checkLinearizable(PairedHistory.of(ops), registerModel);
      const slow = checkLinearizable(PairedHistory.of(ops), registerSearch);
      expect(fast.decidedBy, `seed ${seed}`).toEqual({ 'reads-from': 1 });
      expect(fast.valid, `seed ${seed}: chains ${String(fast.valid)} (${fast.failures[0]?.message ?? ''}), search ${String(slow.valid)}`).toBe(slow.valid);
      if (fast.valid === false) illegal++;
    }
    expect(illegal).toBeGreaterThan(300);
  });

  it('two cas that both replaced the same value are illegal', () => {
    const ops = reg([
      [0, 'invoke', 'write', 1],
      [0, 'ok', 'write', 1],
      [1, 'invoke', 'cas', [1, 2]],
      [1, 'ok', 'cas', [1, 2]],
      [2, 'invoke', 'cas', [1, 3]],
      [2, 'ok', 'cas', [1, 3]],
    ]);
    const r = checkLinearizable(PairedHistory.of(ops), registerModel);
    expect(r.valid).toBe(false);
    expect(r.failures[0]!.method).toBe('reads-from');
    expect(r.failures[0]!.message).toContain('both replaced 1, which was written once');
    expect(checkLinearizable(PairedHistory.of(ops), registerSearch).valid).toBe(false);
  });

  it('a cas expecting a value nobody wrote is illegal, also when indeterminate but its own value was read', () => {
    const okCas = reg([
      [0, 'invoke', 'cas', [7, 1]],
      [0, 'ok', 'cas', [7, 1]],
    ]);
    const a = checkLinearizable(PairedHistory.of(okCas), registerModel);
    expect(a.failures[0]!.message).toContain('expected 7, a value never written');
    const infoRead = reg([
      [0, 'invoke', 'cas', [7, 1]],
      [0, 'info', 'cas', [7, 1]],
      [1, 'invoke', 'read', null],
      [1, 'ok', 'read', 1],
    ]);
    expect(checkLinearizable(PairedHistory.of(infoRead), registerModel).valid).toBe(false);
    expect(checkLinearizable(PairedHistory.of(infoRead), registerSearch).valid).toBe(false);
    // Unread, the same indeterminate cas may never have happened.
    const infoUnread = reg([
      [0, 'invoke', 'cas', [7, 1]],
      [0, 'info', 'cas', [7, 1]],
    ]);
    const c = checkLinearizable(PairedHistory.of(infoUnread), registerModel);
    expect([c.valid, c.decidedBy]).toEqual([true, { 'reads-from': 1 }]);
  });

  it('cas that expect each other’s values form a cycle, which is illegal', () => {
    const ops = reg([
      [0, 'invoke', 'cas', [2, 1]],
      [1, 'invoke', 'cas', [1, 2]],
      [0, 'ok', 'cas', [2, 1]],
      [1, 'ok', 'cas', [1, 2]],
    ]);
    const r = checkLinearizable(PairedHistory.of(ops), registerModel);
    expect(r.valid).toBe(false);
    expect(r.failures[0]!.message).toContain('cycle of cas');
    expect(checkLinearizable(PairedHistory.of(ops), registerSearch).valid).toBe(false);
  });

  it('a cas expecting the value it writes itself, and two cas from the initial value, are named as such', () => {
    const self = reg([
      [0, 'invoke', 'cas', [1, 1]],
      [0, 'ok', 'cas', [1, 1]],
    ]);
    const a = checkLinearizable(PairedHistory.of(self), registerModel);
    expect(a.failures[0]!.message).toContain('expects the very value it writes, which nothing wrote before it');
    expect(checkLinearizable(PairedHistory.of(self), registerSearch).valid).toBe(false);
    const twice = reg([
      [0, 'invoke', 'cas', [null, 1]],
      [0, 'ok', 'cas', [null, 1]],
      [1, 'invoke', 'cas', [null, 2]],
      [1, 'ok', 'cas', [null, 2]],
    ]);
    const b = checkLinearizable(PairedHistory.of(twice), registerModel);
    expect(b.failures[0]!.message).toContain('both replaced null, which as the initial value held only once');
    expect(checkLinearizable(PairedHistory.of(twice), registerSearch).valid).toBe(false);
  });

  it('values that name no single value (NaN, undefined: only through the API, JSON has neither) go to the search', () => {
    for (const v of [Number.NaN, undefined]) {
      const ops = reg([
        [0, 'invoke', 'write', v],
        [0, 'ok', 'write', v],
        [1, 'invoke', 'read', null],
        [1, 'ok', 'read', v],
      ]);
      const r = checkLinearizable(PairedHistory.of(ops), registerModel);
      expect(r.decidedBy).toEqual({ search: 1 });
      expect(r.valid).toBe(checkLinearizable(PairedHistory.of(ops), registerSearch).valid);
    }
  });

  it('a chain whose order real time contradicts is illegal: a read of the cas’s value returned before a read of the value it replaced began', () => {
    // 1's read (process 1) is invoked at index 6, after process 3 saw 2 (returned at index 5); the cas 1→2 must come between.
    const ops = reg([
      [0, 'invoke', 'write', 1],
      [0, 'ok', 'write', 1],
      [2, 'invoke', 'cas', [1, 2]],
      [3, 'invoke', 'read', null],
      [2, 'ok', 'cas', [1, 2]],
      [3, 'ok', 'read', 2],
      [1, 'invoke', 'read', null],
      [1, 'ok', 'read', 1],
    ]);
    const r = checkLinearizable(PairedHistory.of(ops), registerModel);
    expect(r.valid).toBe(false);
    expect(r.failures[0]!.message).toContain('yet the values read and written put it after that op');
    expect(checkLinearizable(PairedHistory.of(ops), registerSearch).valid).toBe(false);
  });

  it('a chain that must hold over a stretch another value must hold in too is illegal; apart in time it is fine', () => {
    // 1 then 2 (by cas) must hold from index 1 to 8; 3's write and read are wholly inside.
    const inside = reg([
      [0, 'invoke', 'write', 1],
      [0, 'ok', 'write', 1],
      [1, 'invoke', 'cas', [1, 2]],
      [1, 'ok', 'cas', [1, 2]],
      [2, 'invoke', 'write', 3],
      [2, 'ok', 'write', 3],
      [3, 'invoke', 'read', null],
      [3, 'ok', 'read', 3],
      [4, 'invoke', 'read', null],
      [4, 'ok', 'read', 2],
    ]);
    const a = checkLinearizable(PairedHistory.of(inside), registerModel);
    expect(a.valid).toBe(false);
    expect(a.failures[0]!.message).toContain('(and the 1 value(s) cas wrote after it, in turn)');
    expect(checkLinearizable(PairedHistory.of(inside), registerSearch).valid).toBe(false);
    const apart = reg([
      [0, 'invoke', 'write', 1],
      [0, 'ok', 'write', 1],
      [1, 'invoke', 'cas', [1, 2]],
      [1, 'ok', 'cas', [1, 2]],
      [4, 'invoke', 'read', null],
      [4, 'ok', 'read', 2],
      [2, 'invoke', 'write', 3],
      [2, 'ok', 'write', 3],
      [3, 'invoke', 'read', null],
      [3, 'ok', 'read', 3],
    ]);
    expect(checkLinearizable(PairedHistory.of(apart), registerModel).valid).toBe(true);
  });
});
