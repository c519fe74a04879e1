/**
 * The monitor's durable memory: the highest epoch it ever handed out, the leader and the upstream
 * map. Written atomically before any promotion acts on it, so a restarted monitor never hands out
 * an epoch twice. Events (leader down, promoted, repointed, blocked, switchover) are appended to
 * `events.jsonl` beside it with wall-clock timestamps, for reports.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../lib/durable-file.js';

export interface MonitorState {
  /** The current leader's epoch: what leases and repoints carry. */
  epoch: number;
  /** The highest epoch ever handed out (or about to be): persisted before a promotion uses it. */
  highestEpoch: number;
  leader: string;
  upstreams: Record<string, string>;
  syncStandbys: string[];
}

export interface MonitorEvent {
  /** Wall-clock milliseconds. */
  timeMs: number;
  event: string;
  [field: string]: unknown;
}

export const STATE_FILE = 'monitor-state.json';
export const EVENTS_FILE = 'events.jsonl';

export async function readMonitorState(dir: string): Promise<MonitorState | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(path.join(dir, STATE_FILE), 'utf8')) as MonitorState;
    if (!Number.isSafeInteger(v.epoch) || typeof v.leader !== 'string') throw new Error(`${path.join(dir, STATE_FILE)}: missing epoch or leader`);
    return v;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function writeMonitorState(dir: string, state: MonitorState): Promise<void> {
  await writeFileAtomic(path.join(dir, STATE_FILE), JSON.stringify(state, null, 2));
}

export async function appendEvent(dir: string, event: MonitorEvent): Promise<void> {
  await fsp.appendFile(path.join(dir, EVENTS_FILE), JSON.stringify(event) + '\n');
}

export async function readEvents(dir: string): Promise<MonitorEvent[]> {
  try {
    const text = await fsp.readFile(path.join(dir, EVENTS_FILE), 'utf8');
    return text.split('\n').filter((l) => l).map((l) => JSON.parse(l) as MonitorEvent);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
