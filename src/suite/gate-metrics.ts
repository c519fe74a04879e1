/**
 * The names a gate rule may test: fields of a run's result (results.json). Their own module because
 * both the result schema (results.ts) and the gate (gate.ts, which reads results) need the list.
 */
/** The metrics measured on reads: a workload that makes no reads can never produce them. */
export const READ_GATE_METRICS = [
  'maxStaleMs',
  'staleReads',
  'readYourWritesViolations',
  'monotonicReadViolations',
  'monotonicWriteViolations',
  'writesFollowReadsViolations',
  'sessionViolations',
  'followerReadShare',
  'readP99Ms',
  'maxStaleVersions',
  'p99StaleMs',
  'readsOfLostWrites',
] as const;

export const GATE_METRICS = [
  'lostAcked',
  'recovered',
  'linearizable',
  'splitBrainWrites',
  ...READ_GATE_METRICS,
  'outageMs',
  'p50WriteMs',
  'p99WriteMs',
  'p999WriteMs',
  'acked',
  'failedShare',
  'indeterminateShare',
] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

export function isGateMetric(name: string): name is GateMetric {
  return (GATE_METRICS as readonly string[]).includes(name);
}
