/**
 * Assertions for invariants that only a bug can break. They are never caught: a broken invariant
 * must crash loudly rather than let a replication harness report a wrong verdict.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
