/**
 * Issue 26: each failover in the report is judged needed (the old leader was down or cut off) or
 * needless (it was alive and reachable from clients), from what the run folder holds, and says how
 * long the old leader was unreachable; an event without those facts is "not known", never needed.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Op } from '../../src/history/op.js';
import { buildReport } from '../../src/report/build.js';
import { runChart } from '../../src/report/charts.js';
import { loadReportData } from '../../src/report/data.js';
import { judgeFailover } from '../../src/report/detection.js';
import type { ReportData, Window } from '../../src/report/model.js';
import { failoverClause } from '../../src/report/story.js';
import { fakeResults, fakeRun } from '../helpers/results.js';
import { runFolder } from './run-folder.js';

const S = 1e9;
const win = (fault: string, from: number, to: number, nodes: string[]): Window => ({ fault, from, to, detail: '', nodes });

describe('judgeFailover', () => {
  const promoted = { at: 5, from: 'n1', unreachableMs: 1000, promotionMs: 100 };
  it('a kill or partition of the old leader in force when the failover began: needed, even if it answered on its own address', () => {
    expect(judgeFailover({ ...promoted, oldLeader: { answered: true } }, [win('partition', 3, 8, ['n1'])], [], 20).need).toBe('needed');
    expect(judgeFailover(promoted, [win('kill', 3, 8, ['n1'])], [], 20).need).toBe('needed');
    // A kill of another node says nothing about n1.
    expect(judgeFailover(promoted, [win('kill', 3, 8, ['n3'])], [], 20).need).toBe('not known');
  });
  it('a partition that recorded its links and cut only the monitor’s: needless; one that also cut its followers: needed', () => {
    const cut = { ...win('partition', 3, 8, ['n1']), links: ['monitor:n1'] };
    expect(judgeFailover(promoted, [cut], [], 20)).toEqual({
      need: 'needless',
      why: 'the partition cut n1 from the monitor only: clients and followers still reached it',
    });
    expect(judgeFailover(promoted, [{ ...cut, links: ['monitor:n1', 'repl:n2->n1', 'repl:n3->n1'] }], [], 20)).toEqual({
      need: 'needed',
      why: 'the partition cut n1 off from its followers when the failover began (clients still reached it)',
    });
    expect(judgeFailover(promoted, [{ ...cut, links: ['repl:*->n1', 'repl:*->n1.api'] }], [], 20).need).toBe('needed');
    expect(judgeFailover(promoted, [{ ...cut, links: [...cut.links, 'client:n1'] }], [], 20).need).toBe('needed');
  });
  it('the old leader answering at its own address: needless', () => {
    const j = judgeFailover({ ...promoted, oldLeader: { answered: true } }, [], [], 20);
    expect(j).toEqual({ need: 'needless', why: 'n1 answered at its own address when the failover began' });
  });
  it('clients served by the old leader while the monitor could not reach it: needless; before that window: no evidence', () => {
    expect(judgeFailover(promoted, [], [{ t: 4.5, node: 'n1' }], 20).need).toBe('needless');
    expect(
      judgeFailover(
        promoted,
        [],
        [
          { t: 3.5, node: 'n1' },
          { t: 4.5, node: 'n2' },
        ],
        20,
      ).need,
    ).toBe('not known');
  });
  it('a pause of the old leader that ended (even after the promotion) is needless; one never stopped is not', () => {
    expect(judgeFailover(promoted, [win('pause', 3.8, 6, ['n1'])], [], 20).need).toBe('needless');
    expect(judgeFailover(promoted, [win('pause', 3.8, 20, ['n1'])], [], 20).need).toBe('not known');
    // Latency on links names no node: it slowed the leader too.
    expect(judgeFailover(promoted, [win('latency', 3.5, 4.5, [])], [], 20).need).toBe('needless');
  });
  it('no answer anywhere and no fault to explain it: needed only when the event records the old leader’s answer', () => {
    expect(judgeFailover({ ...promoted, oldLeader: { answered: false } }, [], [], 20).need).toBe('needed');
    expect(judgeFailover({ at: 5 }, [win('partition', 3, 8, ['n1'])], [], 20).need).toBe('not known');
  });
});

describe('failoverClause', () => {
  const f = (need: 'needed' | 'needless' | 'not known', unreachableMs: number | null) => ({
    node: 'n2',
    epoch: 2,
    detectionMs: 0,
    promotionMs: 0,
    outageMs: null,
    at: 1,
    from: 'n1',
    unreachableMs,
    need,
    why: '',
  });
  it('counts each kind and gives the span of unreachable times', () => {
    expect(failoverClause([{ failovers: [f('needed', 3100), f('needless', 1200), f('needless', 1500)] }])).toBe(
      '3 failovers: 1 needed, 2 needless, the leader unreachable 1.2 s–3.1 s before each began',
    );
    expect(failoverClause([{ failovers: [] }])).toBeNull();
  });
});

/**
 * A run folder where the leader n1 is paused from 2 s to 3.5 s (a stop-the-world pause longer than
 * the failover timeout), n2 promoted at 3 s, and n1 killed at 6 s with n3 promoted at 6.6 s.
 */
