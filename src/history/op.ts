/**
 * One line of a history, Jepsen's vocabulary:
 *
 *   {"index":0,"time":1200,"process":3,"type":"invoke","f":"write","key":"k1","value":17}
 *
 * - `type`: invoke | ok | fail (definitely did not happen) | info (may or may not have happened);
 * - `time`: monotonic nanoseconds since the run started (whole, 0 to 2^53 - 1; a completion is
 *   not before its invoke); `index`: position in the history;
 * - `process`: an integer per client, "nemesis" for faults (other strings are allowed for
 *   harness-level processes such as the final reads);
 * - `f`: read | write | cas (value [expected, new]) | add | append | final-read, or a nemesis event;
 * - optional `node`, `lsn`, `epoch`, `error`; unknown fields are kept and ignored;
 * - no field's value nests more than 64 levels of arrays and objects (reader.ts checks all this).
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
  /** Set by the checker from log evidence: this write's LSN in the final leader's log. */
  logLsn?: number;
  [extra: string]: unknown;
}

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
  /** Positions of the two events in the history array. */
  invokePos: number;
  completePos: number | undefined;
}

export interface PairedHistory {
  pairs: OpPair[];
  events: Op[];
}

const paired = new WeakMap<readonly Op[], PairedHistory>();

/**
 * Pairs each client invocation with the next completion of the same process. Nemesis and other
 * string-process events are returned separately. Assumes a validated history (reader.ts). The
 * result is cached per history array: every checker needs it, and a history is not edited once
 * checking starts.
 */
export function pairOps(history: readonly Op[]): PairedHistory {
  const cached = paired.get(history);
  if (cached) return cached;
  const pairs: OpPair[] = [];
  const events: Op[] = [];
  const open = new Map<Process, OpPair>();
  for (let i = 0; i < history.length; i++) {
    const op = history[i]!;
    if (op.type === 'invoke') {
      const pair: OpPair = { invoke: op, complete: undefined, invokePos: i, completePos: undefined };
      open.set(op.process, pair);
      pairs.push(pair);
      continue;
    }
    const pending = open.get(op.process);
    if (pending) {
      pending.complete = op;
      pending.completePos = i;
      open.delete(op.process);
    } else events.push(op);
  }
  const result = { pairs, events };
  paired.set(history, result);
  return result;
}
