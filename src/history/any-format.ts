/** Reading a history in any format replab accepts: JSON Lines, Jepsen EDN, or a Jepsen text log. */
import { promises as fsp } from 'node:fs';
import { ConfigError } from '../lib/errors.js';
import { importJepsenEdn, importJepsenLog } from './import.js';
import type { Op } from './op.js';
import { loadHistory } from './reader.js';

export type HistoryFormat = 'jsonl' | 'edn' | 'jepsen-log';

/** By extension unless `format` says: .edn → EDN, .log/.txt → Jepsen's text log, else JSON Lines. */
export async function readAnyHistory(file: string, format?: HistoryFormat): Promise<Op[]> {
  const f = format ?? (file.endsWith('.edn') ? 'edn' : file.endsWith('.log') || file.endsWith('.txt') ? 'jepsen-log' : 'jsonl');
  if (f === 'jsonl') return loadHistory(file);
  const text = await fsp.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ConfigError(`${file}: cannot read history (${e.code ?? e.message})`);
  });
  return f === 'edn' ? importJepsenEdn(text, file) : importJepsenLog(text, file);
}
