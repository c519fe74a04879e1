/** `replab compare RUN_A RUN_B`: per-mode differences of two suite runs; exit 1 when a limit is crossed. */
import { existsSync, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EnvironmentError, ExitCode, errnoCode, UsageError } from '../../lib/errors.js';
import { compareResults, DEFAULT_COMPARE_LIMITS, formatComparison } from '../../suite/compare.js';
import { parseResults, RESULTS_FILE, readResults, type SuiteResults } from '../../suite/results.js';

/** "20%" or "20" → 20, "off" → "off" (no limit); anything else is a usage error naming the flag. */
function percentFlag(flag: string) {
  // "off" stays a string: commander does not keep a null a parser returns.
  return (v: string): number | 'off' => {
    if (v.trim().toLowerCase() === 'off') return 'off';
    const m = /^(\d+(?:\.\d+)?)%?$/.exec(v.trim());
    if (!m) throw new UsageError(`${flag} must be a percentage like 20%, or off, got "${v}"`);
    return Number(m[1]);
  };
}

/** A flag's limit: the default when not given, none when "off". */
const limit = (flag: number | 'off' | undefined, fallback: number): number | undefined => (flag === undefined ? fallback : flag === 'off' ? undefined : flag);

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
    const code = errnoCode(e);
    if (code) throw new UsageError(`${arg}: cannot read it (${code})`);
    throw e;
  }
}

export function registerCompareCommand(program: Command): void {
  program
    .command('compare <runA> <runB>')
    .description('compare two suite runs mode by mode (run folders or results.json files); exit 1 when B regressed past a limit')
    .option(
      '--max-p99-increase <pct>',
      `fail when a mode's p99 write latency grew by more than this (default ${DEFAULT_COMPARE_LIMITS.maxP99IncreasePct}%; off: no limit)`,
      percentFlag('--max-p99-increase'),
    )
    .option(
      '--max-throughput-drop <pct>',
      `fail when a mode's throughput fell by more than this (default ${DEFAULT_COMPARE_LIMITS.maxThroughputDropPct}%; off: no limit)`,
      percentFlag('--max-throughput-drop'),
    )
    .option('--json', 'print the comparison as JSON')
    .action(async (runA: string, runB: string, o: { maxP99Increase?: number | 'off'; maxThroughputDrop?: number | 'off'; json?: boolean }) => {
      const [a, b] = [await load(runA), await load(runB)];
      const c = compareResults(a, b, {
        maxP99IncreasePct: limit(o.maxP99Increase, DEFAULT_COMPARE_LIMITS.maxP99IncreasePct),
        maxThroughputDropPct: limit(o.maxThroughputDrop, DEFAULT_COMPARE_LIMITS.maxThroughputDropPct),
      });
      if (c.modes.length === 0) throw new UsageError(`${runA} and ${runB} have no mode in common (${[...c.onlyA, ...c.onlyB].join(', ')})`);
      const label = (arg: string, r: typeof a) =>
        `${arg} (${r.suite}, ${r.startedAt}${r.git ? `, commit ${r.git.commit.slice(0, 10)}${r.git.dirty ? ' with local changes' : ''}` : ''})`;
      console.log(o.json ? JSON.stringify(c) : formatComparison(c, { a: label(runA, a), b: label(runB, b) }));
      process.exitCode = c.regressions.length ? ExitCode.invalid : ExitCode.ok;
    });
}
