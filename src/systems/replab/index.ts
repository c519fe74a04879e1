/**
 * replab's own KV as a system under test: ReplabCluster (src/cluster/replab-cluster.ts) with its nodes,
 * monitor and proxy, seen through the SystemUnderTest boundary. Kill is SIGKILL of a node process,
 * pause SIGSTOP, restart the same node on the same data dir; final logs are read from each node's
 * data dir after the run (log evidence).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ReplabCluster, type UpOptions } from '../../cluster/replab-cluster.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { readEvents } from '../../monitor/state.js';
import { DISCARD_EVENTS, type EventSink } from '../events.js';
import type { LagSample, SystemUnderTest } from '../system.js';
import { keepNodeLogs } from './evidence-files.js';
import { KvDataClient } from './kv-data-client.js';

export class ReplabSystem implements SystemUnderTest {
  readonly system = 'replab' as const;

  constructor(
    readonly cluster: ReplabCluster,
    private readonly events: EventSink = DISCARD_EVENTS,
  ) {}

  static async up(spec: ClusterSpec, options: UpOptions & { events?: EventSink }): Promise<ReplabSystem> {
    return new ReplabSystem(await ReplabCluster.up(spec, options), options.events);
  }

  get stateDir(): string {
    return this.cluster.stateDir;
  }

  nodeIds(): string[] {
    return this.cluster.nodeIds();
  }

  currentLeaderId(): Promise<string> {
    return this.cluster.currentLeaderId();
  }

  links(): Record<string, string> {
    return this.cluster.links();
  }

  toxiproxy() {
    return this.cluster.toxiproxy();
  }

  kill(id: string): Promise<void> {
    return this.cluster.kill(id);
  }

  pause(id: string): Promise<void> {
    return this.cluster.pause(id);
  }

  resume(id: string): Promise<void> {
    return this.cluster.resume(id);
  }

  restart(id: string): Promise<void> {
    return this.cluster.restart(id);
  }

  simulatesPowerLoss(): boolean {
    return this.cluster.simulatesPowerLoss();
  }

  fillDisk(id: string): Promise<number> {
    return this.cluster.fillDisk(id);
  }

  freeDisk(id: string): Promise<number> {
    return this.cluster.freeDisk(id);
  }

  setClock(id: string, skew: { offsetMs: number; rate: number }): Promise<{ restarted: boolean }> {
    return this.cluster.setClock(id, skew);
  }

  switchover(id: string): Promise<unknown> {
    return this.cluster.switchover(id);
  }

  async dataClient(options: { refreshMs?: number } = {}): Promise<KvDataClient> {
    const c = new KvDataClient(this.cluster.client(options));
    await c.refresh();
    return c;
  }

  /**
   * Every follower's lag against the leader's commit LSN, asked of the follower itself, so a node
   * behind a relay shows its whole distance from the leader (each hop adds its own), not only the
   * first hop the leader sees. Milliseconds are what the follower knows of itself from the
   * leader's heartbeats (src/kv/freshness.ts). A follower that does not answer is reported as the
   * leader sees it, when it is a direct follower.
   */
  async lag(): Promise<LagSample[] | undefined> {
    const leader = await this.cluster.currentLeaderId().catch(() => undefined);
    const st = leader ? await this.cluster.status(leader, 300) : undefined;
    if (!leader || !st) return undefined;
    const others = this.cluster.nodeIds().filter((id) => id !== leader);
    const statuses = await Promise.all(others.map((id) => this.cluster.status(id, 300)));
    const out: LagSample[] = [];
    others.forEach((id, i) => {
      const f = statuses[i];
      const direct = st.followers.find((d) => d.id === id);
      if (f && f.role === 'follower') {
        const upstream = f.upstream?.id ?? undefined;
        out.push({
          leader,
          follower: id,
          lagRecords: Math.max(0, st.commitLsn - f.appliedLsn),
          lagMs: f.staleMs ?? -1,
          connected: f.upstream?.streaming ?? false,
          ...(upstream && upstream !== leader ? { upstream } : {}),
        });
      } else if (direct) out.push({ leader, follower: id, lagRecords: direct.lagRecords, lagMs: direct.lagMs, connected: direct.connected });
    });
    return out;
  }

  waitConverged(timeoutMs: number): Promise<number> {
    return this.cluster.waitConverged(timeoutMs);
  }

  down(options: { clean?: boolean } = {}): Promise<void> {
    return this.cluster.down(options);
  }

  async keepArtefacts(dir: string): Promise<Record<string, string | null>> {
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
    const logs = path.join(this.stateDir, 'logs');
    for (const f of await fsp.readdir(logs).catch(() => [])) await fsp.copyFile(path.join(logs, f), path.join(dir, 'logs', f)).catch(() => {});
    // The monitor is a process of its own that keeps its events in a file: handed on to the run's
    // sink once it has stopped, with the times it wrote.
    for (const e of await readEvents(path.join(this.stateDir, 'monitor')).catch(() => [])) this.events.emit(e);
    return keepNodeLogs(this.cluster.endpoints(), dir);
  }
}
