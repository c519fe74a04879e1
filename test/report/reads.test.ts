/**
 * The read side of the report: a read chart (latency against staleness, one point per mode), a
 * reads table per mode and per serving node, and each session-guarantee violation on its run's
 * timeline with the serving node's lag. The fixtures' check.json files are what the checker writes
 * for small hand-made histories, so the report is tested against the writer's real output.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import type { Op } from '../../src/history/op.js';
import { buildReport } from '../../src/report/build.js';
import { readChart } from '../../src/report/charts.js';
import { describeLag, lagLookup, loadReportData } from '../../src/report/data.js';
import type { RunResult } from '../../src/suite/results.js';
import { fakeResults, fakeRun } from '../helpers/results.js';

const MS = 1e6;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

/** A history from [process, f, key, invoke ms, complete ms, completion fields] tuples, in time order of their events. */
function history(policy: string, ops: Array<[number, 'read' | 'write', string, number, number, Partial<Op>]>): Op[] {
  // Indexed once sorted; 0 until then.
  const events: Op[] = [];
  for (const [process, f, key, from, to, done] of ops) {
    events.push({
      index: 0,
      time: from * MS,
      process,
      type: 'invoke',
      f,
      key,
      value: f === 'write' ? done.value : null,
      policy,
      ...(f === 'read' ? { token: null } : {}),
    });
    events.push({ index: 0, time: to * MS, process, type: 'ok', f, key, value: f === 'write' ? done.value : null, ...done });
  }
  return events.sort((a, b) => a.time - b.time).map((e, index) => ({ ...e, index }));
}

interface RunFiles {
  result: RunResult;
  history: Op[];
  lag?: object[];
  /** Changes the checker's result before it is written (a crashed check, say). */
  check?: (c: Record<string, unknown>) => Record<string, unknown>;
  /** The mode's lag unit, as its system declares it (unset: as results from before units were kept). */
  lagUnit?: string | null;
}

async function runFolder(runs: RunFiles[]): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-reads-'));
  dirs.push(dir);
  const results = fakeResults(runs.map((r) => r.result));
  for (const r of runs) {
    const mode = results.modes.find((m) => m.name === r.result.mode)!;
    if (r.lagUnit !== undefined) mode.lagUnit = r.lagUnit;
  }
  await fsp.writeFile(path.join(dir, 'results.json'), JSON.stringify(results));
  for (const r of runs) {
    const d = path.join(dir, r.result.dir);
    await fsp.mkdir(d, { recursive: true });
    await fsp.writeFile(path.join(d, 'history.jsonl'), r.history.map((op) => `${JSON.stringify(op)}\n`).join(''));
    const check = { ...checkHistory(r.history, { model: 'register' }) };
    await fsp.writeFile(path.join(d, 'check.json'), JSON.stringify(r.check ? r.check(check) : check));
    if (r.lag) await fsp.writeFile(path.join(d, 'lag.jsonl'), r.lag.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }
  return dir;
}

/**
 * round-robin: session 0 writes k1 (n1 acknowledges, lsn 1), then reads k1 on n2 and gets the
 * initial state: read-your-writes broken, one version and 8 ms behind (invoked at 10 ms, the write
 * acknowledged at 2 ms). Two more reads see the write, on n3 and on the leader n1: 2 of 3 reads
 * served by followers. leader-only: every read on n1, nothing behind.
 */
const roundRobin: RunFiles = {
  result: fakeRun('round-robin', 1, {
    readYourWritesViolations: 1,
    monotonicReadViolations: 0,
    monotonicWriteViolations: 0,
    writesFollowReadsViolations: 0,
    sessionViolations: 1,
    followerReadShare: 2 / 3,
    readP50Ms: 1,
    readP99Ms: 2,
    maxStaleVersions: 1,
    p99StaleMs: 8,
  }),
  history: history('round-robin', [
    [0, 'write', 'k1', 0, 2, { value: '0-1', lsn: 1, node: 'n1' }],
    [0, 'read', 'k1', 10, 12, { value: null, lsn: 0, node: 'n2' }],
    [0, 'read', 'k1', 20, 21, { value: '0-1', lsn: 1, node: 'n3' }],
    [1, 'read', 'k1', 30, 31, { value: '0-1', lsn: 1, node: 'n1' }],
  ]),
  // Sampled at 11 ms: n2 one record and 9 ms behind the leader n1.
  lag: [
    { time: 11 * MS, leader: 'n1', follower: 'n2', lagRecords: 1, lagMs: 9, connected: true },
    { time: 11 * MS, leader: 'n1', follower: 'n3', lagRecords: 0, lagMs: 0, connected: true },
    { time: 261 * MS, leader: 'n1', follower: 'n2', lagRecords: 0, lagMs: 1, connected: true },
  ],
};

