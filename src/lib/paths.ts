/** Where replab's own files are, wherever it runs from (src/ under vitest, dist/src/ compiled). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
  return (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
