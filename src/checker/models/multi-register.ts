/**
 * Knossos's multi-register: registers named by keys, read and written together in transactions.
 * The only function is `txn`, whose value is a list of `[f k v]` micro-ops, `f` being `read` or
 * `write` (`r`/`w` are accepted too). A read of nil says nothing (the value was not returned, as in
 * every read of an invocation) and is always legal; any other read must match. Registers start
 * from `initial` (Knossos's `(multi-register {:x 0})`), absent keys being null.
 */
import { type LinOp, type Model, sameValue } from './model.js';

type Registers = Readonly<Record<string, unknown>>;

/** A transaction's micro-ops, or undefined when the value is not a list of [f k v]. */
function microOps(v: unknown): Array<[string, string, unknown]> | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Array<[string, string, unknown]> = [];
  for (const m of v) {
    if (!Array.isArray(m) || m.length !== 3 || typeof m[0] !== 'string' || (typeof m[1] !== 'string' && typeof m[1] !== 'number')) return undefined;
    out.push([m[0], String(m[1]), m[2]]);
  }
  return out;
}

export function multiRegisterStartingAt(initial: Registers): Model<Registers> {
  return {
    name: 'multi-register',
    fs: new Set(['txn']),
    init: () => initial,
    step(state: Registers, op: LinOp): Registers | undefined {
      // What was read is in the completion; an indeterminate txn has only its invocation, whose reads are nil.
      const ops = microOps(op.outcome === 'ok' ? op.output : op.input);
      if (!ops) return undefined;
      let next = state;
      for (const [f, k, v] of ops) {
        if (f === 'read' || f === 'r') {
          if (v !== null && v !== undefined && !sameValue(next[k] ?? null, v)) return undefined;
        } else if (f === 'write' || f === 'w') {
          next = { ...next, [k]: v };
        } else return undefined;
      }
      return next;
    },
    // Keys sorted, so equal registers give equal keys whatever order they were written in.
    stateKey: (s) =>
      JSON.stringify(
        Object.keys(s)
          .sort()
          .map((k) => [k, s[k]]),
      ),
    isPureRead: () => false,
  };
}
