/**
 * The docker backend: the image built offline runs the CLI; the same cluster spec with
 * `backend: docker` fails over on a leader kill without losing an acknowledged write, the old
 * leader rejoins from its volume, and a leader frozen with `docker pause` acknowledges nothing
 * after it is unpaused (fencing holds as with SIGSTOP); what an old leader rewinds inside its volume
 * reaches the host when the cluster stops.
 */

import { existsSync } from 'node:fs';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { call, closeKvClients } from '../../src/client/kv-http.js';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { dockerClient } from '../../src/docker/engine.js';
import { imageTag } from '../../src/docker/image.js';
import { readRewound } from '../../src/kv/state/rewound.js';
import { readVersion } from '../../src/lib/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { dump, OutcomeWriter, put, startCluster } from '../helpers/cluster.js';

const spec = (name: string, mode: string) => ({
  name,
  backend: 'docker',
  nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
  replication: { mode },
  heartbeatMs: 50,
  failover: { heartbeatMs: 50, failoverTimeoutMs: 800, leaseMs: 400 },
});

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down({ clean: true });
  cluster = undefined;
  closeKvClients();
});

async function waitForLeader(c: ReplabCluster, not: string): Promise<string> {
  let leader = not;
  await waitFor(
    async () => {
      leader = ((await c.monitorStatus())?.leader as string | undefined) ?? not;
      return leader !== not;
    },
    20_000,
    20,
  );
  expect(leader).not.toBe(not);
  return leader;
}

describe('docker backend', () => {
  it('the image built offline runs the CLI', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const [result] = (await dockerClient().run(imageTag(), ['--version'], out, { HostConfig: { AutoRemove: true, NetworkMode: 'host' } })) as [
      { StatusCode: number },
    ];
    expect(result.StatusCode).toBe(0);
    expect(text.trim()).toBe(readVersion());
  });

  it('leader killed under writes (semi-sync): a follower is promoted, no acknowledged write is lost, the old leader rejoins', async () => {
    cluster = await startCluster(spec('dk-fo', 'semi-sync'));
    const c = cluster;
    const client = c.client();
    const writer = new OutcomeWriter((key, value) => client.request('leader', { method: 'PUT', path: `/kv/${key}`, body: value, timeoutMs: 3000 }), {
      concurrency: 3,
    });
    await writer.waitForAcks(50);
    await c.kill('n1');
    const leader = await waitForLeader(c, 'n1');
    await writer.waitForAcks(30, 30_000, (w) => w.epoch === 2);
    await writer.stop();
    const data = await dump(c.endpoint(leader).http);
    expect(writer.acked.filter((w) => data[w.key] !== w.value)).toEqual([]);
    await c.restart('n1');
    await waitFor(async () => (await c.status('n1'))?.role === 'follower', 20_000);
    await c.waitConverged(30_000);
    expect(Object.keys(await dump(c.endpoint('n1').http)).length).toBe(Object.keys(await dump(c.endpoint(leader).http)).length);
  });

  it('async with the followers behind: the old leader rewinds its acknowledged suffix, and rewound.jsonl reaches the host on stop', async () => {
    cluster = await startCluster(spec('dk-rewind', 'async'));
    const c = cluster;
    expect((await put(c.endpoint('n1').http, 'base', 'b')).status).toBe(200);
    await c.waitConverged(30_000);
    // Followers killed, not paused: a frozen container's kernel would still take the stream in.
    await c.kill('n2');
    await c.kill('n3');
    const ahead = Array.from({ length: 10 }, (_, i) => `ahead${i}`);
    for (const k of ahead) expect((await put(c.endpoint('n1').http, k, 'a')).status).toBe(200);
    await c.kill('n1');
    await c.restart('n2');
    await c.restart('n3');
    const leader = await waitForLeader(c, 'n1');
    await c.restart('n1');
    await waitFor(async () => (await c.status('n1'))?.role === 'follower', 20_000);
    await c.waitConverged(30_000);
    const dataDir = c.endpoint('n1').dataDir;
    // The data dir is a volume: on the host there is nothing yet.
    expect(existsSync(`${dataDir}/rewound.jsonl`)).toBe(false);
    expect(leader).not.toBe('n1');
    await c.down();
    const rewound = await readRewound(dataDir);
    expect(rewound.map((r) => r.key).sort()).toEqual([...ahead].sort());
  });

  it('DOCKER_HOST as tcp:// (another address for the engine) runs the same cluster through it', async () => {
    const unix = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock';
    // A loopback TCP endpoint in front of the engine's socket, counting what goes through it.
    let connections = 0;
    const open = new Set<net.Socket>();
    const forwarder = net.createServer((c) => {
      connections++;
      open.add(c);
      c.on('close', () => open.delete(c));
      const u = net.connect(unix);
      c.pipe(u);
      u.pipe(c);
      c.on('error', () => u.destroy());
      u.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', () => r()));
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${(forwarder.address() as net.AddressInfo).port}`;
    try {
      cluster = await startCluster(spec('dk-tcp', 'async'));
      const c = cluster;
      expect((await put(c.endpoint('n1').http, 'k', 'v')).status).toBe(200);
      expect(connections).toBeGreaterThan(0);
      await c.down({ clean: true });
      cluster = undefined;
      const left = await dockerClient().listContainers({ all: true, filters: { label: [`org.replab.cluster=${c.name}`] } });
      expect(left).toEqual([]);
    } finally {
      process.env.DOCKER_HOST = saved;
      for (const c of open) c.destroy();
      await new Promise<void>((r) => forwarder.close(() => r()));
    }
  });

  it('docker pause of the leader past the failover timeout: after unpause it acknowledges nothing and follows', async () => {
    cluster = await startCluster(spec('dk-pause', 'async'));
    const c = cluster;
    const n1 = c.endpoint('n1').http;
    await c.pause('n1');
    const queued = Array.from({ length: 6 }, (_, i) => call({ address: n1, method: 'PUT', path: `/kv/q${i}`, body: 'q', timeoutMs: 20_000 }));
    const leader = await waitForLeader(c, 'n1');
    expect((await put(c.endpoint(leader).http, 'new', 'n')).status).toBe(200);
    await c.resume('n1');
    const outcomes = await Promise.all(queued);
    expect(outcomes.filter((o) => o.type === 'ok')).toEqual([]);
    await waitFor(async () => (await c.status('n1'))?.role === 'follower', 20_000);
    await c.waitConverged(30_000);
  });
});
