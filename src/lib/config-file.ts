/**
 * Reading a config file (cluster spec, workload, suite, monitor config) into a plain value, with
 * the one-line errors replab promises: which file, what it should have been, what went wrong.
 * Validation of the value itself is the caller's (zod schemas).
 */
import { promises as fsp } from 'node:fs';
import YAML from 'yaml';
import { ConfigError, errnoCode, toError } from './errors.js';

export async function readConfigFile(file: string, what: string, format: 'yaml' | 'json' = 'yaml'): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e: unknown) {
    throw new ConfigError(`${file}: cannot read ${what} (${errnoCode(e) ?? toError(e).message})`);
  }
  try {
    return format === 'json' ? JSON.parse(text) : YAML.parse(text);
  } catch (e: unknown) {
    throw new ConfigError(`${file}: not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${toError(e).message.split('\n')[0]}`);
  }
}
