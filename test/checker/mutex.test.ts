import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { guessModel } from '../../src/cli/check-file.js';
import { importJepsenEdn } from '../../src/history/import.js';
import { h } from '../helpers/history.js';

const mutex = (ops: Parameters<typeof checkHistory>[0]) => checkHistory(ops, { model: 'mutex' });

describe('mutex model (Knossos: acquire/release)', () => {
  it('acquire, release, acquire in turn is linearizable', () => {
    const r = mutex(
      h(
        ['invoke', 0, 'acquire', null],
        ['ok', 0, 'acquire', null],
        ['invoke', 0, 'release', null],
        ['ok', 0, 'release', null],
        ['invoke', 1, 'acquire', null],
        ['ok', 1, 'acquire', null],
      ),
    );
    expect(r.linearizable).toMatchObject({ valid: true, model: 'mutex' });
    expect(r.valid).toBe(true);
  });

  it('two acquires both granted with no release between them are not', () => {
    const r = mutex(h(['invoke', 0, 'acquire', null], ['ok', 0, 'acquire', null], ['invoke', 1, 'acquire', null], ['ok', 1, 'acquire', null]));
    expect(r.linearizable).toMatchObject({ valid: false });
  });

  it('a release of a free lock is not; overlapping ops may be ordered either way', () => {
    expect(mutex(h(['invoke', 0, 'release', null], ['ok', 0, 'release', null])).linearizable).toMatchObject({ valid: false });
    // Process 1's release overlaps process 2's acquire after process 0 held the lock: release first, then acquire.
    const r = mutex(
      h(
        ['invoke', 0, 'acquire', null],
        ['ok', 0, 'acquire', null],
        ['invoke', 2, 'acquire', null],
        ['invoke', 0, 'release', null],
        ['ok', 2, 'acquire', null],
        ['ok', 0, 'release', null],
      ),
    );
    expect(r.linearizable).toMatchObject({ valid: true });
  });

  it('a failed acquire did not happen; an indeterminate one may have', () => {
    const failed = h(['invoke', 0, 'acquire', null], ['ok', 0, 'acquire', null], ['invoke', 1, 'acquire', null], ['fail', 1, 'acquire', null]);
    expect(mutex(failed).linearizable).toMatchObject({ valid: true });
    // Process 1's acquire timed out; process 0's later acquire is legal only if it never took effect.
    const info = h(['invoke', 1, 'acquire', null], ['info', 1, 'acquire', null], ['invoke', 0, 'acquire', null], ['ok', 0, 'acquire', null]);
    expect(mutex(info).linearizable).toMatchObject({ valid: true });
  });

  it("Knossos's shape, as one vector, is guessed as a mutex and judged", () => {
    const ops = importJepsenEdn(
      [
        '[{:process 0, :type :invoke, :f :acquire, :value nil}',
        ' {:process 0, :type :ok, :f :acquire, :value nil}',
        ' {:process 1, :type :invoke, :f :acquire, :value nil}',
        ' {:process 1, :type :ok, :f :acquire, :value nil}]',
      ].join('\n'),
      'm.edn',
    );
    expect(guessModel(ops)).toBe('mutex');
    expect(mutex(ops).valid).toBe(false);
  });
});
