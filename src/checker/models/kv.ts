/**
 * Porcupine's kv model, per key: read returns the string value, write sets it, append concatenates
 * onto it. A key never written reads as null, and appending onto it appends onto "" — so null and
 * "" are the same state here.
 */
import type { LinOp, Model } from './model.js';

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

export const kvModel: Model<string> = {
  name: 'kv',
  fs: new Set(['read', 'write', 'append']),
  init: () => '',
  step(state: string, op: LinOp): string | undefined {
    switch (op.f) {
      case 'read':
        return str(op.output) === state ? state : undefined;
      case 'write':
        return str(op.input);
      case 'append':
        return state + str(op.input);
      default:
        return undefined;
    }
  },
  stateKey: (s) => s,
  isPureRead: (f) => f === 'read',
};
