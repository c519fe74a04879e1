/**
 * A tiny DSL for handmade histories: `h(['invoke', 0, 'write', 1], ['ok', 0, 'write', 1], ...)`.
 * Each step is [type, process, f, value, extra?]; index and time follow the order given, with
 * time in milliseconds × 1e6 so latency and outage figures are readable.
 */
import type { Op, OpType } from '../../src/history/op.js';

export type Step = [OpType, number | string, string, unknown, Partial<Op>?];

export function h(...steps: Step[]): Op[] {
  return steps.map(([type, process, f, value, extra], index) => ({ index, time: index * 1e6, process, type, f, key: 'x', value, ...extra }));
}
