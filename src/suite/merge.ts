/**
 * `replab merge`: shard folders of one suite (`replab run SUITE --shard i/n` on n machines) into
 * one run folder, as if one machine had run the whole matrix: the runs' folders copied side by
 * side, one results.json with every run in matrix order.
 *
 * A shard's results.json is a claim, not evidence; it may be damaged or edited. So merge:
 * - refuses shards of different suites or suite versions, a shard missing or given twice, and
 *   shards that disagree on the suite's modes or matrix size;
 * - copies only a run's own folder: its name must be the one run-one.ts gives it
 *   (`<mode>-seed<seed>`), directly inside the shard folder, holding plain files and folders
 *   only (a symlink could lead anywhere);
 * - requires the runs to be exactly the suite's (mode × seed) matrix, each pair once;
 * - judges every run again from its own files (reverify.ts), with the same checker and gate as
 *   `replab run`, and keeps that result, not the shard's; where the two differ it says so.
 * Every refusal is a UsageError or ConfigError (exit 2) naming the file, before anything is
 * written.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ConfigError, EnvironmentError, UsageError } from '../lib/errors.js';
import { RESULTS_FILE, type RunResult, readResults, type SuiteResults } from './results.js';
import { type Reverified, reverifyRun, runDirName } from './reverify.js';
import { runFolderName } from './runner.js';

/** As suite/spec.ts accepts them. */
const MODE_NAME = /^[A-Za-z0-9_-]{1,40}$/;

interface Shard {
  dir: string;
  /** Its results.json, for messages. */
  file: string;
  results: SuiteResults;
}

export interface MergeResult {
  dir: string;
  results: SuiteResults;
  /** Where a shard's results.json said something its run files do not show (merged from the files). */
  warnings: string[];
}

export async function mergeShards(dirs: string[], reportsRoot: string): Promise<MergeResult> {
  if (dirs.length === 0) throw new UsageError('replab merge needs the shard folders to merge');
  const shards: Shard[] = [];
  for (const d of dirs) shards.push({ dir: d, file: path.join(d, RESULTS_FILE), results: await readShardResults(d) });
  checkShardsAgree(shards);
  const first = shards[0]!.results;
  const modeOrder = first.modes.map((m) => m.name);
  const runs = collectRuns(shards);
  checkMatrix(runs, shards);
  for (const r of runs) await checkRunFolder(r.shard, r.run);

  const warnings: string[] = [];
  const judged: Array<{ run: RunResult; from: Shard; reverified: Reverified }> = [];
  for (const { run, shard } of runs) {
    const mode = first.modes.find((m) => m.name === run.mode)!;
    const reverified = await reverifyRun({ reportDir: shard.dir, mode, seed: run.seed, durationSec: first.durationSec, claimed: run, resultsFile: shard.file });
    const differs = claimDiffers(run, reverified.result);
    if (differs) warnings.push(`${shard.file}: ${run.mode} seed ${run.seed} ${differs}; merged from its files`);
    judged.push({ run: reverified.result, from: shard, reverified });
  }
  judged.sort((a, b) => modeOrder.indexOf(a.run.mode) - modeOrder.indexOf(b.run.mode) || a.run.seed - b.run.seed);

  const started = new Date(Math.min(...shards.map((s) => Date.parse(s.results.startedAt))));
  const dir = path.resolve(reportsRoot, `${runFolderName(first.suite, started)}-merged`);
  await fsp.mkdir(dir, { recursive: true });
  for (const { run, from, reverified } of judged) {
    await fsp.cp(path.join(from.dir, run.dir), path.join(dir, run.dir), { recursive: true });
    // The report reads check.json: it must describe the result merged, not what the shard kept.
    await fsp.writeFile(path.join(dir, run.dir, 'check.json'), JSON.stringify(reverified.check, null, 2));
  }
  const same = <T>(pick: (r: SuiteResults) => T): T | undefined => {
    const v = shards.map((s) => JSON.stringify(pick(s.results)));
    return v.every((x) => x === v[0]) ? pick(first) : undefined;
  };
  const results: SuiteResults = {
    ...first,
    startedAt: started.toISOString(),
    finishedAt: new Date(Math.max(...shards.map((s) => Date.parse(s.results.finishedAt)))).toISOString(),
    runs: judged.map((r) => r.run),
    // checkMatrix made sure these are all of the suite's runs.
    passed: judged.every((r) => r.run.passed),
    // One machine and commit when the shards agree; otherwise the shards' own results.json say.
    machine: same((r) => r.machine),
    git: same((r) => r.git) ?? null,
    shard: undefined,
    mergedFrom: [...shards].sort((a, b) => a.results.shard!.index - b.results.shard!.index).map((s) => path.resolve(s.dir)),
  };
  await fsp.writeFile(path.join(dir, RESULTS_FILE), JSON.stringify(results, null, 2));
  return { dir, results, warnings };
}

