/**
 * Benchmarks write their figures into docs/benchmarks.md between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->`, so each script owns its section and the rest of the file stays hand-written.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/lib/paths.js';

export async function writeBenchSection(name: string, markdown: string): Promise<string> {
  const file = path.join(projectRoot(), 'docs', 'benchmarks.md');
  let text = await fsp.readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const block = `${open}\n${markdown.trim()}\n${close}`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  text = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + close.length) : `${text.trimEnd()}\n\n${block}\n`;
  await fsp.writeFile(file, text);
  return file;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
