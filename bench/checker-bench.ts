/**
 * npm run bench:checker
 *
 * Time, keys decided and peak memory of `replab check`'s work (load + validate + every checker,
 * keys on worker threads) on histories recorded by other projects with known verdicts (the folder
 * named by REPLAB_CASES_DIR or --cases DIR, holding manifest.json; the row is skipped when neither
 * is given), on generated hard kv
 * histories (Porcupine's shape: 50 clients, 10 keys, appends and reads, valid and with lost
 * appends injected; then with puts), and on generated register histories of 10k, 100k and 1M ops.
 * Each measurement runs in a fresh child process so its peak RSS is its own.
 * Figures go to stdout and to docs/benchmarks.md (section "checker").
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckModel } from '../src/checker/checker.js';
import { DEFAULT_MEMO_MIB } from '../src/checker/linearizable.js';
import { BoundedChecker } from '../src/cli/bounded-check.js';
import type { Op } from '../src/history/op.js';
import { syntheticKvHistory, syntheticRegisterHistory } from '../src/history/synthetic.js';
import { ConfigError, HarnessError, toError, UsageError } from '../src/lib/errors.js';
import { writeBenchSection } from './report-section.js';

interface Measure {
  files: number;
  ops: number;
  loadMs: number;
  checkMs: number;
  maxRssMiB: number;
  verdicts: string[];
  keys: number;
  decided: number;
  /** Keys decided by each method (append-order, reads-from, search). */
  decidedBy: Record<string, number>;
  /** The slowest key's search, ms (0 when no key needed one). */
  /** The slowest searched key's time (ms); null when no key needed a search. */
  slowestKeyMs: number | null;
}

