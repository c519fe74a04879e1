/**
 * The run folders `replab serve` shows: every folder under the reports directory, read through
 * results.json's parser; one that is missing it, has a damaged one, or is still running is listed
 * as incomplete with the reason, never breaks the index. Paths from a URL are resolved with the
 * symlinks followed and must stay inside the reports directory.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseResults, RESULTS_FILE, type SuiteResults } from '../suite/results.js';

export type RunEntry = { name: string; results: SuiteResults; complete: true } | { name: string; complete: false; why: string; results?: SuiteResults };

export async function listRuns(root: string): Promise<RunEntry[]> {
  const names = await fsp.readdir(root).catch(() => [] as string[]);
  const out: RunEntry[] = [];
  for (const name of names.sort()) {
    if (name === 'latest' || name.startsWith('.')) continue;
    const dir = await insideRoot(root, [name]);
    if (!dir || !(await fsp.stat(dir)).isDirectory()) continue;
    out.push(await readEntry(root, name));
  }
  return out;
}

export async function readEntry(root: string, name: string): Promise<RunEntry> {
  const file = await insideRoot(root, [name, RESULTS_FILE]);
  if (!file) return { name, complete: false, why: `no ${RESULTS_FILE}` };
  let results: SuiteResults;
  try {
    results = parseResults(await fsp.readFile(file, 'utf8'), `${name}/${RESULTS_FILE}`);
  } catch (e: unknown) {
    return { name, complete: false, why: (e as Error).message.replace(`${name}/${RESULTS_FILE}: `, '') };
  }
  if (!results.finishedAt) return { name, complete: false, why: 'still running, or stopped before it finished', results };
  return { name, results, complete: true };
}

/**
 * The real path of `segments` under `root`, or undefined when it does not exist or leaves the
 * root (a `..`, an absolute segment, or a symlink to somewhere else).
 */
export async function insideRoot(root: string, segments: string[]): Promise<string | undefined> {
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'))) return undefined;
  const realRoot = await fsp.realpath(root).catch(() => undefined);
  if (!realRoot) return undefined;
  const real = await fsp.realpath(path.join(realRoot, ...segments)).catch(() => undefined);
  if (!real || (real !== realRoot && !real.startsWith(realRoot + path.sep))) return undefined;
  return real;
}

/** Why a path is refused: 403 when it names something outside the root, 404 when there is nothing. */
export async function refusal(root: string, segments: string[]): Promise<403 | 404> {
  if (segments.some((s) => s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'))) return 403;
  const realRoot = await fsp.realpath(root).catch(() => root);
  const target = await fsp.realpath(path.join(realRoot, ...segments)).catch(() => undefined);
  return target ? 403 : 404;
}
