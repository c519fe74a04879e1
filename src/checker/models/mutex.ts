/**
 * Knossos's mutex: one lock per key, initially free. `acquire` takes a free lock and `release`
 * frees a held one; anything else (taking a held lock, freeing a free one) is impossible. Which
 * process holds the lock is not checked, as in Knossos: the model is the lock, not its owner.
 * A `fail`ed acquire or release is dropped before the search (it definitely did not happen).
 */
import type { LinOp, Model } from './model.js';

export const mutexModel: Model<boolean> = {
  name: 'mutex',
  fs: new Set(['acquire', 'release']),
  init: () => false,
  step(locked: boolean, op: LinOp): boolean | undefined {
    if (op.f === 'acquire') return locked ? undefined : true;
    if (op.f === 'release') return locked ? false : undefined;
    return undefined;
  },
  stateKey: (locked) => locked,
  isPureRead: () => false,
};
