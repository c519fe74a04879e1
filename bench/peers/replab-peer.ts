/**
 * replab's KV as bench:peers runs it: clusters/three-node.yaml (a leader and two direct followers,
 * each its own process fsyncing its own WAL, replication through the cluster's fault proxy, the
 * monitor renewing the lease), started fresh for each mode. Acks at `flush`: semi-sync and sync
 * answer only after the follower(s) fdatasynced the write.
 */

import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { loadClusterSpec } from '../../src/cluster/spec.js';
import { projectRoot } from '../../src/lib/paths.js';
import { RawHttpClient } from '../lib/raw-http.js';
import type { Peer, PeerConnection, PeerMode, PeerProcessRole } from './peer.js';

export class ReplabPeer implements Peer {
  readonly name = 'replab KV';
  private cluster: ReplabCluster | undefined;
  private stateRoot = '';
  private leader = '';

  promise(mode: PeerMode): string {
    return mode === 'async'
      ? 'leader fdatasync'
      : mode === 'semi-sync'
        ? 'leader fdatasync + 1 follower fdatasync (k=1, flush)'
        : 'leader fdatasync + 2 followers fdatasync (flush)';
  }

  async use(mode: PeerMode): Promise<void> {
    await this.stop();
    const spec = await loadClusterSpec(path.join(projectRoot(), 'clusters', 'three-node.yaml'));
    this.stateRoot = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-peers-kv-'));
    this.cluster = await ReplabCluster.up({ ...spec, name: 'peers-bench' }, { stateRoot: this.stateRoot, mode });
    this.leader = this.cluster.endpoint(this.cluster.leaderId()).http;
  }

  async connect(): Promise<PeerConnection> {
    const c = await RawHttpClient.connect(this.leader);
    return {
      write: async (key, value) => {
        const a = await c.put(`/kv/${key}`, value);
        if (a.status < 200 || a.status >= 300) throw new Error(`HTTP ${a.status}: ${a.body.slice(0, 200)}`);
      },
      close: () => c.close(),
    };
  }

  processes(): Array<{ name: PeerProcessRole; pid: number }> {
    const c = this.cluster;
    if (!c) return [];
    const leader = c.leaderId();
    return c
      .processes()
      .map((p) => ({ name: p.name === leader ? 'primary' : p.name === 'proxy' || p.name === 'monitor' ? 'harness' : 'replicas', pid: p.pid }));
  }

  async stop(): Promise<void> {
    const c = this.cluster;
    this.cluster = undefined;
    if (c) await c.down({ clean: true });
    if (this.stateRoot) await fsp.rm(this.stateRoot, { recursive: true, force: true });
    this.stateRoot = '';
  }
}
