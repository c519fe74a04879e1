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

import { ConfigError } from '../lib/errors.js';

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

/** An op of a client process. */
export type ClientOp = Op & { process: number };

/** A pair of a client process (its completion, if any, is of the same process). */
export interface ClientPair extends OpPair {
  invoke: ClientOp;
  complete: ClientOp | undefined;
}

export function isClientPair(p: OpPair): p is ClientPair {
  return isClientProcess(p.invoke.process);
}

/** A history that breaks the rules pairing relies on (reader.ts reports it with file and line). */
export class HistoryError extends ConfigError {}

/**
 * A history with each client invocation paired with its completion: the one place pairing
 * happens. A check pairs its history once and hands the result to every checker, so that none
 * pairs again and all of them see the same pairs.
 *
 * Pairing is by position, not by `index`: an invocation's completion is the next completion of
 * the same process (a process is sequential; reader.ts rejects a second invoke while one is
 * pending). Two ops sharing an `index` therefore cannot be confused here. A client completion with
 * no pending invocation is rejected; nemesis and harness events (string processes) may stand
 * alone and are kept apart in `events`.
 */
export class PairedHistory {
  private keyed: Map<string, PairedHistory> | undefined;

  private constructor(
    /** The history as given, in order. */
    readonly ops: readonly Op[],
    /** Every invocation with its completion, in invocation order. */
    readonly pairs: readonly OpPair[],
    /** Completions with no invocation: nemesis and harness events only. */
    readonly events: readonly Op[],
  ) {}

  /** Pairs a history. Throws HistoryError for a client completion with no pending invocation. */
  static of(history: readonly Op[]): PairedHistory {
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
      } else if (isClientProcess(op.process)) {
        throw new HistoryError(`history position ${i} (index ${op.index}): "${op.type}" for process ${op.process} without a pending invoke`);
      } else events.push(op);
    }
    return new PairedHistory(history, pairs, events);
  }

  /**
   * The client ops of each key, each as a paired history of its own (keys in order of first
   * invocation). A completion belongs to its invocation's key whether or not it repeats it. The
   * pairs are these pairs with their positions renumbered into the key's `ops`, so nothing is
   * paired again and `ops[p.invokePos] === p.invoke` holds here as in every PairedHistory.
   */
  byKey(): ReadonlyMap<string, PairedHistory> {
    if (this.keyed) return this.keyed;
    const keyAt: Array<string | undefined> = new Array(this.ops.length);
    const opsOf = new Map<string, Op[]>();
    for (const p of this.pairs) {
      if (!isClientProcess(p.invoke.process)) continue;
      const key = p.invoke.key ?? '';
      keyAt[p.invokePos] = key;
      if (p.completePos !== undefined) keyAt[p.completePos] = key;
      if (!opsOf.has(key)) opsOf.set(key, []);
    }
    // Each event's position within its key's ops, by its position in this history.
    const keyPos = new Int32Array(this.ops.length);
    for (let i = 0; i < this.ops.length; i++) {
      const key = keyAt[i];
      if (key === undefined) continue;
      const ops = opsOf.get(key)!;
      keyPos[i] = ops.length;
      ops.push(this.ops[i]!);
    }
    const pairsOf = new Map<string, OpPair[]>([...opsOf.keys()].map((key) => [key, []]));
    for (const p of this.pairs) {
      if (!isClientProcess(p.invoke.process)) continue;
      pairsOf.get(p.invoke.key ?? '')!.push({
        invoke: p.invoke,
        complete: p.complete,
        invokePos: keyPos[p.invokePos]!,
        completePos: p.completePos === undefined ? undefined : keyPos[p.completePos],
      });
    }
    this.keyed = new Map([...opsOf].map(([key, ops]) => [key, new PairedHistory(ops, pairsOf.get(key)!, [])]));
    return this.keyed;
  }
}
