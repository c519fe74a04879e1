/** `replab check HISTORY`: judge a recorded history (JSON Lines, Jepsen EDN or Jepsen text log). */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { CheckResult } from '../../checker/checker.js';
import { CHECK_MODELS, type CheckModel, describeCheck } from '../../checker/checker.js';
import { DEFAULT_MEMO_MIB } from '../../checker/linearizable.js';
import { type HistoryFormat, readAnyHistory } from '../../history/any-format.js';
import { ConfigError, ExitCode, HarnessError, UsageError } from '../../lib/errors.js';
import { BoundedChecker, DEFAULT_HEAP_MIB } from '../bounded-check.js';
import { choiceFlag, intFlag } from '../options.js';

type Format = HistoryFormat;

export function registerCheckCommand(program: Command): void {
  program
    .command('check <history...>')
    .description('check histories (files, or folders of them): linearizability, lost writes, stale reads, availability, latency')
    .option('--model <model>', 'register | kv | set | mutex | multi-register (default: guessed from the ops)', choiceFlag('--model', CHECK_MODELS))
    .option('--format <format>', 'jsonl | edn | jepsen-log (default: by file extension)', choiceFlag('--format', ['jsonl', 'edn', 'jepsen-log'] as const))
    .option('--budget-ms <ms>', 'linearizability search time per key before "unknown"', intFlag('--budget-ms', 1), 10_000)
    .option('--first-anomaly', 'stop at the first non-linearizable key (fastest red/green); by default every anomalous key is reported')
    .option(
      '--memory-mib <n>',
      "memory for one key's search memo (at most half the heap left); when full it is cleared and the search goes on",
      intFlag('--memory-mib', 1),
      DEFAULT_MEMO_MIB,
    )
    .option('--threads <n>', 'keys checked in parallel (default: the number of cores)', intFlag('--threads', 1))
    .option(
      '--heap-mib <n>',
      'heap bound for checking a file; a file that needs more is checked again without one',
      intFlag('--heap-mib', 64),
      DEFAULT_HEAP_MIB,
    )
    .option(
      '--initial <value>',
      "the registers' values before the first op, as JSON: a value for register (e.g. 0 for Knossos's (cas-register 0)), an object of keys for multi-register",
      jsonFlag('--initial'),
    )
    .option('--json', 'the full result as JSON (one line per file when there are several)')
    .action(
      async (
        inputs: string[],
        o: {
          model?: CheckModel;
          format?: Format;
          budgetMs: number;
          firstAnomaly?: boolean;
          memoryMib: number;
          threads?: number;
          heapMib: number;
          initial?: unknown;
          json?: boolean;
        },
      ) => {
        const files = await expandInputs(inputs);
        const bounded = new BoundedChecker(o.heapMib);
        const check = async (file: string) => {
          const r = await bounded.check(file, {
            model: o.model,
            format: o.format,
            budgetMs: o.budgetMs,
            firstAnomaly: o.firstAnomaly,
            memoryMib: o.memoryMib,
            threads: o.threads,
            initial: o.initial,
          });
          if (!r.bounded) process.stderr.write(`${file}: needed more than --heap-mib ${o.heapMib}; checked again without a bound\n`);
          return r.result;
        };
        try {
          await runChecks();
        } finally {
          await bounded.close();
        }
        async function runChecks(): Promise<void> {
          if (files.length === 1) {
            const result = await check(files[0]!);
            console.log(o.json ? JSON.stringify(result, null, 2) : describeCheck(result));
            process.exitCode = exitFor(result.valid);
            return;
          }
          // Several histories in one process: a summary row each, the worst verdict as the exit code.
          const rows: SummaryRow[] = [];
          for (const file of files) {
            const t0 = performance.now();
            try {
              const r = await check(file);
              const lin = r.linearizable && !r.linearizable.crashed ? r.linearizable : undefined;
              rows.push({
                file,
                model: r.model,
                verdict: r.valid,
                keys: lin?.keys ?? 0,
                decided: lin ? lin.keys - lin.unknown.length : 0,
                ms: performance.now() - t0,
                peakMiB: process.resourceUsage().maxRSS / 1024,
                result: r,
              });
            } catch (e: unknown) {
              if (!(e instanceof HarnessError)) throw e;
              rows.push({
                file,
                model: '-',
                verdict: 'error',
                error: e.message,
                keys: 0,
                decided: 0,
                ms: performance.now() - t0,
                peakMiB: process.resourceUsage().maxRSS / 1024,
              });
            }
            if (o.json) console.log(JSON.stringify(jsonRow(rows[rows.length - 1]!)));
          }
          if (!o.json) console.log(summaryTable(rows));
          process.exitCode = worstExit(rows.map((r) => r.verdict));
        }
      },
    );

  program
    .command('import-history <input> <output>')
    .description('convert a Jepsen history.edn or Jepsen text log into replab JSON Lines')
    .option('--format <format>', 'edn | jepsen-log (default: by file extension)', choiceFlag('--format', ['edn', 'jepsen-log'] as const))
    .action(async (input: string, output: string, o: { format?: Format }) => {
      const history = await readAnyHistory(input, o.format ?? (input.endsWith('.edn') ? 'edn' : 'jepsen-log'));
      await fsp.writeFile(output, `${history.map((op) => JSON.stringify(op)).join('\n')}\n`);
      console.log(`wrote ${history.length} ops to ${output}`);
    });
}

