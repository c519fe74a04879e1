/** Reads of lost writes: a read that returned a write the final state lacks. */
import { describe, expect, it } from 'vitest';
import { checkLostReads as checkPaired } from '../../src/checker/lost-reads.js';
import { type Op, PairedHistory } from '../../src/history/op.js';
import { h, type Step } from '../helpers/history.js';

const checkLostReads = (ops: Op[]) => checkPaired(PairedHistory.of(ops));

describe('reads of lost writes: set', () => {
  const set = { key: 'set' };
  it('a read that found an element no node finally holds is counted, with who read it, where and when', () => {
    const r = checkLostReads(
      h(
        ['invoke', 0, 'add', 1, set],
        ['ok', 0, 'add', 1, set],
        ['invoke', 1, 'add', 2, set],
        ['invoke', 2, 'read', null, set],
        ['ok', 2, 'read', 2, { ...set, node: 'n1' }],
        ['info', 1, 'add', 2, set],
        ['invoke', 2, 'read', null, set],
        ['ok', 2, 'read', null, { ...set, node: 'n2' }],
        ['invoke', 'final', 'final-read', null, set],
        ['ok', 'final', 'final-read', [1], { ...set, node: 'n2' }],
      ),
    );
    expect(r).toMatchObject({ judged: 1, readsOfLostWrites: 1, lostWritesRead: 1 });
    expect(r.reads).toEqual([{ t: 0.004, process: 2, node: 'n1', key: 'set', value: 2, write: 'info' }]);
  });

  it('an element any node still holds is kept; without final reads nothing is judged', () => {
    const run: Step[] = [
      ['invoke', 1, 'add', 2, set],
      ['ok', 1, 'add', 2, set],
      ['invoke', 2, 'read', null, set],
      ['ok', 2, 'read', 2, set],
    ];
    const finals: Step[] = [
      ['invoke', 'f', 'final-read', null, set],
      ['ok', 'f', 'final-read', [], { ...set, node: 'n1' }],
      ['invoke', 'g', 'final-read', null, set],
      ['ok', 'g', 'final-read', [2], { ...set, node: 'n2' }],
    ];
    expect(checkLostReads(h(...run, ...finals)).readsOfLostWrites).toBe(0);
    const none = checkLostReads(h(...run));
    expect(none.readsOfLostWrites).toBe(0);
    expect(none.message).toMatch(/no final-read/);
  });
});

describe('reads of lost writes: register', () => {
  it('a read value whose write was overwritten by nothing later, yet is not final, is a read of a lost write', () => {
    const r = checkLostReads(
      h(
        ['invoke', 0, 'write', 'a'],
        ['ok', 0, 'write', 'a'],
        ['invoke', 1, 'write', 'b'],
        ['invoke', 2, 'read', null],
        ['ok', 2, 'read', 'b', { node: 'n1' }],
        ['info', 1, 'write', 'b'],
        ['invoke', 'f', 'final-read', null],
        ['ok', 'f', 'final-read', 'a', { node: 'n2' }],
      ),
    );
    expect(r.readsOfLostWrites).toBe(1);
    expect(r.reads[0]).toMatchObject({ process: 2, node: 'n1', key: 'x', value: 'b' });
  });

  it('a value overwritten by a later write is not lost', () => {
    const r = checkLostReads(
      h(
        ['invoke', 1, 'write', 'b'],
        ['ok', 1, 'write', 'b'],
        ['invoke', 2, 'read', null],
        ['ok', 2, 'read', 'b'],
        ['invoke', 0, 'write', 'c'],
        ['ok', 0, 'write', 'c'],
        ['invoke', 'f', 'final-read', null],
        ['ok', 'f', 'final-read', 'c', { node: 'n2' }],
      ),
    );
    expect(r).toMatchObject({ judged: 1, readsOfLostWrites: 0 });
  });
});
