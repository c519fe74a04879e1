/**
 * Loss from log evidence, end to end: `replab run` on async with replication slowed and the
 * leader killed, then the test counts the lost writes itself from the files the run kept (the
 * history and the final leader's dumped log), without the checker, and compares with what the
 * run reported. A set-workload mode checks that the log count and the final-read count agree.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { replab } from '../helpers/cli.js';
import { stateRoot } from '../helpers/cluster.js';

const dir = () => path.join(stateRoot(), `evidence-${process.pid}`);
let runDir: string;
let results: { runs: Array<Record<string, unknown>> };

beforeAll(async () => {
  await fsp.mkdir(dir(), { recursive: true });
  const suite = path.join(dir(), 'evidence.yaml');
  await fsp.writeFile(
    suite,
    `name: evidence
cluster: ${path.join(projectRoot(), 'clusters', 'three-node.yaml')}
clusterOverrides: {heartbeatMs: 50, failover: {heartbeatMs: 100, failoverTimeoutMs: 800, leaseMs: 400}}
workload: ${path.join(projectRoot(), 'workloads', 'register.yaml')}
workloadOverrides: {concurrency: 6, keys: 4, rateOpsPerSec: 300}
durationSec: 7
nemesis:
  - {fault: latency, links: repl, latencyMs: 150, at: 0s}
  - {fault: kill, target: leader, at: 3s, for: 2s}
modes:
  - {name: async, replication: {mode: async}}
  - name: async-set
    replication: {mode: async}
    workload: ${path.join(projectRoot(), 'workloads', 'set.yaml')}
    workloadOverrides: {concurrency: 6, rateOpsPerSec: 300}
`,
  );
  const r = await replab(['run', suite, '--reports', path.join(dir(), 'reports')], { timeoutMs: 150_000 });
  expect(r.code, r.stderr).toBe(0);
  runDir = await fsp.realpath(path.join(dir(), 'reports', 'latest'));
  results = JSON.parse(await fsp.readFile(path.join(runDir, 'results.json'), 'utf8')) as typeof results;
}, 180_000);

const readJsonl = async (file: string) =>
  (await fsp.readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('loss from log evidence', () => {
  it("register: lostAcked equals the acknowledged writes absent from the final leader's dumped log", async () => {
    const run = path.join(runDir, 'async-seed1');
    const meta = JSON.parse(await fsp.readFile(path.join(run, 'run.json'), 'utf8')) as { finalLeader: string };
    for (const n of ['n1', 'n2', 'n3']) expect(existsSync(path.join(run, `log-${n}.jsonl`))).toBe(true);
    const log = await readJsonl(path.join(run, `log-${meta.finalLeader}.jsonl`));
    expect(log[0]).toMatchObject({ type: 'log', checkpointLsn: 0 });
    const present = new Set(log.filter((l) => l.type === 'record').map((l) => `${String(l.key)}=${String(l.value)}`));
    const history = await readJsonl(path.join(run, 'history.jsonl'));
    const invokes = new Map<unknown, Record<string, unknown>>();
    let acked = 0;
    let lost = 0;
    for (const op of history) {
      if (typeof op.process !== 'number') continue;
      if (op.type === 'invoke') invokes.set(op.process, op);
      else if (op.type === 'ok') {
        const inv = invokes.get(op.process)!;
        if (inv.f !== 'write' && inv.f !== 'cas') continue;
        const value = inv.f === 'cas' ? (inv.value as unknown[])[1] : inv.value;
        acked++;
        if (!present.has(`${String(inv.key)}=${String(value)}`)) lost++;
      }
    }
    const r = results.runs.find((x) => x.mode === 'async')!;
    expect(r.lossEvidence).toBe('logs');
    expect(r.acked).toBe(acked);
    expect(lost, 'the leader kill with replication slowed must lose acknowledged writes').toBeGreaterThan(0);
    expect(r.lostAcked).toBe(lost);
    // Every lost write says where it went.
    const check = JSON.parse(await fsp.readFile(path.join(run, 'check.json'), 'utf8')) as { evidence: { lost: Array<{ where: string }> } };
    expect(check.evidence.lost).toHaveLength(lost);
    for (const l of check.evidence.lost) expect(l.where).toMatch(/^(rewound by n\d at epoch \d+, lsn \d+|only in n\d's log|in no node's log)/);
  });

  it('set: the log count and the final-read count agree', () => {
    const r = results.runs.find((x) => x.mode === 'async-set')!;
    expect(r.lossEvidence).toBe('logs');
    expect(r.lostAcked).toBe(r.lostAckedFinalReads);
    expect(r.lostAcked as number).toBeGreaterThan(0);
  });

  it('resolves indeterminate writes from the logs: happened ones are in the final log, the others in none', async () => {
    let total = 0;
    for (const r of results.runs) {
      const run = path.join(runDir, `${String(r.mode)}-seed1`);
      const meta = JSON.parse(await fsp.readFile(path.join(run, 'run.json'), 'utf8')) as { finalLeader: string };
      const inLog = async (file: string) =>
        new Set(
          (existsSync(file) ? await readJsonl(file) : [])
            .filter((l) => l.type === 'record' || l.lsn !== undefined)
            .map((l) => `${String(l.key)}=${String(l.value)}`),
        );
      const leaderLog = await inLog(path.join(run, `log-${meta.finalLeader}.jsonl`));
      const anywhere = new Set<string>();
      for (const f of await fsp.readdir(run)) if (/^(log|rewound)-n\d\.jsonl$/.test(f)) for (const e of await inLog(path.join(run, f))) anywhere.add(e);
      const check = JSON.parse(await fsp.readFile(path.join(run, 'check.json'), 'utf8')) as {
        evidence: { resolutions: Array<{ key: string; value: string; outcome: string }> };
      };
      const res = check.evidence.resolutions;
      expect((r.infoResolved as number) + (r.infoOpen as number)).toBe(res.length);
      for (const x of res) {
        if (x.outcome === 'happened') expect(leaderLog.has(`${x.key}=${x.value}`)).toBe(true);
        if (x.outcome === 'not-happened') expect(anywhere.has(`${x.key}=${x.value}`)).toBe(false);
      }
      total += res.length;
    }
    expect(total, 'the leader kill leaves some writes indeterminate').toBeGreaterThan(0);
  });
});
