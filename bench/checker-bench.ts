/**
 * npm run bench:checker
 *
 * Time and peak memory of `replab check`'s work (load + validate + every checker) on the shared
 * external cases and on generated register histories of 10k, 100k and 1M ops (10 keys, 5 processes
 * per key). Each measurement runs in a fresh child process so its peak RSS is its own.
 * Figures go to stdout and to docs/benchmarks.md (section "checker").
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticRegisterHistory } from '../src/history/synthetic.js';
import { loadHistory } from '../src/history/reader.js';
import { checkHistory, type CheckModel } from '../src/checker/checker.js';
import { projectRoot } from '../src/lib/paths.js';
import { writeBenchSection } from './report-section.js';

interface Measure {
  files: number;
  ops: number;
  loadMs: number;
  checkMs: number;
  maxRssMiB: number;
  verdicts: string[];
}

/** Child mode: check the given files, print one JSON line. */
async function child(model: CheckModel | 'auto', files: string[]): Promise<void> {
  let loadMs = 0;
  let checkMs = 0;
  let ops = 0;
  const verdicts: string[] = [];
  for (const file of files) {
    const t0 = performance.now();
    const history = await loadHistory(file);
    const t1 = performance.now();
    const m = model === 'auto' ? (history.some((o) => o.f === 'append') ? 'kv' : 'register') : model;
    const r = checkHistory(history, { model: m, budgetMsPerKey: 60_000 });
    checkMs += performance.now() - t1;
    loadMs += t1 - t0;
    ops += history.length;
    verdicts.push(String(r.valid));
  }
  const m: Measure = { files: files.length, ops, loadMs, checkMs, maxRssMiB: process.resourceUsage().maxRSS / 1024, verdicts };
  process.stdout.write(JSON.stringify(m) + '\n');
}

function measure(model: string, files: string[]): Measure {
  const out = execFileSync(process.execPath, ['--max-old-space-size=4096', fileURLToPath(import.meta.url), '--child', model, ...files], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as Measure;
}

async function writeSynthetic(ops: number, file: string): Promise<void> {
  const history = syntheticRegisterHistory({ keys: 10, processesPerKey: 5, ops, seed: 42 });
  const out = createWriteStream(file);
  for (const op of history) if (!out.write(JSON.stringify(op) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((r) => out.end(() => r()));
}

async function main(): Promise<void> {
  const casesDir = path.join(projectRoot(), '..', 'shared', 'cases');
  const manifest = JSON.parse(readFileSync(path.join(casesDir, 'manifest.json'), 'utf8')) as Array<{ file: string }>;
  const rows: Array<{ name: string; m: Measure }> = [];
  const cases = measure('auto', manifest.map((c) => path.join(casesDir, c.file)));
  rows.push({ name: `shared/cases (${manifest.length} histories)`, m: cases });
  console.log(`shared cases: ${cases.ops} lines, load ${cases.loadMs.toFixed(0)} ms, check ${cases.checkMs.toFixed(0)} ms, peak ${cases.maxRssMiB.toFixed(0)} MiB`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-checker-bench-'));
  try {
    for (const ops of [10_000, 100_000, 1_000_000]) {
      const file = path.join(dir, `synthetic-${ops}.jsonl`);
      await writeSynthetic(ops, file);
      const m = measure('register', [file]);
      rows.push({ name: `generated ${ops.toLocaleString('en')} ops`, m });
      console.log(`${ops} ops: load ${m.loadMs.toFixed(0)} ms, check ${m.checkMs.toFixed(0)} ms, peak ${m.maxRssMiB.toFixed(0)} MiB, valid ${m.verdicts[0]}`);
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const md = `### Checker (\`npm run bench:checker\`)

Measured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores. Each row is one fresh process:
load (stream + validate JSON Lines) and check (linearizability per key, loss, stale reads,
availability, HdrHistogram latency). Generated histories: 10 keys, 5 processes per key, ~2% info ops,
all linearizable by construction (the checker must search them fully).

| history | ops (invocations) | history lines | load ms | check ms | total s | peak RSS MiB | aim |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${rows.map(({ name, m }, i) => `| ${name} | ${i === 0 ? '—' : name.replace(/\D/g, '')} | ${m.ops} | ${m.loadMs.toFixed(0)} | ${m.checkMs.toFixed(0)} | ${((m.loadMs + m.checkMs) / 1000).toFixed(2)} | ${m.maxRssMiB.toFixed(0)} | ${['< 5 s total', '', '< 2 s', '< 20 s, < 1 GiB'][i]} |`).join('\n')}

All ${manifest.length} shared cases got their manifest verdict (asserted by test/checker/cases.test.ts).
`;
  console.error(`wrote ${await writeBenchSection('checker', md)}`);
}

if (process.argv[2] === '--child') await child(process.argv[3] as CheckModel | 'auto', process.argv.slice(4));
else await main();
