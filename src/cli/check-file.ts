/**
 * One history file checked as `replab check` does: read, refuse an empty one, guess the model,
 * run every checker with keys on threads. Used on the main thread and in the bounded worker.
 */

import { type CheckModel, type CheckResult, checkHistoryParallel } from '../checker/checker.js';
import { type HistoryFormat, readAnyHistory } from '../history/any-format.js';
import type { Op } from '../history/op.js';
import { ConfigError } from '../lib/errors.js';
import { isRecord } from '../lib/schema.js';

export interface CheckFileOptions {
  model?: CheckModel;
  format?: HistoryFormat;
  budgetMs: number;
  firstAnomaly?: boolean;
  memoryMib: number;
  threads?: number;
  /** The register's starting value (--initial); only the register model has one. */
  initial?: unknown;
}

/** Without --model: set if the history adds, kv if it appends, mutex if it acquires, multi-register for txns, register otherwise. */
export function guessModel(history: Op[]): CheckModel {
  if (history.some((o) => o.f === 'add')) return 'set';
  if (history.some((o) => o.f === 'append')) return 'kv';
  if (history.some((o) => o.f === 'acquire')) return 'mutex';
  if (history.some((o) => o.f === 'txn')) return 'multi-register';
  return 'register';
}

export async function checkFile(file: string, o: CheckFileOptions): Promise<CheckResult> {
  const history = await readAnyHistory(file, o.format);
  // An empty file proves nothing: "valid" would let a broken pipeline pass a gate.
  if (history.length === 0) throw new ConfigError(`${file}: the history has no operations`);
  const model = o.model ?? guessModel(history);
  if (o.initial !== undefined && model !== 'register' && model !== 'multi-register')
    throw new ConfigError(`${file}: --initial applies to the register and multi-register models, not ${model}`);
  if (o.initial !== undefined && model === 'multi-register' && !isRecord(o.initial))
    throw new ConfigError(`${file}: --initial for multi-register is an object of keys and values, such as {"x":0}`);
  return checkHistoryParallel(history, {
    model,
    initial: o.initial,
    budgetMsPerKey: o.budgetMs,
    firstAnomaly: o.firstAnomaly,
    memoryMib: o.memoryMib,
    threads: o.threads,
  });
}
