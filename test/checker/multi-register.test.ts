import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { guessModel } from '../../src/cli/check-file.js';
import { importJepsenEdn } from '../../src/history/import.js';

// Knossos's shape: one vector, maps over several lines, keyword keys, reads nil in the invocation.
const edn = (secondRead: string, infoWrite = false) =>
  [
    '; x and y start at 0',
    '[{:type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]], :process 0}',
    `{:type :${infoWrite ? 'info' : 'ok'}, :f :txn,`,
    ' :value [[:write :x 1] [:write :y 1]], :process 0}',
    '{:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1}',
    `{:type :ok, :f :txn, :value [[:read :x 1] [:read :y ${secondRead}]], :process 1}]`,
  ].join('\n');

const check = (text: string, initial?: unknown) => checkHistory(importJepsenEdn(text, 'm.edn'), { model: 'multi-register', initial });

describe('multi-register model (Knossos: txn of reads and writes)', () => {
  it('a transaction seen whole is linearizable; seen half-applied it is not', () => {
    expect(guessModel(importJepsenEdn(edn('1'), 'm.edn'))).toBe('multi-register');
    expect(check(edn('1'), { x: 0, y: 0 }).linearizable).toMatchObject({ valid: true, model: 'multi-register' });
    // x from the write, y from before it: no single point for the write explains the read.
    expect(check(edn('0'), { x: 0, y: 0 }).linearizable).toMatchObject({ valid: false });
  });

  it('an indeterminate transaction may have happened; reads of nil say nothing', () => {
    expect(check(edn('1', true), { x: 0, y: 0 }).linearizable).toMatchObject({ valid: true });
    expect(check(edn('nil'), { x: 0, y: 0 }).linearizable).toMatchObject({ valid: true });
  });

  it('registers start from --initial (absent keys are nil)', () => {
    const readZero = '[{:type :invoke, :f :txn, :value [[:read :x nil]], :process 0}\n{:type :ok, :f :txn, :value [[:read :x 0]], :process 0}]';
    expect(check(readZero, { x: 0 }).linearizable).toMatchObject({ valid: true });
    expect(check(readZero).linearizable).toMatchObject({ valid: false });
  });
});
