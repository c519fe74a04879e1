/** `replab compare RUN_A RUN_B`: per-mode differences of two suite runs; exit 1 when a limit is crossed. */
import { existsSync, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EnvironmentError, ExitCode, UsageError } from '../../lib/errors.js';
import { compareResults, formatComparison } from '../../suite/compare.js';
import { parseResults, RESULTS_FILE, readResults, type SuiteResults } from '../../suite/results.js';

/** "20%" or "20" → 20; anything else is a usage error naming the flag. */
function percentFlag(flag: string) {
  return (v: string): number => {
    const m = /^(\d+(?:\.\d+)?)%?$/.exec(v.trim());
    if (!m) throw new UsageError(`${flag} must be a percentage like 20%, got "${v}"`);
    return Number(m[1]);
  };
}

/**
 * A run folder (with results.json) or a results.json file. The results readers call a damaged
 * file an environment failure (exit 4), which is right for a run folder replab wrote itself; here
 * the file is what the user named on the command line, so anything wrong with it is bad input.
 */
async function load(arg: string): Promise<SuiteResults> {
  if (!existsSync(arg)) throw new UsageError(`${arg}: no such run folder or results file`);
  try {
    if (statSync(arg).isDirectory()) {
      if (!existsSync(path.join(arg, RESULTS_FILE))) throw new UsageError(`${arg}: not a run folder (no ${RESULTS_FILE})`);
      return await readResults(arg);
    }
    return parseResults(await fsp.readFile(arg, 'utf8'), arg);
  } catch (e: unknown) {
    if (e instanceof UsageError) throw e;
    if (e instanceof EnvironmentError) throw new UsageError(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new UsageError(`${arg}: cannot read it (${code})`);
    throw e;
  }
}

export function registerCompareCommand(program: Command): void {
  program
    .command('compare <runA> <runB>')
    .description('compare two suite runs mode by mode (run folders or results.json files); exit 1 when B regressed past a limit')
    .option('--max-p99-increase <pct>', "fail when a mode's p99 write latency grew by more than this (e.g. 20%)", percentFlag('--max-p99-increase'))
    .option('--max-throughput-drop <pct>', "fail when a mode's throughput fell by more than this (e.g. 10%)", percentFlag('--max-throughput-drop'))
    .option('--json', 'print the comparison as JSON')
    .action(async (runA: string, runB: string, o: { maxP99Increase?: number; maxThroughputDrop?: number; json?: boolean }) => {
      const [a, b] = [await load(runA), await load(runB)];
      const c = compareResults(a, b, { maxP99IncreasePct: o.maxP99Increase, maxThroughputDropPct: o.maxThroughputDrop });
      if (c.modes.length === 0) throw new UsageError(`${runA} and ${runB} have no mode in common (${[...c.onlyA, ...c.onlyB].join(', ')})`);
      const label = (arg: string, r: typeof a) =>
        `${arg} (${r.suite}, ${r.startedAt}${r.git ? `, commit ${r.git.commit.slice(0, 10)}${r.git.dirty ? ' with local changes' : ''}` : ''})`;
      console.log(o.json ? JSON.stringify(c) : formatComparison(c, { a: label(runA, a), b: label(runB, b) }));
      process.exitCode = c.regressions.length ? ExitCode.invalid : ExitCode.ok;
    });
}
