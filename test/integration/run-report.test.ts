/**
 * `replab run` end to end on a tiny suite (real cluster, real faults: a leader kill, then a leader
 * partition under which async loses acknowledged writes), then the HTML report opened in headless
 * Chromium (Debian's chromium through playwright-core): no console errors, every chart rendered, a
 * screenshot saved; and the page as a reader needs it (issue 23): nothing wider than an 800 or
 * 1400 px window, every chart's marks inside their plot, a latency axis with ticks between p50 and
 * p99, each mode's gate rule named, the summary at the top, lost writes before the
 * linearizability cards. Also the gate's exit code and `replab report` rebuilding the page from
 * the files alone.
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
durationSec: 9
nemesis:
  - {fault: kill, target: leader, at: 2s, for: 2s}
  - {fault: partition, target: leader, cut: [repl, monitor], at: 5s, for: 2500ms}
modes:
  - {name: semi-sync, replication: {mode: semi-sync}}
  - {name: async, replication: {mode: async}, gate: [splitBrainWrites == 0, p99WriteMs < 0]}
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
    expect(stdout).toMatch(/gate: FAILED async seed 1: p99WriteMs < 0 \(observed [\d.]+\)/);
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

/** What the page test measures in the browser, for one window width. */
interface PageFacts {
  scrollWidth: number;
  /** Elements reaching past the window's edge that no scrolling box holds. */
  overflowing: string[];
  /** Chart marks (points, bars, lines, areas, rules) outside the plot they are drawn in. */
  outside: string[];
  /** Each run chart's latency axis: its labels as numbers. */
  latencyTicks: Array<{ run: string; ticks: number[] }>;
}

/** The little of the DOM measurePage uses (the tests compile without the DOM's types). */
interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}
interface El {
  tagName: string;
  id: string;
  textContent: string | null;
  parentElement: El | null;
  children: Iterable<El>;
  classList: { contains(c: string): boolean };
  dataset: Record<string, string | undefined>;
  ownerDocument: { body: El; documentElement: { scrollWidth: number }; defaultView: { innerWidth: number; getComputedStyle(e: El): { overflowX: string } } };
  getBoundingClientRect(): Box;
  getAttribute(name: string): string | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El>;
  closest(selector: string): El | null;
}

/** The page in the browser, measured from its root element: it runs in the page, so it uses nothing from here. */
function measurePage(html: El): PageFacts {
  const doc = html.ownerDocument;
  const win = doc.defaultView;
  const overflowing: string[] = [];
  for (const el of doc.body.querySelectorAll('*')) {
    // Inside a box that scrolls or clips, a wide table is the box's business, not the page's.
    let a = el.parentElement;
    let held = false;
    while (a && a !== doc.body && !held) {
      held = win.getComputedStyle(a).overflowX !== 'visible';
      a = a.parentElement;
    }
    const r = el.getBoundingClientRect();
    if (!held && (r.right > win.innerWidth + 0.5 || r.left < -0.5))
      overflowing.push(`${el.tagName.toLowerCase()} ${Math.round(r.left)}..${Math.round(r.right)}: ${(el.textContent ?? '').slice(0, 40)}`);
  }
  const outside: string[] = [];
  const latencyTicks: PageFacts['latencyTicks'] = [];
  for (const fig of html.querySelectorAll('figure.chart')) {
    for (const marks of fig.querySelectorAll('svg g.role-mark')) {
      if (marks.closest('.role-legend, .role-axis, .role-title') || marks.classList.contains('mark-text')) continue;
      // The plot a mark is drawn in: the nearest enclosing group with a background of its own.
      let g = marks.parentElement;
      let plot: El | null = null;
      while (g && !plot) {
        plot = g.querySelector(':scope > path.background');
        g = g.parentElement;
      }
      if (!plot) continue;
      const p = plot.getBoundingClientRect();
      for (const item of marks.children) {
        const r = item.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.left < p.left - 1 || r.right > p.right + 1 || r.top < p.top - 1 || r.bottom > p.bottom + 1)
          outside.push(
            `${fig.dataset.chart} ${marks.getAttribute('class')}: [${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.right)},${Math.round(r.bottom)}] outside [${Math.round(p.left)},${Math.round(p.top)} ${Math.round(p.right)},${Math.round(p.bottom)}]`,
          );
      }
    }
    if (fig.dataset.chart !== 'run') continue;
    for (const axis of fig.querySelectorAll('g.role-axis')) {
      if (!/write latency/.test(axis.querySelector('.role-axis-title')?.textContent ?? '')) continue;
      const ticks = [...axis.querySelectorAll('.role-axis-label text')].map((t) => Number((t.textContent ?? '').replace(/,/g, '')));
      latencyTicks.push({ run: fig.closest('section')?.id ?? '?', ticks });
    }
  }
  return { scrollWidth: doc.documentElement.scrollWidth, overflowing, outside, latencyTicks };
}

