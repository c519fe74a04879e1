/**
 * `replab run SUITE [--gate]`: run a suite, print progress and a table per mode, write
 * reports/<timestamp>-<suite>/ (histories, results.json, logs, report.html), point reports/latest
 * at it. With --gate, exit 1 when any invariant failed, naming mode, seed, invariant and value.
 * `replab report RUN_DIR` rebuilds report.html from the files alone.
 */
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, ExitCode } from '../../lib/errors.js';
import { projectRoot } from '../../lib/paths.js';
import { buildReport } from '../../report/build.js';
import { junitXml, markdownSummary } from '../../suite/ci-output.js';
import { mergeShards } from '../../suite/merge.js';
import type { SuiteResults } from '../../suite/results.js';
import { formatGateLines, formatReadTable, formatSummaryTable, runSuite } from '../../suite/runner.js';
import { parseShard, type Shard, shardPairs } from '../../suite/shard.js';
import { loadSuite } from '../../suite/spec.js';
import { anomalyCounts, formatAnomalyCounts } from '../../suite/summary.js';

/** A suite file, or the name of one shipped with replab (`replab run quick`). */
function resolveSuite(arg: string): string {
  if (existsSync(arg) || !/^[\w-]+$/.test(arg)) return arg;
  const shipped = path.join(projectRoot(), 'suites', `${arg}.yaml`);
  if (existsSync(shipped)) return shipped;
  const names = readdirSync(path.join(projectRoot(), 'suites'))
    .filter((n) => n.endsWith('.yaml'))
    .map((n) => n.slice(0, -5));
  throw new ConfigError(`no suite file "${arg}" and no shipped suite of that name (shipped: ${names.join(', ')})`);
}

/**
 * Progress on stderr: one rewritten line on a terminal, a line per step (run and phase) or at
 * most every 5 s otherwise. The step comes from the runner, not from the line's text, because the
 * line's ETA and elapsed seconds change every second.
 */
export function progressPrinter(
  out: { isTTY?: boolean; write(s: string): unknown } = process.stderr,
  now: () => number = Date.now,
): (line: string, final: boolean, step: string) => void {
  const tty = out.isTTY;
  let last = 0;
  let lastStep = '';
  return (line, final, step) => {
    if (tty) {
      out.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
      return;
    }
    if (final || step !== lastStep || now() - last > 5000) {
      out.write(`${line}\n`);
      last = now();
      lastStep = step;
    }
  };
}

interface OutputOptions {
  gate?: boolean;
  junit?: string;
  summary?: string;
}

/** What `run` and `merge` print and write once a run folder has its results.json. */
async function finish(dir: string, results: SuiteResults, o: OutputOptions): Promise<void> {
  const report = await buildReport(dir);
  console.log(formatSummaryTable(results));
  const reads = formatReadTable(results);
  if (reads) console.log(`\nreads\n${reads}`);
  // With several seeds per mode: how many of them found each kind of anomaly.
  if (results.runs.length > results.modes.length) console.log(`\nseeds with each anomaly:\n${formatAnomalyCounts(anomalyCounts(results))}`);
  console.log(`\nreport: ${path.relative(process.cwd(), report)}\nresults: ${path.relative(process.cwd(), path.join(dir, 'results.json'))}`);
  if (o.junit) await fsp.writeFile(o.junit, junitXml(results, dir));
  const summary = o.summary ?? process.env.GITHUB_STEP_SUMMARY;
  // GitHub's step summary collects what each step appends.
  if (summary) await fsp.appendFile(summary, markdownSummary(results, dir));
  // A fault that did not start leaves a run that never saw it: say so beside the verdict.
  for (const r of results.runs) for (const e of r.nemesisErrors) console.log(`warning: ${r.mode} seed ${r.seed}: fault ${e} (did not start)`);
  const failed = results.runs.filter((r) => !r.passed);
  if (failed.length === 0) console.log(`gate: all invariants hold (${results.runs.length} runs); only these were checked:`);
  else console.log(`gate: ${failed.length} of ${results.runs.length} runs failed; what each mode's gate checked:`);
  console.log(formatGateLines(results));
  for (const r of failed)
    for (const v of r.violations) console.log(`gate: FAILED ${r.mode} seed ${r.seed}: ${v.invariant} (observed ${JSON.stringify(v.observed)})`);
  if (failed.length > 0 && o.gate) process.exitCode = ExitCode.invalid;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run <suite>')
    .description('run a suite (suites/*.yaml): every mode × seed under its nemesis, checked, with an HTML report')
    .option('--gate', 'exit 1 when any invariant of the suite fails')
    .option('--reports <dir>', 'where run folders go', 'reports')
    .option('--shard <i/n>', "run only shard i of n of the (mode × seed) matrix (merge the shards' folders with replab merge)", parseShard)
    .option('--junit <file>', 'also write JUnit XML: a testsuite per mode, a testcase per run and invariant')
    .option('--summary <file>', 'also write a markdown summary (default: $GITHUB_STEP_SUMMARY when set)')
    .action(async (file: string, o: OutputOptions & { reports: string; shard?: Shard }) => {
      const suite = await loadSuite(resolveSuite(file));
      const share = o.shard ? shardPairs(suite, o.shard).length : suite.modes.length * suite.seeds.length;
      process.stderr.write(
        `suite ${suite.name}: ${suite.modes.length} mode(s) × ${suite.seeds.length} seed(s), ${suite.durationSec} s each${o.shard ? `; shard ${o.shard.index}/${o.shard.count}: ${share} run(s)` : ''}\n`,
      );
      const { dir, results } = await runSuite(suite, { reportsRoot: o.reports, shard: o.shard, onProgress: progressPrinter() });
      await finish(dir, results, o);
    });

  program
    .command('merge <shardDirs...>')
    .description('merge the run folders of replab run --shard i/n (every shard of one suite) into one run folder and report')
    .option('--gate', 'exit 1 when any invariant of the suite fails')
    .option('--reports <dir>', 'where the merged run folder goes', 'reports')
    .option('--junit <file>', 'also write JUnit XML')
    .option('--summary <file>', 'also write a markdown summary (default: $GITHUB_STEP_SUMMARY when set)')
    .action(async (dirs: string[], o: OutputOptions & { reports: string }) => {
      const { dir, results, warnings } = await mergeShards(dirs, o.reports);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      process.stderr.write(
        `merged ${dirs.length} shard(s) of suite ${results.suite}: ${results.runs.length} run(s) into ${path.relative(process.cwd(), dir)}\n`,
      );
      await finish(dir, results, o);
    });

  program
    .command('report <runDir>')
    .description('rebuild report.html of a run folder from its files')
    .action(async (runDir: string) => {
      console.log(await buildReport(runDir));
    });
}
