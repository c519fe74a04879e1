/**
 * A follower's HELLO is signed for the upstream it dials and for the cluster. The fault proxy's API
 * can point any link anywhere, so a HELLO captured on its way to n1 could otherwise be replayed
 * to n2 (it used to be answered WELCOME, and n2 streamed its log to whoever sent it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { ErrorBodySchema, parseBody } from '../../src/kv/replication/bodies.js';
import { type Frame, FrameType } from '../../src/kv/replication/frames.js';
import { signHello } from '../../src/lib/auth.js';
import { waitFor } from '../../src/lib/wait.js';
import { startCluster, status } from '../helpers/cluster.js';
import { replicationHello } from '../helpers/tcp.js';

let cluster: ReplabCluster;
beforeAll(async () => {
  cluster = await startCluster({ name: 'hello', nodes: [{ id: 'n1' }, { id: 'n2' }], replication: { mode: 'async' } });
});
afterAll(async () => {
  await cluster?.down({ clean: true });
});

/** Sends a HELLO to `repl` and returns the first frame the node answers with. */
async function hello(repl: string, signedFor: { cluster: string; upstream: string } | undefined): Promise<Frame> {
  const st = await status(cluster.endpoint('n1').http);
  const body = { nodeId: 'nx', lastLsn: 0, lastEpoch: 0 };
  const proof = signHello(cluster.token, { ...body, ...(signedFor ? { target: signedFor } : {}) });
  const { socket, frames } = await replicationHello(repl, st.epoch as number, { ...body, ...proof });
  try {
    expect(await waitFor(() => frames.length > 0, 5000, 10)).toBe(true);
    return frames[0]!;
  } finally {
    socket.destroy();
  }
}

describe('a HELLO is bound to its upstream and cluster', () => {
  it('is welcomed by the node it was signed for', async () => {
    const f = await hello(cluster.endpoint('n2').repl, { cluster: cluster.name, upstream: 'n2' });
    expect(f.type).toBe(FrameType.welcome);
  });

  it('is refused by another node, by the same node of another cluster, and unbound', async () => {
    for (const [signedFor, why] of [
      [{ cluster: cluster.name, upstream: 'n1' }, /signed for upstream n1, not for n2/],
      [{ cluster: 'another', upstream: 'n2' }, /cluster "another"/],
      [undefined, /not bound/],
    ] as const) {
      const f = await hello(cluster.endpoint('n2').repl, signedFor);
      expect(f.type, JSON.stringify(signedFor)).toBe(FrameType.error);
      expect(parseBody(f, ErrorBodySchema).error).toMatch(why);
    }
  });
});
