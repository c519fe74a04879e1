/** Process liveness by pid, shared by the data-dir lock (kv) and the process backend (cluster). */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * True while the pid exists and is not a finished zombie. A SIGKILLed process whose parent has
 * gone may stay a zombie when nothing reaps it; once it holds no files (so no ports) it is not
 * running. But the thread-group leader shows "Z" before its other threads have exited, and until
 * they have, the process's sockets stay open (a connect to its port still succeeds): a zombie
 * leader counts as running while /proc/<pid>/task lists other threads.
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
    if (state !== 'Z' && state !== 'X') return true;
  } catch {
    return true;
  }
  try {
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false; // reaped meanwhile
  }
}
