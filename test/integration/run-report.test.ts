/**
 * `replab run` end to end on a tiny suite (real cluster, real faults), then the HTML report opened
 * in headless Chromium (Debian's chromium through playwright-core): no console errors, every
 * chart rendered, a screenshot saved. Also the gate's exit code and `replab report` rebuilding
 * the page from the files alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliEntry, projectRoot } from '../../src/lib/paths.js';
import { isPidRunning } from '../../src/lib/pid.js';
import { waitFor } from '../../src/lib/wait.js';
import { replab } from '../helpers/cli.js';
import { stateRoot } from '../helpers/cluster.js';

const CHROMIUM = process.env.REPLAB_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const dir = () => path.join(stateRoot(), `run-${process.pid}`);

let runDir: string;
let stdout: string;
let code: number;

beforeAll(async () => {
  await fsp.mkdir(dir(), { recursive: true });
  const suite = path.join(dir(), 'tiny.yaml');
  await fsp.writeFile(
    suite,
    `name: tiny
cluster: ${path.join(projectRoot(), 'clusters', 'three-node.yaml')}
clusterOverrides: {heartbeatMs: 50, failover: {heartbeatMs: 100, failoverTimeoutMs: 800, leaseMs: 400}}
workload: ${path.join(projectRoot(), 'workloads', 'register.yaml')}
workloadOverrides: {concurrency: 4, keys: 4, rateOpsPerSec: 200}
durationSec: 6
nemesis:
  - {fault: kill, target: leader, at: 2s, for: 2s}
modes:
  - {name: semi-sync, replication: {mode: semi-sync}}
  - {name: impossible, replication: {mode: async}, gate: [p99WriteMs < 0]}
gate:
  semi-sync: [lostAcked == 0, linearizable]
`,
  );
  const r = await replab(['run', suite, '--gate', '--reports', path.join(dir(), 'reports')], { timeoutMs: 120_000 });
  stdout = r.stdout;
  code = r.code;
  runDir = await fsp.realpath(path.join(dir(), 'reports', 'latest'));
}, 150_000);

describe('replab run', () => {
  it('exits 1 under --gate when an invariant fails, naming mode, seed, invariant and value', () => {
    expect(code).toBe(1);
    expect(stdout).toMatch(/gate: FAILED impossible seed 1: p99WriteMs < 0 \(observed [\d.]+\)/);
    expect(stdout).not.toMatch(/FAILED semi-sync/);
  });

  it('writes results.json with the stable fields, histories and logs', async () => {
    const results = JSON.parse(await fsp.readFile(path.join(runDir, 'results.json'), 'utf8')) as Record<string, unknown> & {
      runs: Array<Record<string, unknown>>;
    };
    expect(results).toMatchObject({ suite: 'tiny', passed: false });
    expect(typeof results.startedAt).toBe('string');
    for (const field of [
      'mode',
      'seed',
      'nemesis',
      'acked',
      'lostAcked',
      'recovered',
      'linearizable',
      'splitBrainWrites',
      'p50WriteMs',
      'p99WriteMs',
      'outageMs',
      'passed',
      'violations',
    ]) {
      expect(results.runs[0]).toHaveProperty(field);
    }
    expect(results.runs[0]).toMatchObject({ mode: 'semi-sync', seed: 1, lostAcked: 0, linearizable: true, passed: true });
    expect(results.runs[0]!.acked as number).toBeGreaterThan(50);
    for (const f of ['history.jsonl', 'lag.jsonl', 'events.jsonl', 'check.json', 'logs/n1.log', 'logs/monitor.log', 'logs/proxy.log'])
      expect(existsSync(path.join(runDir, 'semi-sync-seed1', f))).toBe(true);
  });

  it('replab report rebuilds report.html from the files alone', async () => {
    const file = path.join(runDir, 'report.html');
    await fsp.rm(file);
    const r = await replab(['report', runDir]);
    expect(r.code).toBe(0);
    expect(existsSync(file)).toBe(true);
    const bad = await replab(['report', dir()]);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/^error: .*no readable results\.json.*\n$/);
  });

  it.skipIf(!CHROMIUM && !process.env.CI)('the report opens offline in headless Chromium: no console errors, every chart rendered', async () => {
    if (!CHROMIUM) throw new Error('chromium is not installed (.ci/run installs it with apt-get)');
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      // Offline: any request leaving the file is refused and reported.
      await page.route(/^(?!file:)/, (route) => {
        errors.push(`network request: ${route.request().url()}`);
        return route.abort();
      });
      await page.goto(`file://${path.join(runDir, 'report.html')}`);
      const charts = await page.$$eval('figure.chart', (figs) =>
        figs.map((f) => ({
          kind: f.getAttribute('data-chart'),
          marks: f.querySelectorAll('svg path, svg line, svg rect, svg circle').length,
          width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
        })),
      );
      expect(charts.filter((c) => c.kind === 'headline')).toHaveLength(1);
      expect(charts.filter((c) => c.kind === 'run')).toHaveLength(2);
      for (const c of charts) {
        expect(c.marks).toBeGreaterThan(10);
        expect(c.width).toBeGreaterThan(200);
      }
      expect(await page.textContent('h1')).toContain('FAILED');
      await page.screenshot({ path: path.join(runDir, 'report.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
    }
  });
});

describe('replab run interrupted', () => {
  it('Ctrl-C stops every process the run started and exits 130', async () => {
    const stateDir = path.join(dir(), 'interrupted-state');
    const suite = path.join(dir(), 'long.yaml');
    await fsp.writeFile(
      suite,
      `name: long\ncluster: ${path.join(projectRoot(), 'clusters', 'three-node.yaml')}\nworkload: ${path.join(projectRoot(), 'workloads', 'register.yaml')}\ndurationSec: 60\nmodes: [{name: async, replication: {mode: async}}]\n`,
    );
    const child = spawn(process.execPath, [cliEntry(), 'run', suite, '--reports', path.join(dir(), 'reports-int')], {
      env: { ...process.env, REPLAB_RUN_STATE_ROOT: stateDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      expect(await waitFor(() => stderr.includes('· running ·'), 60_000, 50)).toBe(true);
      const [runDir] = await fsp.readdir(stateDir);
      const [name] = await fsp.readdir(path.join(stateDir, runDir!));
      const file = JSON.parse(await fsp.readFile(path.join(stateDir, runDir!, name!, 'cluster.json'), 'utf8')) as {
        nodes: Array<{ pid: number }>;
        monitor: { pid: number };
        proxy: { pid: number };
      };
      const pids = [...file.nodes.map((n) => n.pid), file.monitor.pid, file.proxy.pid];
      expect(pids.every((p) => isPidRunning(p))).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(await waitFor(() => pids.every((p) => !isPidRunning(p)), 10_000, 50)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});