const leaderOnly: RunFiles = {
  result: fakeRun('leader-only', 1, { sessionViolations: 0, followerReadShare: 0, readP50Ms: 0.5, readP99Ms: 20, maxStaleVersions: 0, p99StaleMs: 0 }),
  history: history('leader-only', [
    [0, 'write', 'k1', 0, 2, { value: '0-1', lsn: 1, node: 'n1' }],
    [0, 'read', 'k1', 10, 11, { value: '0-1', lsn: 1, node: 'n1' }],
    [1, 'read', 'k1', 12, 13, { value: '0-1', lsn: 1, node: 'n1' }],
  ]),
};

describe('the read side of the report', () => {
  it('gathers reads per mode and each violation with the serving node and its lag', async () => {
    const data = await loadReportData(await runFolder([roundRobin, leaderOnly]));
    const rr = data.reads.find((m) => m.mode === 'round-robin')!;
    expect(rr).toMatchObject({
      policies: ['round-robin'],
      okReads: 3,
      readP99Ms: 2,
      violations: { 'read-your-writes': 1, 'monotonic-reads': 0, 'monotonic-writes': 0, 'writes-follow-reads': 0 },
      stale: { judged: 3, versions: { p50: 0, p99: 1, max: 1 }, ms: { p50: 0, p99: 8, max: 8 } },
    });
    expect(rr.followerShare).toBeCloseTo(2 / 3, 9);
    expect(rr.nodes.map((n) => [n.node, n.okReads, n.share.toFixed(3), n.stale.ms.p99])).toEqual([
      ['n1', 1, '0.333', 0],
      ['n2', 1, '0.333', 8],
      ['n3', 1, '0.333', 0],
    ]);
    expect(data.reads.find((m) => m.mode === 'leader-only')).toMatchObject({ okReads: 2, followerShare: 0, stale: { ms: { max: 0 } } });

    const session = data.runs[0]!.anomalies.find((a) => a.kind === 'session')!;
    expect(session.title).toBe('1 session-guarantee violation(s): read-your-writes 1');
    // One row: the session's own write, then the read that missed it, on one timeline row.
    expect(session.ops.map((o) => [o.row, o.group, o.from, o.note])).toEqual([
      ['1. RYW s0 k1', "the session's own write", 0, undefined],
      ['1. RYW s0 k1', 'the read that fell behind it', 0.01, 'n2: 1 record, 9 ms behind'],
    ]);
    expect(session.table!.rows).toEqual([
      [
        'read-your-writes',
        's0',
        'k1',
        '#0 write k1 = "0-1" (lsn 1)',
        '#2 read k1 → initial (absent)',
        '8.0',
        'round-robin',
        '–',
        '0',
        'n2: 1 record, 9 ms behind (sampled 1 ms earlier)',
      ],
    ]);
    expect(data.runs[1]!.anomalies.some((a) => a.kind === 'session')).toBe(false);
  });

  it('draws the read chart, the reads tables and the violation in the page', async () => {
    const html = await fsp.readFile(await buildReport(await runFolder([roundRobin, leaderOnly])), 'utf8');
    expect(html).toContain('<h2>Reads</h2>');
    const chart = /<figure class="chart" data-chart="reads">([\s\S]*?)<\/figure>/.exec(html)?.[1] ?? '';
    // Each point labelled with its mode and the followers' share; the axis says which staleness.
    for (const text of [
      'round-robin',
      '66.7% from followers',
      'leader-only',
      '0% from followers',
      'staleness p99 (ms behind the newest write)',
      'read latency p99 (ms)',
    ])
      expect(chart).toContain(text);
    expect(html).toMatch(
      /<tr data-mode="round-robin"><td class="l">round-robin<\/td><td class="l">round-robin<\/td><td>3<\/td><td>66\.7%<\/td><td>1\.0<\/td><td>2\.0<\/td><td class="hot">1<\/td><td>0<\/td><td>0<\/td><td>0<\/td><td>0<\/td><td>1<\/td><td>1<\/td><td>0\.0<\/td><td>8\.0<\/td><td>8\.0<\/td><\/tr>/,
    );
    expect(html).toMatch(
      /<tr data-mode="round-robin" data-node="n2"><td class="l">n2<\/td><td>1<\/td><td>33\.3%<\/td><td>1<\/td><td>8\.0<\/td><td>8\.0<\/td><\/tr>/,
    );
    expect(html).toContain('<h4>1 session-guarantee violation(s): read-your-writes 1</h4>');
    const timeline = /<h4>1 session-guarantee[\s\S]*?<figure class="chart" data-chart="anomaly">([\s\S]*?)<\/figure>/.exec(html)?.[1] ?? '';
    expect(timeline).toContain('1. RYW s0 k1');
    expect(timeline).toContain('n2: 1 record, 9 ms behind');
    expect(html).toContain('<td class="l">#2 read k1 → initial (absent)</td>');
    expect(html).toContain('<td class="l">n2: 1 record, 9 ms behind (sampled 1 ms earlier)</td>');
  });

  it('puts staleness in versions on the chart when versions separate the modes and milliseconds do not', () => {
    const mode = (name: string, versions: number, ms: number) => ({
      mode: name,
      runs: 1,
      seeds: 1,
      policies: [name],
      okReads: 10,
      followerShare: 0.5,
      readP50Ms: 1,
      readP99Ms: 3,
      violations: { 'read-your-writes': 0, 'monotonic-reads': 0, 'monotonic-writes': 0, 'writes-follow-reads': 0 },
      stale: { judged: 10, versions: { p50: 0, p99: versions, max: versions }, ms: { p50: 0, p99: ms, max: ms } },
      nodes: [],
    });
    const spec = readChart([mode('a', 0, 5), mode('b', 1, 5), mode('c', 4, 5), mode('d', 30, 5)]);
    const y = (spec.layer as Array<{ encoding?: { y?: { title?: string } } }>)[0]!.encoding!.y!;
    expect(y.title).toBe('staleness p99 (versions behind)');
    // Versions span more than a decade: a symlog scale, ticks at round numbers, zero kept.
    expect(y).toMatchObject({ scale: { type: 'symlog' }, axis: { values: [0, 1, 2, 5, 10, 20, 50] } });
  });

  it('says how many violations there were when the checker lists only the first 50', async () => {
    // 60 rounds of: session 0 writes k1, then reads it on n2 and gets the previous value.
    const ops: Array<[number, 'read' | 'write', string, number, number, Partial<Op>]> = [];
    for (let i = 1; i <= 60; i++) {
      ops.push([0, 'write', 'k1', 10 * i, 10 * i + 2, { value: `0-${i}`, lsn: i, node: 'n1' }]);
      ops.push([0, 'read', 'k1', 10 * i + 4, 10 * i + 5, { value: i === 1 ? null : `0-${i - 1}`, lsn: i - 1, node: 'n2' }]);
    }
    const run: RunFiles = { result: fakeRun('round-robin', 1, { sessionViolations: 60, readP99Ms: 1 }), history: history('round-robin', ops) };
    const html = await fsp.readFile(await buildReport(await runFolder([run])), 'utf8');
    expect(html).toContain('<h4>60 session-guarantee violation(s): read-your-writes 60</h4>');
    expect(html).toContain('The checker lists the first 50 of the 60');
    expect(html).toContain('<summary>50 in a table: the first 50 of 60, as the checker lists them</summary>');
    expect(html).toContain('50. RYW s0 k1');
    expect(html).not.toContain('51. RYW s0 k1');
    // No lag.jsonl in this run: said so, not guessed.
    expect(html).toContain('n2: no lag sample');
  });

  it('a run without reads has no read section and no empty chart', async () => {
    const writes: RunFiles = {
      result: fakeRun('sync', 1),
      history: history('leader-only', [
        [0, 'write', 'k1', 0, 2, { value: '0-1', lsn: 1, node: 'n1' }],
        [1, 'write', 'k2', 1, 3, { value: '1-1', lsn: 2, node: 'n1' }],
      ]),
    };
    const html = await fsp.readFile(await buildReport(await runFolder([writes])), 'utf8');
    expect(html).toContain('data-chart="headline"');
    expect(html).not.toContain('<h2>Reads</h2>');
    expect(html).not.toContain('data-chart="reads"');
    expect(html).not.toContain('session-guarantee');
  });
});