async function pauseThenKillFolder(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-detect-'));
  const zero = Date.parse('2026-12-04T10:00:00.000Z');
  const ops: Op[] = [];
  for (let t = 0.05; t < 8; t += 0.05) {
    const paused = t >= 2 && t < 3.5;
    const dead = t >= 6 && t < 6.7;
    if (paused || dead) continue;
    const node = t < 3 ? 'n1' : t < 6 ? 'n2' : 'n3';
    ops.push({ index: 0, time: Math.round(t * S), process: 0, type: 'invoke', f: 'write', key: 'k', value: `${t}` });
    ops.push({ index: 0, time: Math.round((t + 0.01) * S), process: 0, type: 'ok', f: 'write', key: 'k', value: `${t}`, node });
  }
  ops.push({ index: 0, time: 2 * S, process: 'nemesis', type: 'info', f: 'start-pause', value: { nodes: ['n1'] } });
  ops.push({ index: 0, time: 3.5 * S, process: 'nemesis', type: 'info', f: 'stop-pause', value: { nodes: ['n1'] } });
  ops.push({ index: 0, time: 6 * S, process: 'nemesis', type: 'info', f: 'start-kill', value: { nodes: ['n2'] } });
  ops.push({ index: 0, time: 7.5 * S, process: 'nemesis', type: 'info', f: 'stop-kill', value: { nodes: ['n2'] } });
  const history: Op[] = ops.sort((a, b) => a.time - b.time).map((o, index) => ({ ...o, index }));
  const run = fakeRun('async', 1, { durationSec: 8, acked: history.filter((o) => o.type === 'ok').length });
  await fsp.writeFile(path.join(dir, 'results.json'), JSON.stringify(fakeResults([run], undefined, { durationSec: 8 })));
  const d = path.join(dir, run.dir);
  await fsp.mkdir(d);
  await fsp.writeFile(path.join(d, 'history.jsonl'), history.map((o) => `${JSON.stringify(o)}\n`).join(''));
  await fsp.writeFile(path.join(d, 'run.json'), JSON.stringify({ mode: 'async', seed: 1, startedAtMs: zero - 3000, historyStartMs: zero, durationSec: 8 }));
  const events = [
    { timeMs: zero, event: 'monitor-started', leader: 'n1', epoch: 1 },
    { timeMs: zero + 2900, event: 'leader-declared-dead', leader: 'n1' },
    // The pause: n1 did not answer at its own address either (it was stopped), yet it came back.
    {
      timeMs: zero + 3000,
      event: 'promoted',
      node: 'n2',
      from: 'n1',
      epoch: 2,
      detectionMs: 900,
      promotionMs: 100,
      unreachableMs: 900,
      oldLeader: { answered: false, error: 'timeout' },
    },
    { timeMs: zero + 6500, event: 'leader-declared-dead', leader: 'n2' },
    {
      timeMs: zero + 6600,
      event: 'promoted',
      node: 'n3',
      from: 'n2',
      epoch: 3,
      detectionMs: 500,
      promotionMs: 100,
      unreachableMs: 500,
      oldLeader: { answered: false, error: 'refused' },
    },
  ];
  await fsp.writeFile(path.join(d, 'events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  return dir;
}

describe('the report of a run folder', () => {
  let dir: string;
  let fixture: string;
  let data: ReportData;
  let html: string;
  beforeAll(async () => {
    dir = await pauseThenKillFolder();
    data = await loadReportData(dir);
    html = await fsp.readFile(await buildReport(dir), 'utf8');
    ({ dir: fixture } = await runFolder());
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rm(fixture, { recursive: true, force: true });
  });

  it('marks the failover after a pause needless and the one after a kill needed, with how long each leader was unreachable', () => {
    const [pause, kill] = data.runs[0]!.failovers;
    expect(pause).toMatchObject({ node: 'n2', from: 'n1', unreachableMs: 900, need: 'needless' });
    expect(pause!.why).toContain('pause of n1');
    expect(kill).toMatchObject({ node: 'n3', from: 'n2', unreachableMs: 500, need: 'needed' });
    expect(kill!.why).toContain('kill of n2');
  });

  it('shows the marking in the failover table, on the timeline and in the story', () => {
    const table = html.slice(html.indexOf('<table class="failovers">'));
    expect(table).toMatch(/<tr data-need="needless"><td class="l">n2<\/td><td>2<\/td><td class="l">n1<\/td><td>900<\/td>/);
    expect(table).toMatch(/<tr data-need="needed"><td class="l">n3<\/td><td>3<\/td><td class="l">n2<\/td><td>500<\/td>/);
    const labels = JSON.stringify(runChart(data.runs[0]!));
    expect(labels).toContain('"label":"needless"');
    expect(labels).toContain('"label":"needed"');
    expect(data.story[0]!.text).toContain('2 failovers: 1 needed, 1 needless, the leader unreachable 0.5 s–0.9 s before each began');
  });

  it('an event without the old leader’s facts is "not known" in the table, never needed', async () => {
    const old = await loadReportData(fixture);
    const sync = old.runs.find((r) => r.result.mode === 'sync')!;
    expect(sync.failovers[0]).toMatchObject({ need: 'not known', unreachableMs: null, from: null });
    const page = await fsp.readFile(await buildReport(fixture), 'utf8');
    expect(page).toContain('<tr data-need="not known"><td class="l">n2</td><td>2</td><td class="l">not known</td><td>not known</td>');
  });
});
