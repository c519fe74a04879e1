/** results.json contents for tests that need runs without running them (compare, serve). */
import type { RunResult, SuiteResults } from '../../src/suite/results.js';

export function fakeRun(mode: string, seed: number, over: Partial<RunResult> = {}): RunResult {
  return {
    mode,
    seed,
    nemesis: 'kill leader',
    control: false,
    dir: `${mode}-seed${seed}`,
    durationSec: 10,
    ops: 1000,
    acked: 900,
    lostAcked: 0,
    lostAckedFinalReads: 0,
    lossEvidence: 'logs',
    lossUnknown: 0,
    noLogEvidence: [],
    infoResolved: 0,
    infoOpen: 0,
    recovered: 0,
    linearizable: true,
    splitBrainWrites: 0,
    throughput: 1000,
    p50WriteMs: 2,
    p99WriteMs: 10,
    p999WriteMs: 20,
    outageMs: 1000,
    maxStaleMs: 0,
    staleReads: 0,
    // The read side, not measured unless a test says otherwise (as for a write-only workload).
    readYourWritesViolations: null,
    monotonicReadViolations: null,
    monotonicWriteViolations: null,
    writesFollowReadsViolations: null,
    sessionViolations: null,
    followerReadShare: null,
    readP50Ms: null,
    readP99Ms: null,
    maxStaleVersions: null,
    p99StaleMs: null,
    readsOfLostWrites: null,
    failedShare: 0,
    indeterminateShare: 0,
    converged: true,
    nemesisErrors: [],
    gate: ['lostAcked == 0'],
    passed: true,
    violations: [],
    ...over,
  };
}

export function fakeResults(
  runs: RunResult[],
  machine = { cores: 2, cpuModel: 'Test CPU', kernel: 'Linux 6.1', node: 'v20.0.0', memoryGiB: 8 },
  over: Partial<SuiteResults> = {},
): SuiteResults {
  const modes = [...new Set(runs.map((r) => r.mode))];
  return {
    suite: 'quick',
    file: 'suites/quick.yaml',
    startedAt: '2026-11-29T10:00:00.000Z',
    finishedAt: '2026-11-29T10:05:00.000Z',
    durationSec: 10,
    workload: 'register',
    modes: modes.map((name) => ({
      name,
      replication: { mode: name },
      fencing: 'lease',
      workload: 'register',
      nemesis: 'kill leader',
      gate: ['lostAcked == 0'],
      control: false,
    })),
    runs,
    passed: true,
    machine,
    git: { commit: 'a'.repeat(40), dirty: false },
    ...over,
  };
}
