/** Process liveness by pid, shared by the data-dir lock (kv) and the process backend (cluster). */
import { readFileSync } from 'node:fs';

/**
 * True while the pid exists and is not a zombie. A SIGKILLed process whose parent has gone may
 * stay a zombie for a while when nothing reaps it; it holds no files or ports, so it is not running.
 */
export function isPidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}