/** A flag whose value is JSON (`0`, `"x"`, `[1,2]`); anything else is a one-line error. */
function jsonFlag(flag: string): (raw: string) => unknown {
  return (raw) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new UsageError(`${flag} must be a JSON value (a string with its quotes: '"x"'), got "${raw.slice(0, 60)}"`);
    }
  };
}

const HISTORY_FILE = /\.(jsonl|edn|log|txt)$/;

/** Files as given; a folder stands for the history files directly inside it, sorted. */
async function expandInputs(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    const st = await fsp.stat(input).catch(() => undefined);
    if (st?.isDirectory()) {
      const names = (await fsp.readdir(input)).filter((n) => HISTORY_FILE.test(n)).sort();
      if (names.length === 0) throw new ConfigError(`${input}: a folder with no history files (*.jsonl, *.edn, *.log, *.txt)`);
      out.push(...names.map((n) => path.join(input, n)));
    } else out.push(input);
  }
  return out;
}

type Verdict = CheckResult['valid'] | 'error';

interface SummaryRow {
  file: string;
  model: string;
  verdict: Verdict;
  error?: string;
  keys: number;
  decided: number;
  ms: number;
  peakMiB: number;
  result?: CheckResult;
}

const exitFor = (v: CheckResult['valid']) => (v === true ? ExitCode.ok : v === false ? ExitCode.invalid : ExitCode.unknown);

/** Bad input outranks INVALID, which outranks unknown, which outranks valid. */
function worstExit(verdicts: Verdict[]): number {
  if (verdicts.includes('error')) return ExitCode.usage;
  if (verdicts.includes(false)) return ExitCode.invalid;
  if (verdicts.includes('unknown')) return ExitCode.unknown;
  return ExitCode.ok;
}

const verdictText = (v: Verdict) => (v === true ? 'valid' : v === false ? 'INVALID' : v === 'unknown' ? 'unknown' : 'error');

function jsonRow(r: SummaryRow): Record<string, unknown> {
  return {
    file: r.file,
    model: r.model,
    verdict: verdictText(r.verdict),
    keys: r.keys,
    keysDecided: r.decided,
    ms: Math.round(r.ms),
    peakRssMiB: Math.round(r.peakMiB),
    ...(r.error ? { error: r.error } : { result: r.result }),
  };
}

function summaryTable(rows: SummaryRow[]): string {
  const header = ['file', 'model', 'verdict', 'keys decided', 'time ms', 'peak RSS MiB'];
  const body = rows.map((r) => [
    r.file,
    r.model,
    r.verdict === 'error' ? `error: ${r.error}` : verdictText(r.verdict),
    r.verdict === 'error' ? '-' : `${r.decided}/${r.keys}`,
    r.ms.toFixed(0),
    r.peakMiB.toFixed(0),
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const lines = all.map((row) =>
    row
      .map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
  const count = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  lines.push(`${rows.length} histories: ${count(true)} valid, ${count(false)} invalid, ${count('unknown')} unknown, ${count('error')} unreadable`);
  return lines.join('\n');
}
