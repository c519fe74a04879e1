/**
 * The read/write/cas register (Jepsen's cas-register, Porcupine's etcd model). One register per
 * key, initially null (absent). cas takes [expected, new]; a `fail` cas is dropped before the
 * search (it definitely did not happen), an `info` cas either happened or not.
 */
import { sameValue, type LinOp, type Model } from './model.js';

export const registerModel: Model<unknown> = {
  name: 'register',
  fs: new Set(['read', 'write', 'cas']),
  init: () => null,
  step(state: unknown, op: LinOp): unknown {
    switch (op.f) {
      case 'read':
        return sameValue(op.output, state) ? state : undefined;
      case 'write':
        return op.input;
      case 'cas': {
        const [expected, next] = Array.isArray(op.input) ? op.input : [undefined, undefined];
        if (sameValue(state, expected)) return next;
        // An indeterminate cas that found another value simply failed: no effect, still legal.
        return op.outcome === 'info' ? state : undefined;
      }
      default:
        return undefined;
    }
  },
  stateKey: (s) => (typeof s === 'string' ? `s${s}` : JSON.stringify(s)),
  isPureRead: (f) => f === 'read',
};
