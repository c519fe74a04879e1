/**
 * A model for the linearizability search: a pure step function over a state, like Porcupine's
 * `Model`. `step` gets the op as it completed (`ok`) or as it may have happened (`info`), and
 * returns the next state, or undefined when the op cannot have returned what it did from `state`.
 */

export interface LinOp {
  /** Position in the partition's search numbering (finite ops first, in completion order). */
  id: number;
  f: string;
  /** The invoke's value (what was asked). */
  input: unknown;
  /** The completion's value (what was observed; for reads, the value read). */
  output: unknown;
  /** `ok`: completed; `info`: may have taken effect at any point after its invocation, or never. */
  outcome: 'ok' | 'info';
  /**
   * The op that the final log puts just before this one on the same key (an op id), or -1: a
   * logged write may only be linearized after its predecessor in the log.
   */
  logPred?: number;
}

export interface Model<S> {
  readonly name: string;
  /** The functions this model understands; anything else makes the check `unknown`. */
  readonly fs: ReadonlySet<string>;
  init(): S;
  step(state: S, op: LinOp): S | undefined;
  /** A primitive that is equal (SameValueZero) exactly for equal states: the search cache key. */
  stateKey(state: S): string | number | boolean | null;
  /** Is an `info` op of this function observation-free (a timed-out read), so it can be dropped? */
  isPureRead(f: string): boolean;
  /**
   * For models whose writes can be told apart by value: the value an op installs if it takes
   * effect (write, successful cas). With `observedValue`, lets the checker settle indeterminate
   * writes before the search when every written value on a key is unique (see linearizable.ts).
   */
  writtenValue?(op: LinOp): S | undefined;
  /** The value a completed op definitely saw in the state (a read's result, a cas's expectation). */
  observedValue?(op: LinOp): S | undefined;
  /**
   * True when an op that takes `state` to `next` may be placed at the first moment it can without
   * losing any linearization: every other way to go on from here is possible after it too. The
   * search then tries no alternative to it at that point.
   */
  placeNow?(state: S, next: S): boolean;
  /** The state as a person should see it in a failure report, when `S` is an abstraction of it. */
  show?(state: S): unknown;
}

/** Equality of JSON values (register values are usually numbers or strings). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
