/**
 * The read/write/cas register (Jepsen's cas-register, Porcupine's etcd model). One register per
 * key, initially null (absent) unless told otherwise (Knossos's tests start at `(cas-register 0)`). cas takes [expected, new]; a `fail` cas is dropped before the
 * search (it definitely did not happen), an `info` cas either happened or not.
 */
import { type LinOp, type Model, sameValue } from './model.js';

/** The register model starting from `initial` (every key alike). */
export function registerStartingAt(initial: unknown): Model<unknown> {
  return { ...registerModel, init: () => initial };
}

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
  // Strings, numbers and null serve as their own keys. Anything else (and the odd string that
  // starts with NUL) is serialised behind a NUL, so the two kinds can never collide.
  stateKey: (s) => (s === null || typeof s === 'number' || (typeof s === 'string' && !s.startsWith('\u0000')) ? s : `\u0000${JSON.stringify(s)}`),
  isPureRead: (f) => f === 'read',
  writtenValue: (op) => (op.f === 'write' ? op.input : op.f === 'cas' && Array.isArray(op.input) ? op.input[1] : undefined),
  observedValue: (op) => (op.outcome !== 'ok' ? undefined : op.f === 'read' ? op.output : op.f === 'cas' && Array.isArray(op.input) ? op.input[0] : undefined),
};
