/**
 * `npm run screenshots`: the README's pictures, made from a real run. A short copy of the quick
 * suite (async, semi-sync and sync under a leader kill and a leader partition, 12 s of load each;
 * 70 s on a loaded 2-core machine), then its report and `replab serve`'s index rendered in
 * headless Chromium at 1400 px and cut to the top 1400×900 (less when the page is shorter),
 * written to docs/img/report.png and docs/img/serve-index.png.
 *
 * Needs Debian's chromium (or REPLAB_CHROMIUM naming a Chromium binary); exits 4 without it.
 * The run goes to reports/screenshots/runs, removed at the end; `--reports DIR` puts it in DIR and keeps it.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { cliEntry, projectRoot } from '../src/lib/paths.js';

const WIDTH = 1400;
const HEIGHT = 900;

function suiteText(root: string): string {
  return `name: quick
description: async vs semi-sync vs sync on 3 nodes under a leader kill and a leader partition (a short copy of suites/quick.yaml)
cluster: ${path.join(root, 'clusters', 'three-node.yaml')}
clusterOverrides:
  heartbeatMs: 50
  failover: {heartbeatMs: 100, failoverTimeoutMs: 1000, leaseMs: 500}
workload: ${path.join(root, 'workloads', 'register.yaml')}
workloadOverrides: {concurrency: 8, keys: 8, rateOpsPerSec: 400, timeoutMs: 1000}
durationSec: 12
nemesis:
  - {fault: kill, target: leader, at: 2s, for: 3s}
  - {fault: partition, target: leader, cut: [repl, monitor], at: 6s, for: 4s}
modes:
  - {name: async, replication: {mode: async}}
  - {name: semi-sync, replication: {mode: semi-sync, k: 1, onSyncTimeout: block}}
  - {name: sync, replication: {mode: sync}}
gate:
  "*": [splitBrainWrites == 0]
  semi-sync: [lostAcked == 0, linearizable]
  sync: [lostAcked == 0, linearizable]
`;
}

/** Runs the CLI in `cwd` with its output passed through; resolves with its exit code. */
function run(args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry(), ...args], { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** `replab serve --port 0` on the folder (from `cwd`), and the address it printed. */
async function serve(reports: string, cwd: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [cliEntry(), 'serve', '--reports', reports, '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`replab serve printed no address within 30 s: ${out}`)), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`replab serve exited ${code}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function main(): Promise<void> {
  const executablePath = process.env.REPLAB_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!executablePath) {
    console.error('error: no Chromium found (apt-get install -y chromium, or set REPLAB_CHROMIUM)');
    process.exit(4);
  }
  const root = projectRoot();
  const at = process.argv.indexOf('--reports');
  const kept = at >= 0 ? process.argv[at + 1] : undefined;
  // Inside the checkout (reports/ is not committed), and run from its root: the pages then show
  // short paths and results.json the commit the pictures were made from.
  const work = path.join(root, 'reports', 'screenshots');
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  const reports = kept ? path.resolve(kept) : path.join('reports', 'screenshots', 'runs');
  const out = path.join(root, 'docs', 'img');
  await fsp.mkdir(out, { recursive: true });
  try {
    await fsp.writeFile(path.join(work, 'quick-12s.yaml'), suiteText(root));
    // Exit 1 is a gate that failed: still a report worth a picture.
    const code = await run(['run', path.join('reports', 'screenshots', 'quick-12s.yaml'), '--reports', reports], root);
    if (code !== 0 && code !== 1) throw new Error(`replab run exited ${code}`);
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    const server = await serve(reports, root);
    try {
      const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT } });
      const shots: Array<[string, string]> = [
        [`file://${path.resolve(root, reports, 'latest', 'report.html')}`, 'report.png'],
        [server.url, 'serve-index.png'],
      ];
      for (const [url, file] of shots) {
        await page.goto(url);
        // The top of the page, or all of it when it is shorter (serve's index of one run is).
        const height = Math.min(HEIGHT, Number(await page.evaluate('Math.ceil(document.body.getBoundingClientRect().bottom) + 32')));
        await page.screenshot({ path: path.join(out, file), clip: { x: 0, y: 0, width: WIDTH, height } });
        console.log(`wrote ${path.relative(root, path.join(out, file))}`);
      }
    } finally {
      server.stop();
      await browser.close();
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
