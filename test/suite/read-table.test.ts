/** The terminal's reads table: shown only when a run measured the read side, counts added over seeds. */
import { describe, expect, it } from 'vitest';
import { formatReadTable } from '../../src/suite/runner.js';
import { fakeResults, fakeRun } from '../helpers/results.js';

const reads = (over: Parameters<typeof fakeRun>[2]) => ({
  readYourWritesViolations: 0,
  monotonicReadViolations: 0,
  monotonicWriteViolations: 0,
  writesFollowReadsViolations: 0,
  sessionViolations: 0,
  followerReadShare: 0.5,
  readP50Ms: 2,
  readP99Ms: 10,
  maxStaleVersions: 0,
  p99StaleMs: 0,
  ...over,
});

describe('formatReadTable', () => {
  it('is absent when no run measured reads', () => {
    expect(formatReadTable(fakeResults([fakeRun('async', 1), fakeRun('sync', 1)]))).toBeUndefined();
  });

  it('shows each mode with its policy, the followers share, and violations added over seeds', () => {
    const results = fakeResults([
      fakeRun('session', 1, reads({ followerReadShare: 0.9, readP99Ms: 40 })),
      fakeRun('session', 2, reads({ followerReadShare: 0.95, readP99Ms: 60 })),
      fakeRun(
        'round-robin',
        1,
        reads({ followerReadShare: 1, readYourWritesViolations: 7, monotonicReadViolations: 3, sessionViolations: 10, p99StaleMs: 250 }),
      ),
      fakeRun(
        'round-robin',
        2,
        reads({ followerReadShare: 1, readYourWritesViolations: 5, monotonicReadViolations: 1, sessionViolations: 6, p99StaleMs: 300 }),
      ),
    ]);
    results.modes = results.modes.map((m) => ({ ...m, reads: m.name }));
    const lines = formatReadTable(results)!.split('\n');
    expect(lines[0]).toMatch(/^mode\s+reads\s+from followers\s+read p99 ms\s+stale p99 ms\s+read-your-writes\s+monotonic reads\s+other session$/);
    const rr = lines.find((l) => l.startsWith('round-robin'))!.split(/\s{2,}/);
    expect(rr).toEqual(['round-robin', 'round-robin', '100%', '10.0', '300', '12', '4', '0']);
    const se = lines.find((l) => l.startsWith('session'))!.split(/\s{2,}/);
    expect(se.slice(1, 4)).toEqual(['session', '95%', '60.0']);
  });
});
