/**
 * One line of a history (DESIGN.md "History format"), Jepsen's vocabulary:
 *
 *   {"index":0,"time":1200,"process":3,"type":"invoke","f":"write","key":"k1","value":17}
 *
 * - `type`: invoke | ok | fail (definitely did not happen) | info (may or may not have happened);
 * - `time`: monotonic nanoseconds since the run started; `index`: position in the history;
 * - `process`: an integer per client, "nemesis" for faults (other strings are allowed for
 *   harness-level processes such as the final reads);
 * - `f`: read | write | cas (value [expected, new]) | add | append | final-read, or a nemesis event;
 * - optional `node`, `lsn`, `epoch`, `error`; unknown fields are kept and ignored.
 */

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';
export const OP_TYPES: readonly OpType[] = ['invoke', 'ok', 'fail', 'info'];

export type Process = number | string;

export interface Op {
  index: number;
  time: number;
  process: Process;
  type: OpType;
  f: string;
  key?: string;
  value: unknown;
  node?: string;
  lsn?: number;
  epoch?: number;
  error?: string;
  [extra: string]: unknown;
}

export const NEMESIS = 'nemesis';

/** Client processes are integers (Jepsen); nemesis and harness processes are strings. */
export function isClientProcess(p: Process): p is number {
  return typeof p === 'number';
}

/** Functions that change state (what availability counts as "a write"). */
export const WRITE_FS = new Set(['write', 'cas', 'add', 'append', 'delete']);

/** An invocation paired with its completion (undefined while pending at the end of the history). */
export interface OpPair {
  invoke: Op;
  complete: Op | undefined;
}

/**
 * Pairs each client invocation with the next completion of the same process. Nemesis and other
 * string-process events are returned separately. Assumes a validated history (reader.ts).
 */
export function pairOps(history: Iterable<Op>): { pairs: OpPair[]; events: Op[] } {
  const pairs: OpPair[] = [];
  const events: Op[] = [];
  const open = new Map<Process, OpPair>();
  for (const op of history) {
    if (op.type === 'invoke') {
      const pair: OpPair = { invoke: op, complete: undefined };
      open.set(op.process, pair);
      pairs.push(pair);
      continue;
    }
    const pending = open.get(op.process);
    if (pending) {
      pending.complete = op;
      open.delete(op.process);
    } else events.push(op);
  }
  return { pairs, events };
}