/** A shard's results.json: one the user named on the command line, so a damaged one is bad input. */
async function readShardResults(dir: string): Promise<SuiteResults> {
  try {
    return await readResults(dir);
  } catch (e: unknown) {
    if (e instanceof EnvironmentError) throw new UsageError(e.message);
    throw e;
  }
}

function checkShardsAgree(shards: Shard[]): void {
  const head = shards[0]!;
  const first = head.results;
  for (const { dir, file, results: r } of shards) {
    if (!r.shard) throw new UsageError(`${dir}: not a shard (its results.json has no "shard"; run with --shard i/n)`);
    // The suite's name goes into the merged folder's name and each mode's into its runs' folders:
    // a path separator in either would put them somewhere else.
    if (/[/\\\0]/.test(r.suite)) throw new UsageError(`${file}: suite ${JSON.stringify(r.suite)} is not a suite name`);
    for (const [i, m] of r.modes.entries())
      if (!MODE_NAME.test(m.name))
        throw new UsageError(`${file}: modes.${i}.name ${JSON.stringify(m.name)} is not a mode name (1-40 letters, digits, "_" or "-")`);
    for (const at of ['startedAt', 'finishedAt'] as const)
      if (r[at] && !Number.isFinite(Date.parse(r[at]))) throw new UsageError(`${file}: ${at} ${JSON.stringify(r[at])} is not a time`);
    if (r.suite !== first.suite) throw new UsageError(`${dir}: shard of suite "${r.suite}", but ${head.dir} is of "${first.suite}"`);
    if (!r.suiteDigest) throw new UsageError(`${file}: no suiteDigest, so nothing says which version of suite "${r.suite}" it ran`);
    if (r.suiteDigest !== first.suiteDigest)
      throw new UsageError(
        `${dir}: a different version of suite "${r.suite}" than ${head.dir} (suite digest ${r.suiteDigest} vs ${first.suiteDigest}): every shard must run the same suite file`,
      );
    if (r.shard.count !== first.shard!.count)
      throw new UsageError(`${dir}: shard ${r.shard.index}/${r.shard.count}, but ${head.dir} is one of ${first.shard!.count}`);
    if (!r.finishedAt) throw new UsageError(`${dir}: shard ${r.shard.index}/${r.shard.count} did not finish (results.json has no finishedAt)`);
    // Same digest, so these must match; a difference means one of the files was changed.
    if (r.shard.pairs !== first.shard!.pairs)
      throw new UsageError(`${file}: a matrix of ${r.shard.pairs} run(s), but ${head.file} says ${first.shard!.pairs} for the same suite version`);
    if (JSON.stringify(r.modes) !== JSON.stringify(first.modes))
      throw new UsageError(`${file}: its modes (names, gates, workloads) differ from those in ${head.file} for the same suite version`);
    if (r.durationSec !== first.durationSec)
      throw new UsageError(`${file}: runs of ${r.durationSec} s, but ${head.file} says ${first.durationSec} s for the same suite version`);
  }
  const count = first.shard!.count;
  const seen = new Map<number, string>();
  for (const { dir, results: r } of shards) {
    const other = seen.get(r.shard!.index);
    if (other) throw new UsageError(`shard ${r.shard!.index}/${count} given twice: ${other} and ${dir}`);
    seen.set(r.shard!.index, dir);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new UsageError(`missing shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} of suite "${first.suite}"`);
}

/** Every run each shard lists, each named by its shard's results.json; a mode the suite lacks is refused. */
function collectRuns(shards: Shard[]): Array<{ run: RunResult; shard: Shard }> {
  const modes = shards[0]!.results.modes.map((m) => m.name);
  const out: Array<{ run: RunResult; shard: Shard }> = [];
  for (const shard of shards)
    for (const [k, run] of shard.results.runs.entries()) {
      if (!modes.includes(run.mode))
        throw new UsageError(`${shard.file}: runs[${k}] is of mode "${run.mode}", which the suite does not have (${modes.join(', ')})`);
      const expected = runDirName(run.mode, run.seed);
      if (run.dir !== expected)
        throw new UsageError(
          `${shard.file}: runs[${k}].dir ${JSON.stringify(run.dir)} is not the folder of ${run.mode} seed ${run.seed} ("${expected}", directly inside the shard folder)`,
        );
      out.push({ run, shard });
    }
  return out;
}

/**
 * The runs must be exactly the suite's (mode × seed) matrix. results.json lists the modes and the
 * matrix size but not the seeds, so the seeds are those the runs hold: every mode must have run
 * each of them once, and modes × seeds must be the size every shard states.
 */
function checkMatrix(runs: Array<{ run: RunResult; shard: Shard }>, shards: Shard[]): void {
  const first = shards[0]!.results;
  const where = new Map<string, Shard>();
  for (const { run, shard } of runs) {
    const key = `${run.mode}\0${run.seed}`;
    const other = where.get(key);
    if (other === shard) throw new UsageError(`${run.mode} seed ${run.seed} is twice in ${shard.file}`);
    if (other) throw new UsageError(`${run.mode} seed ${run.seed} is in ${other.file} and in ${shard.file}: each run belongs to one shard`);
    where.set(key, shard);
  }
  // A suite has at least one seed: shards with no run at all are not a merged suite, whatever size they state.
  if (runs.length === 0) throw new UsageError(`suite "${first.suite}": none of the shards holds a run (${shards.map((s) => s.file).join(', ')})`);
  const seeds = [...new Set(runs.map((r) => r.run.seed))].sort((a, b) => a - b);
  // Shards that name the suite's seeds must all name the same ones, and hold exactly those.
  const named = first.shard!.seeds;
  if (named) {
    for (const s of shards)
      if (JSON.stringify(s.results.shard!.seeds ?? null) !== JSON.stringify(named))
        throw new UsageError(`${s.file}: seeds ${JSON.stringify(s.results.shard!.seeds ?? null)}, but ${shards[0]!.file} names ${JSON.stringify(named)}`);
    const extra = seeds.filter((s) => !named.includes(s));
    const missing = named.filter((s) => !seeds.includes(s));
    if (extra.length || missing.length)
      throw new UsageError(
        `suite "${first.suite}": the shards hold seeds ${seeds.join(', ')}, but the suite's are ${named.join(', ')}${missing.length ? ` (no run of seed ${missing.join(', ')})` : ''}`,
      );
  }
  const absent = first.modes.flatMap((m) => seeds.filter((s) => !where.has(`${m.name}\0${s}`)).map((s) => `${m.name} seed ${s}`));
  if (absent.length) throw new UsageError(`suite "${first.suite}": no run of ${absent.join(', ')} in any shard; merge needs every mode × seed`);
  const pairs = first.shard!.pairs;
  if (runs.length !== pairs)
    throw new UsageError(
      `suite "${first.suite}": the shards hold ${runs.length} run(s) (${first.modes.length} mode(s) × seeds ${seeds.join(', ') || 'none'}), but ${shards[0]!.file} says its matrix has ${pairs}`,
    );
}

/**
 * A run's folder, directly inside its shard folder, holding plain files and folders only: a
 * symlink anywhere in it could make merge read or copy something outside the shard.
 */
async function checkRunFolder(shard: Shard, run: RunResult): Promise<void> {
  const walk = async (p: string): Promise<void> => {
    const st = await fsp.lstat(p).catch((e: NodeJS.ErrnoException) => {
      throw new ConfigError(`${p}: ${e.code === 'ENOENT' ? `missing (${shard.file} lists ${run.mode} seed ${run.seed})` : `cannot read it (${e.code})`}`);
    });
    if (st.isSymbolicLink()) throw new ConfigError(`${p}: a symbolic link; merge copies only the plain files and folders a run wrote`);
    if (st.isDirectory()) {
      for (const name of await fsp.readdir(p)) await walk(path.join(p, name));
    } else if (!st.isFile()) throw new ConfigError(`${p}: neither a file nor a folder`);
  };
  const top = path.join(shard.dir, run.dir);
  await walk(top);
  if (!(await fsp.stat(top)).isDirectory())
    throw new ConfigError(`${top}: not a folder (${shard.file} lists it as the folder of ${run.mode} seed ${run.seed})`);
}

/** What the shard claimed for a run that its files do not show, in words; '' when they agree. */
function claimDiffers(claimed: RunResult, judged: RunResult): string {
  // The violations follow from the metrics and `passed`, which are compared instead.
  const keys = (Object.keys(judged) as Array<keyof RunResult>).filter((k) => k !== 'violations' && JSON.stringify(claimed[k]) !== JSON.stringify(judged[k]));
  if (keys.length === 0) return '';
  const show = (r: RunResult) => keys.map((k) => `${k} ${JSON.stringify(r[k])}`).join(', ');
  return `claims ${show(claimed)}, its files give ${show(judged)}`;
}
