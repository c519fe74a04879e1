/**
 * Nodes in one process on the simulated clock, network and disk (src/sim/): each node gets the
 * network as its own host sees it, so a test can partition two nodes by name. No process, no
 * socket, no file, no real wait: time moves when the test advances it.
 */
import { DEFAULT_COMMIT, type NodeConfig } from '../../src/kv/config.js';
import { KvNode } from '../../src/kv/node/node.js';
import type { Clock } from '../../src/lib/io/clock.js';
import type { Io } from '../../src/lib/io/io.js';
import { silentLogger } from '../../src/lib/log.js';
import { SimClock } from '../../src/sim/clock.js';
import { SimDisk } from '../../src/sim/disk.js';
import { SimNetwork } from '../../src/sim/network.js';

export const REPL_PORT = 7100;

export class SimWorld {
  readonly clock = new SimClock();
  readonly network = new SimNetwork(this.clock);
  readonly disks = new Map<string, SimDisk>();
  readonly nodes: KvNode[] = [];

  /** A node `id` on its own disk, listening for replication on `id`:REPL_PORT; `clock`: its own view of time (a skewed one), by default the world's. */
  node(id: string, settings: Partial<NodeConfig> = {}, clock: Clock = this.clock): KvNode {
    const disk = this.disks.get(id) ?? new SimDisk(undefined, this.clock);
    this.disks.set(id, disk);
    const config: NodeConfig = {
      ...DEFAULT_COMMIT,
      id,
      cluster: 'sim',
      dataDir: `/data/${id}`,
      role: 'follower',
      httpHost: id,
      httpPort: 8000,
      replHost: id,
      replPort: REPL_PORT,
      upstream: undefined,
      upstreamId: undefined,
      token: 'sim-token',
      checkpointBytes: 64 * 1024 * 1024,
      segmentBytes: 64 * 1024,
      heartbeatMs: 100,
      fencing: 'lease',
      applyDelayMs: 0,
      syncDelayMs: 0,
      simulatePowerLoss: false,
      ...settings,
    };
    const io: Io = { clock, network: this.network.host(id), disk };
    const node = new KvNode(config, silentLogger(), io);
    node.httpAddress = `${id}:8000`;
    this.nodes.push(node);
    return node;
  }

  /** A follower of `upstream` (by id). */
  follower(id: string, upstream: string, settings: Partial<NodeConfig> = {}): KvNode {
    return this.node(id, { role: 'follower', upstream: `${upstream}:${REPL_PORT}`, upstreamId: upstream, ...settings });
  }

  /** Awaits `work` while simulated time runs (a node's call that needs its timers or I/O to finish). */
  run<T>(work: Promise<T>): Promise<T> {
    return this.clock.run(work);
  }

  async openAll(): Promise<void> {
    for (const n of this.nodes) await this.run(n.open());
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await this.run(n.close());
    await this.clock.settle();
  }
}