describe('the report page, as a reader sees it', () => {
  it.skipIf(!CHROMIUM && !process.env.CI)(
    'fits 800 and 1400 px windows; marks inside plots; latency ticks between p50 and p99; gate rules, summary, lost writes first',
    async () => {
      if (!CHROMIUM) throw new Error('chromium is not installed (.ci/run installs it with apt-get)');
      const results = JSON.parse(await fsp.readFile(path.join(runDir, 'results.json'), 'utf8')) as {
        runs: Array<{ mode: string; seed: number; p50WriteMs: number; p99WriteMs: number; lostAcked: number }>;
      };
      const async = results.runs.find((x) => x.mode === 'async')!;
      // The partition is the fault this page is about: async must have lost writes under it.
      expect(async.lostAcked).toBeGreaterThan(0);
      let browser: Browser | undefined;
      try {
        browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
        for (const width of [800, 1400]) {
          const page = await browser.newPage({ viewport: { width, height: 900 } });
          await page.goto(`file://${path.join(runDir, 'report.html')}`);
          const facts = await page.$eval('html', measurePage);
          expect(facts.overflowing, `at ${width} px`).toEqual([]);
          expect(facts.scrollWidth, `at ${width} px`).toBeLessThanOrEqual(width);
          expect(facts.outside, `at ${width} px`).toEqual([]);
          expect(facts.latencyTicks.map((l) => l.run).sort()).toEqual(['run-async-1', 'run-semi-sync-1']);
          for (const { run, ticks } of facts.latencyTicks) {
            const r = results.runs.find((x) => `run-${x.mode}-${x.seed}` === run)!;
            const within = ticks.filter((t) => t >= r.p50WriteMs && t <= r.p99WriteMs);
            expect(within.length, `${run}: ticks ${ticks.join(', ')} against p50 ${r.p50WriteMs}, p99 ${r.p99WriteMs}`).toBeGreaterThanOrEqual(3);
          }
          if (width === 1400) await page.screenshot({ path: path.join(runDir, 'report-top.png') });
          await page.close();
        }
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        await page.goto(`file://${path.join(runDir, 'report.html')}`);
        // Each mode's row names its gate rules in words.
        expect(await page.textContent('#modes tr[data-mode="semi-sync"]')).toMatch(/lost acknowledged writes == 0 ✓.*linearizable ✓/);
        expect(await page.textContent('#modes tr[data-mode="async"]')).toMatch(/gate FAILED: split-brain writes == 0 ✓ · write p99 ms < 0 ✗/);
        expect(await page.textContent('#modes tr[data-mode="async"]')).toMatch(/not gated: lost writes \d+/);
        // The summary comes first and tells the async story in one sentence.
        const summary = await page.textContent('#summary li[data-mode="async"]');
        expect(summary).toMatch(
          new RegExp(
            `^async lost ${async.lostAcked} acknowledged writes? \\([\\d.]+% of [\\d,]+\\): .*acknowledged by n\\d.* during the partition of n\\d at \\d+ s`,
          ),
        );
        const order = await page.$$eval('h2, #summary, .anomaly', (els) =>
          els.map((e) => (e.id === 'summary' ? 'summary' : (e.getAttribute('data-kind') ?? e.textContent ?? ''))),
        );
        expect(order.indexOf('summary')).toBe(0);
        // Anomalies worst first: in the async run, its lost writes before any non-linearizable card.
        const kinds = await page.$$eval('#run-async-1 .anomaly', (els) => els.map((e) => e.getAttribute('data-kind')));
        expect(kinds[0]).toBe('lost');
        if (kinds.includes('non-linearizable')) expect(kinds.indexOf('lost')).toBeLessThan(kinds.indexOf('non-linearizable'));
        await page.close();
      } finally {
        await browser?.close();
      }
    },
  );
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