describe('a session check that crashed', () => {
  it('is said so in its run, and gives no reads to show', async () => {
    const run: RunFiles = {
      ...roundRobin,
      check: (c) => ({ ...c, sessions: { crashed: true, valid: 'unknown', error: 'session checker: out of memory' } }),
    };
    const html = await fsp.readFile(await buildReport(await runFolder([run])), 'utf8');
    expect(html).toContain('<h4>Session guarantees not judged: the checker failed</h4><p>session checker: out of memory</p>');
    expect(html).not.toContain('<h2>Reads</h2>');
  });
});

describe('lagLookup', () => {
  const at = lagLookup([
    { time: 1000 * MS, leader: 'n1', follower: 'n2', lagRecords: 4, lagMs: 30, connected: true },
    { time: 1000 * MS, leader: 'n1', follower: 'n3', lagRecords: 2, lagMs: -1, connected: true },
    { time: 1250 * MS, leader: 'n2', follower: 'n1', lagRecords: 0, lagMs: 0, connected: false },
    { time: 1250 * MS, leader: 'n2', follower: 'n3', lagRecords: 7, lagMs: 80, connected: true },
  ]);

  it('takes the nearest sample of the node, and knows the leader of the moment has no lag', () => {
    expect(describeLag('n3', at('n3', 1200 * MS))).toBe('n3: 7 records, 80 ms behind (sampled 50 ms later)');
    // n3 did not yet know its ms lag (-1) at 1000 ms.
    expect(describeLag('n3', at('n3', 1010 * MS))).toBe('n3: 2 records, ? ms behind (sampled 10 ms earlier)');
    expect(describeLag('n1', at('n1', 990 * MS))).toBe('n1, the leader (sampled 10 ms later)');
    // After the failover n2 leads; n1 is a follower again.
    expect(describeLag('n2', at('n2', 1300 * MS))).toBe('n2, the leader (sampled 50 ms earlier)');
    expect(describeLag('n1', at('n1', 1300 * MS))).toBe('n1: 0 records, 0 ms behind (sampled 50 ms earlier)');
    expect(describeLag('n4', at('n4', 1000 * MS))).toBe('n4: no lag sample');
    expect(describeLag(null, at(null, 1000 * MS))).toBe('serving node not recorded');
  });

  it("says the amount in the system's unit: bytes for PostgreSQL and Redis, none when the system gives none", () => {
    expect(describeLag('n3', at('n3', 1200 * MS), 'bytes')).toBe('n3: 7 bytes, 80 ms behind (sampled 50 ms later)');
    expect(describeLag('n1', at('n1', 1300 * MS), 'seconds')).toBe('n1: 0 seconds, 0 ms behind (sampled 50 ms earlier)');
    expect(describeLag('n3', at('n3', 1200 * MS), null)).toBe('n3: amount not measured, 80 ms behind (sampled 50 ms later)');
  });
});

describe("session violations beside the lag, in the run system's unit", () => {
  it('a byte-lagged system says bytes, not records', async () => {
    const data = await loadReportData(await runFolder([{ ...roundRobin, lagUnit: 'bytes' }]));
    const session = data.runs[0]!.anomalies.find((a) => a.kind === 'session')!;
    expect(session.ops.find((o) => o.note)?.note).toBe('n2: 1 byte, 9 ms behind');
    expect(JSON.stringify(session.table!.rows)).toContain('n2: 1 byte, 9 ms behind');
    expect(JSON.stringify(session)).not.toContain('record');
  });
});
