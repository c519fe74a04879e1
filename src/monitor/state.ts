/**
 * The monitor's durable memory: the highest epoch it ever handed out, the leader and the upstream
 * map. Written atomically before any promotion acts on it, so a restarted monitor never hands out
 * an epoch twice. Events (leader down, promoted, repointed, blocked, switchover) are appended to
 * `events.jsonl` beside it with wall-clock timestamps, for reports.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../lib/durable-file.js';
import { EnvironmentError, errnoCode, toError } from '../lib/errors.js';
import { parseJsonLines } from '../lib/json-lines.js';

export const MonitorStateSchema = z.object({
  /** The current leader's epoch: what leases and repoints carry. */
  epoch: z.number().int().nonnegative(),
  /** The highest epoch ever handed out (or about to be): persisted before a promotion uses it. */
  highestEpoch: z.number().int().nonnegative(),
  leader: z.string(),
  upstreams: z.record(z.string(), z.string()),
  syncStandbys: z.array(z.string()),
});
export type MonitorState = z.infer<typeof MonitorStateSchema>;

export const MonitorEventSchema = z.looseObject({
  /** Wall-clock milliseconds. */
  timeMs: z.number(),
  event: z.string(),
});
export type MonitorEvent = z.infer<typeof MonitorEventSchema>;

/** What to do about a damaged monitor state file (printed with the refusal). */
const DAMAGED_STATE_ADVICE =
  'the monitor refuses to guess its highest epoch (handing one out twice would allow two leaders); restore the file, or stop the cluster and start it again';

export const STATE_FILE = 'monitor-state.json';
export const EVENTS_FILE = 'events.jsonl';

/** The stored state, undefined when there is none yet; a damaged file is an EnvironmentError naming it. */
export async function readMonitorState(dir: string): Promise<MonitorState | undefined> {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e: unknown) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw new EnvironmentError(`${file}: cannot read the monitor state (${errnoCode(e) ?? toError(e).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EnvironmentError(`${file}: not valid JSON (damaged monitor state); ${DAMAGED_STATE_ADVICE}`);
  }
  const r = MonitorStateSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new EnvironmentError(
      `${file}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message} (damaged monitor state); ${DAMAGED_STATE_ADVICE}`,
    );
  }
  return r.data;
}

export async function writeMonitorState(dir: string, state: MonitorState): Promise<void> {
  await writeFileAtomic(path.join(dir, STATE_FILE), JSON.stringify(state, null, 2));
}

export async function appendEvent(dir: string, event: MonitorEvent): Promise<void> {
  await fsp.appendFile(path.join(dir, EVENTS_FILE), `${JSON.stringify(event)}\n`);
}

export async function readEvents(dir: string): Promise<MonitorEvent[]> {
  try {
    const text = await fsp.readFile(path.join(dir, EVENTS_FILE), 'utf8');
    return parseJsonLines(text, MonitorEventSchema);
  } catch (e: unknown) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}
