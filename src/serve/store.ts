/**
 * The run folders `replab serve` shows: every folder under the reports directory, read through
 * results.json's parser; one that is missing it, has a damaged one, or is still running is listed
 * as incomplete with the reason, never breaks the index. Paths from a URL are resolved with the
 * symlinks followed and must stay inside the reports directory.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errnoCode, toError } from '../lib/errors.js';
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
    return { name, complete: false, why: toError(e).message.replace(`${name}/${RESULTS_FILE}: `, '') };
  }
  if (!results.finishedAt) return { name, complete: false, why: 'still running, or stopped before it finished', results };
  return { name, results, complete: true };
}

/** Where a URL's path leads: an existing file or folder inside the root, nothing, or out of the root. */
export type Location = { where: 'inside'; path: string } | { where: 'missing' } | { where: 'outside' };

/** More links than this in one path is a loop (Linux's own limit is 40). */
const MAX_LINKS = 40;

/**
 * Where `segments` under `root` lead, following every symlink on the way. A link is judged by
 * where it points even when nothing is there, so a link out of the root is 'outside' whether or
 * not its target exists: answering 404 for a missing target and 403 for an existing one would
 * tell a visitor what exists elsewhere on the machine. Segments that could climb or split (`..`,
 * `/`, empty) are 'outside' too; they are never looked up.
 */
export async function locate(root: string, segments: string[]): Promise<Location> {
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'))) return { where: 'outside' };
  const realRoot = await fsp.realpath(root).catch(() => undefined);
  if (!realRoot) return { where: 'missing' };
  const walk = { links: 0 };
  let resolved: { path: string; exists: boolean };
  try {
    resolved = await follow(realRoot, segments, walk);
  } catch (e: unknown) {
    // A loop of links may pass outside on its way round: refused like any other way out.
    if (errnoCode(e) === 'ELOOP') return { where: 'outside' };
    throw e;
  }
  const prefix = realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep; // a root of "/" ends in one already
  if (resolved.path !== realRoot && !resolved.path.startsWith(prefix)) return { where: 'outside' };
  return resolved.exists ? { where: 'inside', path: resolved.path } : { where: 'missing' };
}

/**
 * `names` resolved one at a time from `dir` (a real path, free of links), the way the kernel
 * does: a link's text is resolved from the folder holding it, and `..` in it climbs from where
 * the walk really is, not from the text. Once a name is missing, the rest is joined as text: it
 * cannot hold links, and the path says where it would have been.
 */
async function follow(dir: string, names: string[], walk: { links: number }): Promise<{ path: string; exists: boolean }> {
  let cur = dir;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      cur = path.dirname(cur);
      continue;
    }
    const next = path.join(cur, name);
    const st = await fsp.lstat(next).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
      throw e;
    });
    if (!st) return { path: path.join(next, ...names.slice(i + 1)), exists: false };
    if (st.isSymbolicLink()) {
      if (++walk.links > MAX_LINKS) throw Object.assign(new Error('too many links'), { code: 'ELOOP' });
      const text = await fsp.readlink(next);
      const target = await follow(path.isAbsolute(text) ? path.parse(text).root : cur, text.split(path.sep), walk);
      if (!target.exists) return { path: path.join(target.path, ...names.slice(i + 1)), exists: false };
      cur = target.path;
    } else {
      cur = next;
    }
  }
  return { path: cur, exists: true };
}

/** The real path of `segments` under `root`, or undefined when it does not exist or leaves the root. */
export async function insideRoot(root: string, segments: string[]): Promise<string | undefined> {
  const at = await locate(root, segments);
  return at.where === 'inside' ? at.path : undefined;
}
