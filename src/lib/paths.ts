/** Where replab's own files are, wherever it runs from (src/ under vitest, dist/src/ compiled). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError, errnoCode, toError } from './errors.js';
import { isRecord } from './schema.js';

let root: string | undefined;

export function projectRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find replab package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  root = dir;
  return dir;
}

/** The compiled CLI that child processes run (`npm run build` writes it). */
export function cliEntry(): string {
  return path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
}

/** replab's version, from its package.json. */
export function readVersion(): string {
  const file = path.join(projectRoot(), 'package.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e: unknown) {
    throw new EnvironmentError(`${file}: cannot read replab's version (${errnoCode(e) ?? toError(e).message})`);
  }
  const version = isRecord(parsed) ? parsed.version : undefined;
  if (typeof version !== 'string') throw new EnvironmentError(`${file}: "version" is not a string, got ${JSON.stringify(version)}`);
  return version;
}
