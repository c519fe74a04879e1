/**
 * How a cluster's processes (nodes, monitor, proxy) are started and broken, by backend:
 * `process` (child processes on this machine, launcher-process.ts) or `docker` (one container
 * each, launcher-docker.ts). ReplabCluster does everything else — specs, links, waiting, state —
 * the same way for both, through addresses only.
 */
import { z } from 'zod';
/** What a started process writes to `endpoint.json` (and a launcher reports). */
export const LaunchedSchema = z.object({
  /** A host pid (for a container: its init process as the host sees it). */
  pid: z.number().int(),
  http: z.string(),
  repl: z.string().optional(),
});
export type Launched = z.infer<typeof LaunchedSchema>;

export interface LaunchOptions {
  /** Where it keeps its files: a node's data dir, the monitor's or proxy's state dir. */
  dir: string;
  logFile: string;
  /** A node's data dir lives in a named volume (docker); the monitor's and proxy's dirs are shared. */
  kind: 'node' | 'monitor' | 'proxy';
  /** Extra environment (a node under libfaketime: clock-control.ts). */
  env?: Record<string, string>;
}

export interface Launcher {
  /** Starts `what` (again, on a restart) and resolves once it serves. */
  start(what: string, args: string[], o: LaunchOptions): Promise<Launched>;
  kill(what: string, pid: number): Promise<void>;
  pause(what: string, pid: number): Promise<void>;
  resume(what: string, pid: number): Promise<void>;
  isRunning(what: string, pid: number): Promise<boolean>;
  /** Stops it for good (SIGTERM, then SIGKILL); `clean` also removes what it stored (volumes). */
  stop(what: string, pid: number, o: { clean?: boolean; logFile?: string }): Promise<void>;
}
