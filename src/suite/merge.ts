/**
 * `replab merge`: shard folders of one suite (`replab run SUITE --shard i/n` on n machines) into
 * one run folder, as if one machine had run the whole matrix: the runs' folders copied side by
 * side, one results.json with every run in matrix order. Refused, naming the folder, when the
 * shards are of different suites or suite versions, when one is missing or given twice, or when
 * a shard did not finish.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../lib/errors.js';
import { RESULTS_FILE, readResults, type SuiteResults } from './results.js';
import { runFolderName } from './runner.js';

export async function mergeShards(dirs: string[], reportsRoot: string): Promise<{ dir: string; results: SuiteResults }> {
  if (dirs.length === 0) throw new UsageError('replab merge needs the shard folders to merge');
  const shards = await Promise.all(dirs.map(async (d) => ({ dir: d, results: await readResults(d) })));
  const first = shards[0]!.results;
  for (const { dir, results: r } of shards) {
    if (!r.shard) throw new UsageError(`${dir}: not a shard (its results.json has no "shard"; run with --shard i/n)`);
    if (r.suite !== first.suite) throw new UsageError(`${dir}: shard of suite "${r.suite}", but ${shards[0]!.dir} is of "${first.suite}"`);
    if (r.suiteDigest !== first.suiteDigest)
      throw new UsageError(
        `${dir}: a different version of suite "${r.suite}" than ${shards[0]!.dir} (suite digest ${r.suiteDigest} vs ${first.suiteDigest}): every shard must run the same suite file`,
      );
    if (r.shard.count !== first.shard!.count)
      throw new UsageError(`${dir}: shard ${r.shard.index}/${r.shard.count}, but ${shards[0]!.dir} is one of ${first.shard!.count}`);
    if (!r.finishedAt) throw new UsageError(`${dir}: shard ${r.shard.index}/${r.shard.count} did not finish (results.json has no finishedAt)`);
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

  const started = new Date(Math.min(...shards.map((s) => Date.parse(s.results.startedAt))));
  const dir = path.resolve(reportsRoot, `${runFolderName(first.suite, started)}-merged`);
  await fsp.mkdir(dir, { recursive: true });
  const modeOrder = first.modes.map((m) => m.name);
  const runs = shards
    .flatMap((s) => s.results.runs.map((r) => ({ run: r, from: s.dir })))
    .sort((a, b) => modeOrder.indexOf(a.run.mode) - modeOrder.indexOf(b.run.mode) || a.run.seed - b.run.seed);
  for (const { run, from } of runs) await fsp.cp(path.join(from, run.dir), path.join(dir, run.dir), { recursive: true });
  const same = <T>(pick: (r: SuiteResults) => T): T | undefined => {
    const v = shards.map((s) => JSON.stringify(pick(s.results)));
    return v.every((x) => x === v[0]) ? pick(first) : undefined;
  };
  const results: SuiteResults = {
    ...first,
    startedAt: started.toISOString(),
    finishedAt: new Date(Math.max(...shards.map((s) => Date.parse(s.results.finishedAt)))).toISOString(),
    runs: runs.map((r) => r.run),
    passed: runs.length === first.shard!.pairs && runs.every((r) => r.run.passed),
    // One machine and commit when the shards agree; otherwise the shards' own results.json say.
    machine: same((r) => r.machine),
    git: same((r) => r.git) ?? null,
    shard: undefined,
    mergedFrom: shards.sort((a, b) => a.results.shard!.index - b.results.shard!.index).map((s) => path.resolve(s.dir)),
  };
  await fsp.writeFile(path.join(dir, RESULTS_FILE), JSON.stringify(results, null, 2));
  return { dir, results };
}
