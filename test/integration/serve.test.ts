/**
 * replab serve over a reports folder of made-up runs (complete, failed, damaged, unfinished, of
 * three suites), in headless Chromium: the index (sorted, incomplete folders marked, figures
 * formatted, names kept on one line), a report page, the compare view with its changes marked and
 * runs told apart, the trend view with every mode's points visible; and from a raw socket every
 * way out of the folder (`..`, `%2e%2e`, an encoded slash, symlinks to elsewhere, existing or not)
 * refused alike, and writes 405.
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

/** One raw HTTP/1.1 request (no client-side path normalisation): status, headers and body. */
function raw(target: string, method = 'GET'): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => s.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`));
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    s.on('end', () => {
      const cut = out.indexOf('\r\n\r\n');
      resolve({ status: Number(out.slice(9, 12)), head: out.slice(0, cut), body: out.slice(cut + 4) });
    });
    s.on('error', reject);
  });
}

const rawStatus = async (target: string, method = 'GET') => (await raw(target, method)).status;

beforeAll(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-serve-'));
  await fsp.mkdir(path.join(root, 'reports'));
  const t = (h: number) => ({ startedAt: `2026-11-2${h}T10:00:00.000Z`, finishedAt: `2026-11-2${h}T10:05:00.000Z` });
  await runFolder('run-a', fakeResults([fakeRun('semi-sync', 1), fakeRun('async', 1)], undefined, t(1)));
  await runFolder(
    'run-b',
    // An outage as runs record it (a float of milliseconds), for the index to format.
    fakeResults([fakeRun('semi-sync', 1, { p99WriteMs: 15, throughput: 800 }), fakeRun('async', 1, { lostAcked: 40, outageMs: 1369.718364 })], undefined, t(2)),
  );
  await runFolder('run-c', fakeResults([fakeRun('semi-sync', 1, { passed: false, lostAcked: 3 })], undefined, { ...t(3), passed: false }));
  await runFolder('other-suite', fakeResults([fakeRun('sync', 1)], undefined, { ...t(4), suite: 'ci' }));
  await runFolder('damaged', '{"suite": "quick", "runs": [');
  await runFolder('no-results', undefined);
  await runFolder('unfinished', fakeResults([fakeRun('semi-sync', 1)], undefined, { startedAt: '2026-11-29T09:00:00.000Z', finishedAt: '' }));
  // Two runs named as `replab run` names them, which share their first 18 characters, and that
  // measured the read side.
  const reads = { followerReadShare: 0.42, readP50Ms: 1.5, readP99Ms: 12.25, sessionViolations: 0, staleReads: 2, maxStaleMs: 140 };
  for (const [name, at, commit] of [
    ['2026-12-04_09-28-14-nightly', '2026-12-04T09:28:14.120Z', 'b'],
    ['2026-12-04_09-28-19-nightly', '2026-12-04T09:28:19.950Z', 'c'],
  ] as const) {
    await runFolder(
      name,
      fakeResults([fakeRun('semi-sync', 1, reads), fakeRun('bounded-staleness-100', 1, reads)], undefined, {
        suite: 'nightly',
        startedAt: at,
        finishedAt: at.replace('09:28', '09:31'),
        git: { commit: commit.repeat(40), dirty: false },
      }),
    );
  }
  await fsp.writeFile(path.join(root, 'secret.txt'), 'outside the reports folder');
  await fsp.mkdir(path.join(root, 'elsewhere'));
  await fsp.writeFile(path.join(root, 'elsewhere', 'other.txt'), 'outside too');
  await fsp.symlink(root, path.join(root, 'reports', 'escape'));
  await fsp.symlink(path.join(root, 'secret.txt'), path.join(root, 'reports', 'run-a', 'secret.txt'));
  // A link to an outside folder without a report.html, one to nothing outside, one to nothing inside.
  await fsp.symlink(path.join(root, 'elsewhere'), path.join(root, 'reports', 'to-elsewhere'));
  await fsp.symlink(path.join(root, 'gone'), path.join(root, 'reports', 'to-nowhere'));
  await fsp.symlink('missing.json', path.join(root, 'reports', 'run-a', 'dangling.json'));
  await fsp.symlink('loop-b', path.join(root, 'reports', 'loop-a'));
  await fsp.symlink('loop-a', path.join(root, 'reports', 'loop-b'));
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

  it('answers every path that resolves outside with the same 403, whether or not the target exists', async () => {
    const outside = [
      '/runs/to-elsewhere/',
      '/runs/to-elsewhere/report.html',
      '/runs/to-elsewhere/other.txt',
      '/runs/to-nowhere/',
      '/runs/to-nowhere/results.json',
      '/runs/escape/secret.txt',
      '/runs/escape/no-such-file',
      '/runs/run-a/secret.txt',
      // Links round in a circle: nothing to serve, and the circle could pass outside.
      '/runs/loop-a/',
    ];
    const answers = await Promise.all(outside.map((p) => raw(p)));
    expect(answers.map((a) => a.status)).toEqual(outside.map(() => 403));
    // One body for all: nothing in it tells an existing target from a missing one, or names it.
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    for (const word of [root, 'elsewhere', 'nowhere', 'gone', 'secret']) expect(answers[0]!.body).not.toContain(word);
    // A dangling link that stays inside is simply missing.
    expect(await rawStatus('/runs/run-a/dangling.json')).toBe(404);
    const compare = await raw('/compare?run=to-elsewhere&run=run-a');
    expect(compare.status).toBe(403);
    expect(compare.body).toBe(answers[0]!.body);
  });

  it('serves its icon, so a browser asking for /favicon.ico gets no 404', async () => {
    const icon = await raw('/favicon.ico');
    expect(icon.status).toBe(200);
    expect(icon.head).toMatch(/content-type: image\/svg\+xml/i);
    expect(icon.body).toContain('<svg');
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

  async function open(url: string, width = 1200) {
    const page = await browser!.newPage({ viewport: { width, height: 900 } });
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
    expect(rows.map((r) => r.run)).toEqual([
      '2026-12-04_09-28-19-nightly',
      '2026-12-04_09-28-14-nightly',
      'unfinished',
      'other-suite',
      'run-c',
      'run-b',
      'run-a',
      'damaged',
      'no-results',
    ]);
    const row = (n: string) => rows.find((r) => r.run === n)!.text;
    expect(row('damaged')).toMatch(/incomplete.*not valid JSON/i);
    expect(row('no-results')).toMatch(/incomplete.*no results\.json/i);
    expect(row('unfinished')).toMatch(/incomplete.*still running/i);
    expect(row('run-c')).toContain('FAILED');
    expect(row('run-b')).toMatch(/passed[\s\S]*40/i); // 40 acknowledged writes lost in async
    // Figures are rounded as the report rounds them: the outage of 1369.718364 ms reads 1370.
    for (const r of rows) expect(r.text).not.toMatch(/\d\.\d{3,}/);
    expect(row('run-b')).toContain('1370');
    // The verdict is the report's badge, coloured by outcome; an incomplete folder gets its own.
    const badges = await page.$$eval('tr[data-run]', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('.verdict')].map((b) => `${b.className}: ${b.textContent}`)),
    );
    expect(badges.map((b) => b.length)).toEqual(rows.map(() => 1));
    const badge = (n: string) => badges[rows.findIndex((r) => r.run === n)]![0];
    expect(badge('run-a')).toMatch(/^verdict pass: passed$/i);
    expect(badge('run-c')).toMatch(/^verdict fail: failed$/i);
    expect(badge('damaged')).toMatch(/^verdict incomplete: incomplete$/i);
    // A folder without a commit shows nothing there, not an empty grey code box.
    expect(await page.$$eval('code', (cs) => cs.filter((c) => !c.textContent?.trim()).length)).toBe(0);
    expect(await page.$$eval('link[rel="icon"]', (ls) => ls.length)).toBe(1);
    await page.click('th a:has-text("lost")');
    const byLost = await page.$$eval('tr[data-run]', (trs) => trs.map((tr) => tr.getAttribute('data-run')));
    expect(byLost[0]).toBe('run-b');
    await page.close();
  });

  it('leaves the browser no icon to fail on, on its pages or on a report (which declares none)', async () => {
    // Chromium asks for /favicon.ico only when requests are not intercepted, just after load; a
    // 404 there is a console error on every page.
    for (const url of [`${base}/`, `${base}/runs/run-a/`, `${base}/trend?suite=quick`]) {
      const page = await browser!.newPage();
      const seen: string[] = [];
      page.on('console', (m) => m.type() === 'error' && seen.push(m.text()));
      await page.goto(url);
      await page.waitForTimeout(800);
      expect(seen, url).toEqual([]);
      await page.close();
    }
  });

  it('keeps run names, start times and mode names on one line, also 800 px wide', async () => {
    for (const width of [1200, 800]) {
      const { page } = await open(`${base}/`, width);
      // Each token (a run name, a time, a mode) is one line box: a token broken at a hyphen has two.
      const broken = await page.$$eval('tr[data-run] td', (tds) => {
        const out: string[] = [];
        for (const td of tds) {
          const walker = td.ownerDocument.createTreeWalker(td, 4); // NodeFilter.SHOW_TEXT
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            for (const m of (n.textContent ?? '').matchAll(/[^\s,()]+/g)) {
              const range = td.ownerDocument.createRange();
              range.setStart(n, m.index!);
              range.setEnd(n, m.index! + m[0].length);
              if (range.getClientRects().length > 1) out.push(m[0]);
            }
          }
        }
        return out;
      });
      expect(broken, `at ${width} px`).toEqual([]);
      await page.close();
    }
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

    // Two runs whose folder names differ only after 18 characters: the legend still tells them apart.
    const nightly = await open(`${base}/compare?run=2026-12-04_09-28-14-nightly&run=2026-12-04_09-28-19-nightly`);
    expect(nightly.status).toBe(200);
    const chart = 'figure[data-chart="compare"] svg';
    const legend = await nightly.page.$$eval(`${chart} .role-legend-label text`, (ts) => ts.map((t) => t.textContent ?? ''));
    expect(legend).toHaveLength(2);
    expect(new Set(legend).size).toBe(2);
    for (const l of legend) expect(l).not.toContain('…');
    // A chart of lost writes beside throughput and latency.
    const titles = await nightly.page.$$eval(`${chart} .role-title-text text`, (ts) => ts.map((t) => t.textContent ?? ''));
    expect(titles.some((t) => /lost/.test(t))).toBe(true);
    // Mode names lie flat under their bars.
    const rotated = await nightly.page.$$eval(`${chart} .role-axis-label text`, (ts) =>
      ts.filter((t) => /rotate\((?!0\))/.test(t.getAttribute('transform') ?? '')).map((t) => t.textContent),
    );
    expect(rotated).toEqual([]);
    // Every bar stands clear of its frame's left, right and top edges.
    const touching = await nightly.page.$$eval(`${chart} g.role-scope`, (cells) =>
      cells.flatMap((cell) => {
        // A chart's own cell has a frame; the groups that only lay charts out have an empty one.
        const frame = cell.querySelector(':scope > g > path.background')?.getBoundingClientRect();
        if (!frame || frame.width === 0) return [];
        return [...cell.querySelectorAll('.mark-rect.role-mark path')]
          .map((b) => b.getBoundingClientRect())
          .filter((b) => b.height > 0 && (b.left < frame.left + 2 || b.right > frame.right - 2 || b.top < frame.top + 2))
          .map((b) => `${b.left},${b.top}`);
      }),
    );
    expect(touching).toEqual([]);
    // Tables say what a figure is and in what unit, not its key in results.json.
    const labels = await nightly.page.$$eval('table td:first-child', (tds) => tds.map((td) => td.textContent ?? ''));
    expect(labels.filter((l) => /[a-z][A-Z]/.test(l))).toEqual([]);
    expect(labels).toEqual(expect.arrayContaining(['p99 write latency (ms)', 'acknowledged writes lost', 'reads served by followers']));
    expect(await nightly.page.textContent('body')).toContain('42%');
    await nightly.page.close();

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
    // In run-a both modes were out 1000 ms: their points still sit apart, so neither hides the other.
    const overlaps = await trend.page.$$eval('figure[data-chart="trend"] svg g.role-scope', (cells) =>
      cells.flatMap((cell) => {
        const at = [...cell.querySelectorAll('.mark-symbol.role-mark path')].map((p) => {
          const b = p.getBoundingClientRect();
          return `${Math.round(b.x + b.width / 2)},${Math.round(b.y + b.height / 2)}`;
        });
        return at.filter((a, i) => at.indexOf(a) !== i);
      }),
    );
    expect(overlaps).toEqual([]);
    // Horizontal gridlines only, one set per chart.
    const grids = await trend.page.$$eval('figure[data-chart="trend"] svg .role-axis-grid', (g) => g.length);
    expect(grids).toBeLessThanOrEqual(4);
    await trend.page.close();
    // The one page answered 400 on purpose is the only console error.
    expect(errors.filter((e) => !e.includes('run=other-suite: Failed to load resource: the server responded with a status of 400'))).toEqual([]);
  });
});