/** Child mode: check the given files as `replab check` does (bounded heap, keys on threads), print one JSON line. */
async function child(model: CheckModel | 'auto', files: string[]): Promise<void> {
  const loadMs = 0;
  let checkMs = 0;
  let ops = 0;
  let keys = 0;
  let decided = 0;
  let slowestKeyMs: number | null = null;
  const decidedBy: Record<string, number> = {};
  const verdicts: string[] = [];
  const checker = new BoundedChecker();
  for (const file of files) {
    const t0 = performance.now();
    const { result: r } = await checker.check(file, { model: model === 'auto' ? undefined : model, budgetMs: 10_000, memoryMib: DEFAULT_MEMO_MIB });
    checkMs += performance.now() - t0;
    ops += r.ops;
    const lin = r.linearizable && !r.linearizable.crashed ? r.linearizable : undefined;
    keys += lin?.keys ?? 0;
    decided += lin ? lin.keys - lin.unknown.length : 0;
    for (const [method, n] of Object.entries(lin?.decidedBy ?? {})) decidedBy[method] = (decidedBy[method] ?? 0) + (n ?? 0);
    for (const s of lin?.searchMs ?? []) slowestKeyMs = Math.max(slowestKeyMs ?? 0, s.ms);
    verdicts.push(String(r.valid));
  }
  await checker.close();
  const m: Measure = {
    files: files.length,
    ops,
    loadMs,
    checkMs,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    verdicts,
    keys,
    decided,
    decidedBy,
    slowestKeyMs,
  };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** "reads-from 10, search 2": how many keys each method decided. */
function methods(m: Measure): string {
  return Object.entries(m.decidedBy)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

function measure(model: string, files: string[]): Measure {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', model, ...files], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as Measure;
}

async function writeOps(history: Op[], file: string): Promise<void> {
  const out = createWriteStream(file);
  for (const op of history) if (!out.write(`${JSON.stringify(op)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((r) => out.end(() => r()));
}

interface Row {
  name: string;
  m: Measure;
  aim: string;
  met: boolean;
}

/**
 * The folder of recorded histories with known verdicts, from `--cases DIR` or REPLAB_CASES_DIR.
 * They are not part of this repository, so without either the row is left out rather than guessed.
 */
function casesDirFrom(argv: string[]): string | undefined {
  const i = argv.indexOf('--cases');
  if (i >= 0) {
    const dir = argv[i + 1];
    if (!dir || dir.startsWith('--')) throw new UsageError('--cases needs a folder holding manifest.json');
    return path.resolve(dir);
  }
  return process.env.REPLAB_CASES_DIR ? path.resolve(process.env.REPLAB_CASES_DIR) : undefined;
}

function readManifest(casesDir: string): Array<{ file: string }> {
  const file = path.join(casesDir, 'manifest.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Array<{ file: string }>;
  } catch (e: unknown) {
    throw new ConfigError(`recorded cases: cannot read ${file}: ${toError(e).message}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const casesDir = casesDirFrom(argv);
  const manifest = casesDir ? readManifest(casesDir) : undefined;
  const rows: Row[] = [];
  const add = (name: string, m: Measure, aim: string, met: boolean) => {
    rows.push({ name, m, aim, met });
    console.log(
      `${name}: ${m.ops} lines, keys decided ${m.decided}/${m.keys} (${methods(m)}), slowest searched key ${m.slowestKeyMs ?? '—'} ms, load ${m.loadMs.toFixed(0)} ms, check ${m.checkMs.toFixed(0)} ms, peak ${m.maxRssMiB.toFixed(0)} MiB, verdicts ${m.verdicts.join(' ')}`,
    );
  };
  if (casesDir && manifest) {
    const cases = measure(
      'auto',
      manifest.map((c) => path.join(casesDir, c.file)),
    );
    add(`recorded by other projects, known verdicts (${manifest.length} histories, one process)`, cases, '< 1 s', cases.loadMs + cases.checkMs < 1000);
  } else {
    console.log('recorded histories with known verdicts: skipped (set REPLAB_CASES_DIR or pass --cases DIR)');
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-checker-bench-'));
  try {
    // Porcupine-style kv: 50 clients, 10 keys, appends and reads, ~4,000 lines; valid, then with a
    // lost append injected into 3 keys.
    for (const seed of [1, 2, 3]) {
      for (const anomalies of [0, 3]) {
        const file = path.join(dir, `kv-${seed}-${anomalies}.jsonl`);
        await writeOps(syntheticKvHistory({ clients: 50, keys: 10, ops: 2000, seed, anomalies }), file);
        const m = measure('kv', [file]);
        const right = m.verdicts[0] === (anomalies ? 'false' : 'true');
        add(
          `kv appends+reads, seed ${seed}${anomalies ? ', 3 lost appends' : ', valid'}`,
          m,
          'every key decided, < 10 s, < 512 MiB',
          right && m.decided === m.keys && m.checkMs < 10_000 && m.maxRssMiB < 512,
        );
      }
    }
    // The same with 10% and 30% puts: keys with puts are decided from what their reads reveal.
    for (const puts of [0.1, 0.3]) {
      for (const seed of [1, 2, 3]) {
        for (const anomalies of [0, 3]) {
          const file = path.join(dir, `kvw-${puts}-${seed}-${anomalies}.jsonl`);
          await writeOps(syntheticKvHistory({ clients: 50, keys: 10, ops: 2000, seed, anomalies, writeProbability: puts }), file);
          const m = measure('kv', [file]);
          const right = m.verdicts[0] === (anomalies ? 'false' : 'true');
          add(
            `kv with ${puts * 100}% puts, seed ${seed}${anomalies ? ', 3 lost appends' : ', valid'}`,
            m,
            'every key decided, < 2 s, < 512 MiB',
            right && m.decided === m.keys && m.loadMs + m.checkMs < 2000 && m.maxRssMiB < 512,
          );
        }
      }
    }
    for (const ops of [10_000, 100_000, 1_000_000]) {
      const file = path.join(dir, `synthetic-${ops}.jsonl`);
      await writeOps(syntheticRegisterHistory({ keys: 10, processesPerKey: 5, ops, seed: 42 }), file);
      const m = measure('register', [file]);
      const total = m.loadMs + m.checkMs;
      add(
        `register, generated ${ops.toLocaleString('en')} ops`,
        m,
        ops === 1_000_000 ? '< 15 s, < 768 MiB' : '',
        ops === 1_000_000 ? total < 15_000 && m.maxRssMiB < 768 : m.verdicts[0] === 'true',
      );
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const md = `### Checker (\`npm run bench:checker\`)

Measured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores. Each row is one fresh process
checking as \`replab check\` does: in a worker thread with a 512 MiB heap bound (a file needing more
is checked again without one), load (stream + validate JSON Lines), then every checker, keys that
need a search on worker threads (10 s budget per key, 256 MiB of memo in all). Generated
histories: kv as Porcupine's kv tests shape them (50 clients, 10 keys, 2,000 ops, 10% of ops ten
times slower than the rest, ~2% of appends and puts indeterminate; puts where named), and registers
(10 keys, 5 processes per key). All are linearizable by construction except where a lost append is
injected. "Decided by" counts keys per method: append-order (appends and reads only), reads-from
(kv with puts: what the reads reveal is fixed, only the rest searched; registers with distinct
values, cas included: no search at all), search (the plain search). "Slowest searched key" is —
when no key needed a search (the deciders' keys are not timed one by one).

| history | history lines | keys decided | decided by | slowest searched key ms | load + check ms | peak RSS MiB | aim | met |
| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | --- |
${rows.map(({ name, m, aim, met }) => `| ${name} | ${m.ops} | ${m.decided}/${m.keys} | ${methods(m)} | ${m.slowestKeyMs ?? '—'} | ${(m.loadMs + m.checkMs).toFixed(0)} | ${m.maxRssMiB.toFixed(0)} | ${aim} | ${aim ? (met ? 'yes' : '**no**') : ''} |`).join('\n')}

${
  manifest
    ? `All ${manifest.length} recorded histories got the verdict their manifest names (asserted by test/checker/cases.test.ts).`
    : 'The row of histories recorded by other projects was skipped: REPLAB_CASES_DIR was not set.'
}
`;
  console.error(`wrote ${await writeBenchSection('checker', md)}`);
}

if (process.argv[2] === '--child') await child(process.argv[3] as CheckModel | 'auto', process.argv.slice(4));
else {
  try {
    await main(process.argv.slice(2));
  } catch (e: unknown) {
    // Bad input is one line and exit 2, as the CLI does; anything else stays a crash with its stack.
    if (!(e instanceof HarnessError)) throw e;
    console.error(`error: ${e.message}`);
    process.exitCode = e.exitCode;
  }
}
