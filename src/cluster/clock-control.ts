/**
 * Skewed node clocks through libfaketime (Debian's `faketime` package): a node of a cluster whose
 * spec asks for clock control starts with libfaketime preloaded and reading its skew from a control
 * file of its own, read again on every clock call (FAKETIME_NO_CACHE), so the clock fault can skew
 * a running node and heal it. FAKETIME_XRESET makes a change of rate count from the moment of the
 * change; without it libfaketime applies the new rate to the whole time since start, and the clock
 * leaps (backwards too) when the rate changes.
 *
 * Offsets are another matter. With FAKETIME_XRESET the libfaketime shipped by Debian reads a new
 * offset from the file only when the process starts; without it a new negative offset wraps the
 * process's raw monotonic clock around (nanoseconds as an unsigned number). So a rate changes in
 * the running process, and a changed offset takes a restart of the node (`needsRestart`).
 *
 * libfaketime skews `Date` and the monotonic clock (Node's timers and performance.now()) of a
 * dynamically linked program. It cannot reach statically linked programs or raw clock syscalls.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../lib/errors.js';

// The pthreads build: Node reads the clock from several threads (libuv's pool, V8's platform
// threads), and the plain build's unsynchronized state once let a node's monotonic clock read
// below an earlier reading during a loaded start-up (Node's `now >= timer_base` assertion).
const LIBRARY_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/faketime/libfaketimeMT.so.1',
  '/usr/local/lib/faketime/libfaketimeMT.so.1',
];

/** A clock's skew: its wall and monotonic clocks `offsetMs` ahead, running at `rate` times real time. */
export interface ClockSkew {
  offsetMs: number;
  rate: number;
}

export const NO_SKEW: ClockSkew = { offsetMs: 0, rate: 1 };

/** Where libfaketime is, or an environment error saying what to install. */
export function faketimeLibrary(): string {
  const found = process.env.REPLAB_LIBFAKETIME ?? LIBRARY_CANDIDATES.find((p) => existsSync(p));
  if (!found || !existsSync(found))
    throw new EnvironmentError(
      `the clock fault needs libfaketime (not found in ${LIBRARY_CANDIDATES.join(', ')}; set REPLAB_LIBFAKETIME to its path): apt-get install faketime`,
    );
  return found;
}

/** libfaketime's setting for `skew`: "+<seconds> x<rate>" (a zero offset must be written out). */
export function faketimeSetting(skew: ClockSkew): string {
  const secs = skew.offsetMs / 1000;
  return `${secs < 0 ? '-' : '+'}${Math.abs(secs)} x${skew.rate}`;
}

/** The control file of node `id` under the cluster's folder. */
export function clockFile(clusterDir: string, id: string): string {
  return path.join(clusterDir, 'clocks', `${id}.faketime`);
}

/** Sets node `id`'s skew; a running node reads it on its next clock call. Written whole (rename), never half. */
export async function writeSkew(file: string, skew: ClockSkew): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await fsp.writeFile(tmp, `${faketimeSetting(skew)}\n`);
  await fsp.rename(tmp, file);
}

/** The skew the file holds now (NO_SKEW when there is none or it cannot be read as ours). */
export async function readSkew(file: string): Promise<ClockSkew> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  const m = /^([+-])(\d+(?:\.\d+)?) x(\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!m) return NO_SKEW;
  return { offsetMs: Math.round(Number(m[2]) * 1000) * (m[1] === '-' ? -1 : 1), rate: Number(m[3]) };
}

/** Whether going from `before` to `after` needs the process started again (a new offset; see above). */
export function needsRestart(before: ClockSkew, after: ClockSkew): boolean {
  return before.offsetMs !== after.offsetMs;
}

/** The environment a node starts with under clock control. A restarted node keeps the skew its file holds. */
export async function skewedEnv(file: string): Promise<Record<string, string>> {
  const library = faketimeLibrary();
  if (!existsSync(file)) await writeSkew(file, NO_SKEW);
  return { LD_PRELOAD: library, FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: '1', FAKETIME_XRESET: '1' };
}
