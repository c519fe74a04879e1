/**
 * A follower's position counts only once the follower confirms it. A HELLO says where the
 * follower's log ends, but that end may be appended and not yet flushed there (or about to be
 * replaced by a checkpoint): the upstream must not count it as confirmed before the first ACK.
 * It used to, which let a commit rule count a follower for records it had not made durable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { FrameType } from '../../src/kv/replication/frames.js';
import { signHello } from '../../src/lib/auth.js';
import { waitFor } from '../../src/lib/wait.js';
import { put, startCluster, status } from '../helpers/cluster.js';
import { replicationHello } from '../helpers/tcp.js';

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down({ clean: true });
  cluster = undefined;
});

describe('a follower that says HELLO but never acks', () => {
  it('is counted as having confirmed nothing', async () => {
    cluster = await startCluster({ name: 'ack', nodes: [{ id: 'n1' }], replication: { mode: 'async' } });
    const leader = cluster.endpoint('n1');
    for (let i = 0; i < 5; i++) expect((await put(leader.http, `k${i}`, 'v')).status).toBe(200);
    const st = await status(leader.http);
    const lastLsn = st.lastLsn as number;
    const epoch = st.epoch as number;

    // A follower whose log ends where the leader's does, by its own word.
    const hello = { nodeId: 'nx', lastLsn, lastEpoch: epoch };
    const proof = signHello(cluster.token, { ...hello, target: { cluster: cluster.name, upstream: 'n1' } });
    const { socket, frames } = await replicationHello(leader.repl, epoch, { ...hello, ...proof });
    try {
      expect(await waitFor(() => frames.some((f) => f.type === FrameType.welcome), 5000, 10)).toBe(true);
      const joined = await waitFor(async () => ((await status(leader.http)).followers as Array<{ id: string }>).some((f) => f.id === 'nx'), 5000, 20);
      expect(joined).toBe(true);
      const nx = ((await status(leader.http)).followers as Array<{ id: string; writtenLsn: number; flushedLsn: number; appliedLsn: number }>).find(
        (f) => f.id === 'nx',
      )!;
      expect({ written: nx.writtenLsn, flushed: nx.flushedLsn, applied: nx.appliedLsn }).toEqual({ written: 0, flushed: 0, applied: 0 });
    } finally {
      socket.destroy();
    }
  });
});
