import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { HistoryError, type Op, type OpType, PairedHistory, type Process } from '../../src/history/op.js';
import { validateHistory } from '../../src/history/reader.js';

/** Ops from [type, process, f, key?, value?, index?] rows; time and index follow the position unless given. */
function ops(...rows: Array<[OpType, Process, string, string?, unknown?, number?]>): Op[] {
  return rows.map(([type, process, f, key, value, index], i) => ({ index: index ?? i, time: i, process, type, f, key, value: value ?? null }));
}

describe('PairedHistory', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('pairs each invocation with the next completion of its process, in invocation order', () => {
    const h = PairedHistory.of(
      ops(
        ['invoke', 0, 'write', 'x', 1],
        ['invoke', 1, 'read', 'x'],
        ['ok', 1, 'read', 'x', 1],
        ['fail', 0, 'write', 'x', 1],
        ['invoke', 0, 'read', 'x'],
        ['ok', 0, 'read', 'x', 1],
      ),
    );
    expect(h.pairs.map((p) => [p.invokePos, p.completePos, p.complete?.type])).toEqual([
      [0, 3, 'fail'],
      [1, 2, 'ok'],
      [4, 5, 'ok'],
    ]);
    expect(h.events).toEqual([]);
    expect(h.ops).toHaveLength(6);
  });

  it('leaves an invocation with no completion open', () => {
    const h = PairedHistory.of(ops(['invoke', 0, 'write', 'x', 1], ['invoke', 1, 'read', 'x'], ['ok', 1, 'read', 'x', null]));
    const [write, read] = h.pairs;
    expect(write).toMatchObject({ invokePos: 0, complete: undefined, completePos: undefined });
    expect(read).toMatchObject({ invokePos: 1, completePos: 2 });
  });

  it('rejects a client completion with no invocation, as loading does', () => {
    const lone = ops(['invoke', 0, 'read', 'x'], ['ok', 0, 'read', 'x'], ['ok', 0, 'read', 'x']);
    expect(() => PairedHistory.of(lone)).toThrow(HistoryError);
    expect(() => PairedHistory.of(lone)).toThrow('history position 2 (index 2): "ok" for process 0 without a pending invoke');
    expect(() => validateHistory(lone, 'h.jsonl')).toThrow('h.jsonl:3: "ok" for process 0 without a pending invoke');
  });

  it('keeps nemesis and harness events that stand alone apart from the pairs', () => {
    const h = PairedHistory.of(
      ops(['info', 'nemesis', 'kill'], ['invoke', 0, 'read', 'x'], ['invoke', 'nemesis', 'heal'], ['info', 'nemesis', 'heal'], ['ok', 0, 'read', 'x']),
    );
    expect(h.events.map((e) => e.f)).toEqual(['kill']);
    expect(h.pairs.map((p) => [p.invoke.process, p.invoke.f, p.completePos])).toEqual([
      [0, 'read', 4],
      ['nemesis', 'heal', 3],
    ]);
  });

  it('pairs by position, so ops sharing an index are not confused', () => {
    // Two processes whose ops all carry index 7: pairing must still follow the processes.
    const h = PairedHistory.of(
      ops(['invoke', 0, 'write', 'x', 1, 7], ['invoke', 1, 'write', 'x', 2, 7], ['ok', 1, 'write', 'x', 2, 7], ['ok', 0, 'write', 'x', 1, 7]),
    );
    expect(h.pairs.map((p) => [p.invoke.process, p.invokePos, p.completePos, p.complete?.value])).toEqual([
      [0, 0, 3, 1],
      [1, 1, 2, 2],
    ]);
  });

  it('splits client ops by key without pairing again; a completion goes with its invocation key', () => {
    const history = ops(
      ['invoke', 0, 'write', 'x', 1],
      ['invoke', 1, 'write', 'y', 2],
      ['info', 'nemesis', 'kill'],
      ['ok', 1, 'write', undefined, 2], // no key of its own: it is y's
      ['ok', 0, 'write', 'x', 1],
      ['invoke', 1, 'read', 'x'],
    );
    const h = PairedHistory.of(history);
    const byKey = h.byKey();
    expect([...byKey.keys()]).toEqual(['x', 'y']);
    const x = byKey.get('x')!;
    const y = byKey.get('y')!;
    expect(x.ops).toEqual([history[0], history[4], history[5]]);
    expect(y.ops).toEqual([history[1], history[3]]);
    // The same invocations and completions, positions renumbered into the key's own ops.
    expect(x.pairs.map((p) => [p.invoke, p.complete, p.invokePos, p.completePos])).toEqual([
      [history[0], history[4], 0, 1],
      [history[5], undefined, 2, undefined],
    ]);
    expect(y.pairs.map((p) => [p.invokePos, p.completePos])).toEqual([[0, 1]]);
    for (const k of [x, y]) for (const p of k.pairs) expect(k.ops[p.invokePos]).toBe(p.invoke);
    expect(h.byKey()).toBe(byKey);
    // A key's ops, paired on their own (as a worker thread does), give the same pairs.
    expect(PairedHistory.of(x.ops).pairs).toEqual(x.pairs);
  });

  it('checkHistory pairs the history once for all its checkers', () => {
    const spy = vi.spyOn(PairedHistory, 'of');
    const history = ops(['invoke', 0, 'write', 'x', 1], ['ok', 0, 'write', 'x', 1], ['invoke', 1, 'read', 'x'], ['ok', 1, 'read', 'x', 1]);
    const r = checkHistory(history, { model: 'register' });
    expect(r.valid).toBe(true);
    expect(r.latency && !r.latency.crashed && r.latency.byF.write?.count).toBe(1);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});
