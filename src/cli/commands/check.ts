/** `replab check HISTORY`: judge a recorded history (JSON Lines, Jepsen EDN or Jepsen text log). */
import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { loadHistory } from '../../history/reader.js';
import { importJepsenEdn, importJepsenLog } from '../../history/import.js';
import { checkHistory, describeCheck, CHECK_MODELS, type CheckModel } from '../../checker/checker.js';
import { ConfigError, ExitCode } from '../../lib/errors.js';
import { choiceFlag, intFlag } from '../options.js';
import type { Op } from '../../history/op.js';

type Format = 'jsonl' | 'edn' | 'jepsen-log';

export async function readAnyHistory(file: string, format?: Format): Promise<Op[]> {
  const f = format ?? (file.endsWith('.edn') ? 'edn' : file.endsWith('.log') || file.endsWith('.txt') ? 'jepsen-log' : 'jsonl');
  if (f === 'jsonl') return loadHistory(file);
  const text = await fsp.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ConfigError(`${file}: cannot read history (${e.code ?? e.message})`);
  });
  return f === 'edn' ? importJepsenEdn(text, file) : importJepsenLog(text, file);
}

/** Without --model: set if the history adds, kv if it appends, register otherwise. */
function guessModel(history: Op[]): CheckModel {
  if (history.some((o) => o.f === 'add')) return 'set';
  if (history.some((o) => o.f === 'append')) return 'kv';
  return 'register';
}

export function registerCheckCommand(program: Command): void {
  program
    .command('check <history>')
    .description('check a history: linearizability, lost writes, stale reads, availability, latency')
    .option('--model <model>', 'register | kv | set (default: guessed from the ops)', choiceFlag('--model', CHECK_MODELS))
    .option('--format <format>', 'jsonl | edn | jepsen-log (default: by file extension)', choiceFlag('--format', ['jsonl', 'edn', 'jepsen-log'] as const))
    .option('--budget-ms <ms>', 'linearizability search time per key before "unknown"', intFlag('--budget-ms', 1), 10_000)
    .option('--json', 'print the full result as JSON')
    .action(async (file: string, o: { model?: CheckModel; format?: Format; budgetMs: number; json?: boolean }) => {
      const history = await readAnyHistory(file, o.format);
      // An empty file proves nothing: "valid" would let a broken pipeline pass a gate.
      if (history.length === 0) throw new ConfigError(`${file}: the history has no operations`);
      const result = checkHistory(history, { model: o.model ?? guessModel(history), budgetMsPerKey: o.budgetMs });
      console.log(o.json ? JSON.stringify(result, null, 2) : describeCheck(result));
      process.exitCode = result.valid === true ? ExitCode.ok : result.valid === false ? ExitCode.invalid : ExitCode.unknown;
    });

  program
    .command('import-history <input> <output>')
    .description('convert a Jepsen history.edn or Jepsen text log into replab JSON Lines')
    .option('--format <format>', 'edn | jepsen-log (default: by file extension)', choiceFlag('--format', ['edn', 'jepsen-log'] as const))
    .action(async (input: string, output: string, o: { format?: Format }) => {
      const history = await readAnyHistory(input, o.format ?? (input.endsWith('.edn') ? 'edn' : 'jepsen-log'));
      await fsp.writeFile(output, history.map((op) => JSON.stringify(op)).join('\n') + '\n');
      console.log(`wrote ${history.length} ops to ${output}`);
    });
}
