/**
 * replab serve over a reports folder of made-up runs (complete, failed, damaged, unfinished, of
 * two suites), in headless Chromium: the index (sorted, incomplete folders marked), a report page,
 * the compare view with its changes marked, the trend view; and from a raw socket every way out
 * of the folder (`..`, `%2e%2e`, an encoded slash, symlinks to elsewhere) refused, and writes 405.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEntry } from '../../src/lib/paths.js';
import { fakeResults, fakeRun } from '../helpers/results.js';

const CHROMIUM = process.env.REPLAB_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let root: string;
let server: ChildProcess | undefined;
let base: string;

async function runFolder(name: string, results: unknown, report = `<!doctype html><h1>report of ${name}</h1>`): Promise<void> {
  const dir = path.join(root, 'reports', name);
  await fsp.mkdir(path.join(dir, 'semi-sync-seed1'), { recursive: true });
  if (results !== undefined) await fsp.writeFile(path.join(dir, 'results.json'), typeof results === 'string' ? results : JSON.stringify(results));
  await fsp.writeFile(path.join(dir, 'report.html'), report);
  await fsp.writeFile(path.join(dir, 'semi-sync-seed1', 'history.jsonl'), '{"index":0}\n');
}

/** One raw HTTP/1.1 request (no client-side path normalisation); the status code. */
function rawStatus(target: string, method = 'GET'): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => s.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`));
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    s.on('end', () => resolve(Number(out.slice(9, 12))));
    s.on('error', reject);
  });
}

beforeAll(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-serve-'));
  await fsp.mkdir(path.join(root, 'reports'));
  const t = (h: number) => ({ startedAt: `2026-11-2${h}T10:00:00.000Z`, finishedAt: `2026-11-2${h}T10:05:00.000Z` });
  await runFolder('run-a', fakeResults([fakeRun('semi-sync', 1), fakeRun('async', 1)], undefined, t(1)));
  await runFolder(
    'run-b',
    fakeResults([fakeRun('semi-sync', 1, { p99WriteMs: 15, throughput: 800 }), fakeRun('async', 1, { lostAcked: 40 })], undefined, t(2)),
  );
  await runFolder('run-c', fakeResults([fakeRun('semi-sync', 1, { passed: false, lostAcked: 3 })], undefined, { ...t(3), passed: false }));
  await runFolder('other-suite', fakeResults([fakeRun('sync', 1)], undefined, { ...t(4), suite: 'ci' }));
  await runFolder('damaged', '{"suite": "quick", "runs": [');
  await runFolder('no-results', undefined);
  await runFolder('unfinished', fakeResults([fakeRun('semi-sync', 1)], undefined, { startedAt: '2026-11-29T09:00:00.000Z', finishedAt: '' }));
  await fsp.writeFile(path.join(root, 'secret.txt'), 'outside the reports folder');
  await fsp.symlink(root, path.join(root, 'reports', 'escape'));
  await fsp.symlink(path.join(root, 'secret.txt'), path.join(root, 'reports', 'run-a', 'secret.txt'));
  await fsp.symlink('run-b', path.join(root, 'reports', 'latest'));
  server = spawn(process.execPath, [cliEntry(), 'serve', '--reports', path.join(root, 'reports'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) resolve(m[1]!);
    });
    server!.once('exit', (code) => reject(new Error(`replab serve exited ${code}`)));
  });
}, 30_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  await fsp.rm(root, { recursive: true, force: true });
});

describe('replab serve: paths and methods', () => {
  it('refuses every way out of the reports folder, and writes', async () => {
    expect(await rawStatus('/runs/run-a/semi-sync-seed1/history.jsonl')).toBe(200);
    expect(await rawStatus('/runs/../secret.txt')).toBe(403);
    expect(await rawStatus('/runs/run-a/../../secret.txt')).toBe(403);
    expect(await rawStatus('/runs/%2e%2e/secret.txt')).toBe(403);
    expect(await rawStatus('/runs/%2E%2E%2Fsecret.txt')).toBe(403);
    expect(await rawStatus('/runs/run-a%2F..%2F..%2Fsecret.txt')).toBe(403);
    expect(await rawStatus('/runs/escape/secret.txt')).toBe(403);
    expect(await rawStatus('/runs/run-a/secret.txt')).toBe(403);
    expect(await rawStatus('/runs/run-a/nothing-here.json')).toBe(404);
    expect(await rawStatus('/runs/%zz/')).toBe(400);
    expect(await rawStatus('/runs/run-a/results.json', 'POST')).toBe(405);
    expect(await rawStatus('/runs/run-a/results.json', 'DELETE')).toBe(405);
    expect(await fsp.readFile(path.join(root, 'reports', 'run-a', 'results.json'), 'utf8')).toContain('"suite":"quick"');
  });
});

describe.skipIf(!CHROMIUM && !process.env.CI)('replab serve in headless Chromium', () => {
  let browser: Browser | undefined;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('chromium is not installed (.ci/run installs it with apt-get)');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(url: string) {
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', (m) => m.type() === 'error' && errors.push(`${url}: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`${url}: ${e.message}`));
    // Nothing but the server itself: no CDN, no other host.
    await page.route(/.*/, (route) => {
      if (route.request().url().startsWith(base)) return route.continue();
      errors.push(`network request: ${route.request().url()}`);
      return route.abort();
    });
    const res = await page.goto(url);
    return { page, status: res?.status() };
  }

  it('the index lists every run, marks the incomplete ones and sorts', async () => {
    const { page, status } = await open(`${base}/`);
    expect(status).toBe(200);
    const rows = await page.$$eval('tr[data-run]', (trs) => trs.map((tr) => ({ run: tr.getAttribute('data-run'), text: tr.textContent ?? '' })));
    // Newest first; folders without a start time last.
    expect(rows.map((r) => r.run)).toEqual(['unfinished', 'other-suite', 'run-c', 'run-b', 'run-a', 'damaged', 'no-results']);
    const row = (n: string) => rows.find((r) => r.run === n)!.text;
    expect(row('damaged')).toMatch(/incomplete.*not valid JSON/);
    expect(row('no-results')).toMatch(/incomplete.*no results\.json/);
    expect(row('unfinished')).toMatch(/incomplete.*still running/);
    expect(row('run-c')).toContain('FAILED');
    expect(row('run-b')).toMatch(/passed[\s\S]*40/); // 40 acknowledged writes lost in async
    await page.click('th a:has-text("lost")');
    const byLost = await page.$$eval('tr[data-run]', (trs) => trs.map((tr) => tr.getAttribute('data-run')));
    expect(byLost[0]).toBe('run-b');
    await page.close();
  });

  it('a run folder opens its report; compare marks what changed; the trend draws each mode', async () => {
    const report = await open(`${base}/runs/run-a/`);
    expect(await report.page.textContent('h1')).toBe('report of run-a');
    await report.page.close();

    const index = await open(`${base}/`);
    await index.page.check('input[value="run-a"]');
    await index.page.check('input[value="run-b"]');
    await Promise.all([index.page.waitForURL(/\/compare\?/), index.page.click('button[type="submit"]')]);
    expect(await index.page.textContent('h1')).toBe('Compare: quick');
    const worse = await index.page.$$eval('td.worse', (tds) => tds.map((td) => td.textContent));
    expect(worse).toEqual(expect.arrayContaining(['800 (-20.0%)', '15 (+50.0%)', '40']));
    const marks = await index.page.$$eval('figure[data-chart="compare"] svg path', (p) => p.length);
    expect(marks).toBeGreaterThan(4);
    await index.page.close();

    const mixed = await open(`${base}/compare?run=run-a&run=other-suite`);
    expect(mixed.status).toBe(400);
    expect(await mixed.page.textContent('body')).toContain('different suites');
    await mixed.page.close();

    const trend = await open(`${base}/trend?suite=quick`);
    expect(trend.status).toBe(200);
    expect(await trend.page.textContent('h1')).toBe('Trend: quick');
    const lines = await trend.page.$$eval('figure[data-chart="trend"] svg path', (p) => p.length);
    expect(lines).toBeGreaterThan(8);
    expect(await trend.page.$$eval('table tr', (trs) => trs.length)).toBe(4); // header + run-a, run-b, run-c
    await trend.page.close();
    // The one page answered 400 on purpose is the only console error.
    expect(errors.filter((e) => !e.includes('run=other-suite: Failed to load resource: the server responded with a status of 400'))).toEqual([]);
  });
});
