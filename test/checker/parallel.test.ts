/**
 * Keys checked on threads (src/checker/parallel.ts) give what one thread gives: keys the deciders
 * settle are decided first from the whole history's pairs, the rest are searched (a short try
 * here, then worker threads), and the merged result keeps keys in history order.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../src/checker/linearizable.js';
import { registerModel } from '../../src/checker/models/register.js';
import { checkLinearizableParallel } from '../../src/checker/parallel.js';
import { type Op, PairedHistory } from '../../src/history/op.js';
import { syntheticRegisterHistory } from '../../src/history/synthetic.js';

/** Six keys of read/write/cas: k1 and k4 get an impossible read, k2 and k4 a value written twice (so the search). */
function mixedHistory(): Op[] {
  const ops = syntheticRegisterHistory({ keys: 6, processesPerKey: 3, ops: 3000, seed: 7 });
  const readOf = (key: string) => ops.filter((o) => o.key === key && o.f === 'read' && o.type === 'ok');
  for (const key of ['k1', 'k4']) readOf(key)[40]!.value = 'never written';
  const at = ops.length;
  ops.push(
    { index: at, time: ops[at - 1]!.time + 1, process: 900, type: 'invoke', f: 'write', key: 'k2', value: 0 },
    { index: at + 1, time: ops[at - 1]!.time + 2, process: 900, type: 'ok', f: 'write', key: 'k2', value: 0 },
    { index: at + 2, time: ops[at - 1]!.time + 3, process: 901, type: 'invoke', f: 'write', key: 'k4', value: 0 },
    { index: at + 3, time: ops[at - 1]!.time + 4, process: 901, type: 'ok', f: 'write', key: 'k4', value: 0 },
    // A key the register model has no operation for.
    { index: at + 4, time: ops[at - 1]!.time + 5, process: 902, type: 'invoke', f: 'add', key: 'k9', value: 1 },
    { index: at + 5, time: ops[at - 1]!.time + 6, process: 902, type: 'ok', f: 'add', key: 'k9', value: 1 },
  );
  return ops;
}

describe('keys on threads', () => {
  it('decides as one thread does: the same verdict, keys, failures in key order, unknown keys and methods', async () => {
    const history = PairedHistory.of(mixedHistory());
    const one = checkLinearizable(history, registerModel);
    const many = await checkLinearizableParallel(history, registerModel, { threads: 2 });
    expect(one.valid).toBe(false);
    expect(one.failures.map((f) => [f.key, f.method]).sort()).toEqual([
      ['k1', 'reads-from'],
      ['k4', 'search'],
    ]);
    expect(one.unknown.map((u) => u.key)).toEqual(['k9']);
    expect(one.decidedBy).toEqual({ 'reads-from': 4, search: 2 });
    expect(many.valid).toBe(one.valid);
    expect([many.keys, many.opsChecked]).toEqual([one.keys, one.opsChecked]);
    // Keys in history order (of first invocation), as one thread reports them.
    expect(many.failures.map((f) => [f.key, f.method, f.message])).toEqual(one.failures.map((f) => [f.key, f.method, f.message]));
    expect(many.unknown).toEqual(one.unknown);
    expect(many.decidedBy).toEqual(one.decidedBy);
    // With one thread the same, and the searched keys are searched here with their whole budget.
    const single = await checkLinearizableParallel(history, registerModel, { threads: 1 });
    expect([single.valid, single.decidedBy, single.failures.map((f) => f.key)]).toEqual([one.valid, one.decidedBy, one.failures.map((f) => f.key)]);
  });
});
