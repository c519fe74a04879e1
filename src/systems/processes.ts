/**
 * Pausing and resuming a node's process by pid, as every system's `pause(id)` / `resume(id)` do:
 * SIGSTOP freezes the process whole (a stop-the-world pause: no timer fires, no socket is read),
 * SIGCONT lets it go on as if nothing happened.
 */
import { isRunning, signal } from '../cluster/process-control.js';
import { UsageError } from '../lib/errors.js';

/** SIGSTOP to `pid`; a UsageError naming `what` when it is not running (a paused dead node is a mistake in the schedule). */
export async function pauseProcess(pid: number, what = `process ${pid}`): Promise<void> {
  if (!pid || !(await isRunning(pid))) throw new UsageError(`${what} is not running`);
  signal(pid, 'SIGSTOP');
}

/** SIGCONT to `pid` (nothing when it is gone: resuming is how a pause heals, also after a kill). */
export function resumeProcess(pid: number): void {
  if (pid) signal(pid, 'SIGCONT');
}
