/**
 * The cluster token stays secret and unauthenticated peers stay cheap, on a real 3-node cluster:
 * - state files holding the token are 0600 in a 0700 folder;
 * - a link redirected through the (unauthenticated, Toxiproxy-style) proxy API to a listener of
 *   ours sees no token, and what it captured authorises nothing else (altered, it is refused;
 *   replayed, it is refused as a replay; delivered to another node than the one it was signed
 *   for, it is refused and that node keeps its role), nor does a call signed for another cluster;
 * - the monitor sends each signed call once: a leader that stepped down answers its lease renewal
 *   421, and the monitor records that answer (fetch used to resend the call, refused as a replay);
 * - a flood of unauthenticated connections announcing 8 MiB frames on the replication port leaves
 *   the leader's memory where it was, and writes keep working.
 */

import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { encodeJsonFrame, FrameType } from '../../src/kv/replication/frames.js';
import { signAdminRequest } from '../../src/lib/auth.js';
import { waitFor } from '../../src/lib/wait.js';
import { put, startCluster, stateRoot, status } from '../helpers/cluster.js';

let cluster: ReplabCluster;

beforeAll(async () => {
  cluster = await startCluster({
    name: 'secure',
    nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
    replication: { mode: 'semi-sync' },
    heartbeatMs: 50,
    failover: { heartbeatMs: 100, failoverTimeoutMs: 3000, leaseMs: 2000 },
  });
}, 60_000);
afterAll(async () => {
  await cluster?.down();
});

/** Listens on 127.0.0.1 and keeps every byte any connection sends (answering nothing). */
async function captureListener(): Promise<{ address: string; bytes: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    bytes: () => Buffer.concat(chunks),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Listens on 127.0.0.1 and forwards every connection to `target`, keeping a copy of what clients
 * send: a tap on a link that still works, so the monitor keeps talking through it.
 */
async function tapListener(target: string): Promise<{ address: string; bytes: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const [host, port] = target.split(':');
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port: Number(port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(s);
      });
    }
    client.on('data', (c) => chunks.push(c));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    bytes: () => Buffer.concat(chunks),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The first `start` request in captured HTTP bytes: its x-replab-auth header and its body. */
function capturedRequest(bytes: Buffer, start: string): { header: string; body: string } {
  const text = bytes.toString('latin1');
  const request = text.slice(text.indexOf(start));
  const head = request.slice(0, request.indexOf('\r\n\r\n'));
  const length = Number(/content-length: (\d+)/i.exec(head)![1]);
  return {
    header: /x-replab-auth: ([^\r\n]+)/i.exec(head)![1]!,
    body: request.slice(head.length + 4, head.length + 4 + length),
  };
}

/** POSTs a JSON body with a given x-replab-auth header. */
async function signedPost(address: string, urlPath: string, header: string, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://${address}${urlPath}`, {
    method: 'POST',
    body,
    headers: { 'x-replab-auth': header, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(5000),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Points proxy `name` at `upstream` through the proxy's own API (as anyone on the machine could). */
async function redirect(name: string, upstream: string): Promise<string> {
  const proxy = await cluster.toxiproxy().get(name);
  const previous = proxy.upstream;
  await proxy.update({ enabled: true, listen: proxy.listen, upstream });
  return previous;
}

/** Sends raw bytes to an address; resolves with the reply once the peer closes (or after `ms`). */
function raw(address: string, bytes: Buffer | string, ms = 2000): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host, port: Number(port) }, () => s.write(bytes));
    s.on('data', (c) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', () => {});
    setTimeout(() => s.destroy(), ms).unref();
  });
}

describe('the cluster token', () => {
  it('lives in files only its owner can read', async () => {
    const dir = path.join(stateRoot(), cluster.name);
    expect((await fsp.stat(dir)).mode & 0o777).toBe(0o700);
    expect((await fsp.stat(path.join(dir, 'state.json'))).mode & 0o777).toBe(0o600);
    expect(await fsp.readFile(path.join(dir, 'state.json'), 'utf8')).toContain(cluster.token);
  });

  it('a redirected monitor link sees signed admin calls, never the token, and what it captured authorises nothing else', async () => {
    const leader = await cluster.currentLeaderId();
    const cap = await captureListener();
    const name = `monitor:${leader}`;
    const previous = await redirect(name, cap.address);
    try {
      // The monitor renews the leader's lease every heartbeat: wait for one POST to arrive.
      expect(await waitFor(() => cap.bytes().includes('POST /admin/lease'), 10_000, 20)).toBe(true);
    } finally {
      await redirect(name, previous);
      await cap.close();
    }
    const text = cap.bytes().toString('latin1');
    expect(text).not.toContain(cluster.token);
    expect(text).not.toMatch(/authorization:/i);
    const { header, body } = capturedRequest(cap.bytes(), 'POST /admin/lease');
    expect(header).toMatch(new RegExp(`^v2 id=monitor to=${leader} cluster=${cluster.name} `));
    const http = cluster.endpoint(leader).http;
    const send = (p: string, b: string) => signedPost(http, p, header, b);
    // The same header on another action, or with another body, is refused.
    const promote = await send('/admin/promote', body);
    expect(promote.status).toBe(401);
    expect(String(promote.body.error)).toMatch(/signature does not match/);
    const longer = await send('/admin/lease', body.replace(/"leaseMs":\d+/, '"leaseMs":999999'));
    expect(longer.status).toBe(401);
    // Delivered late it does what it always said (renew the lease), once; a second time is a replay.
    await send('/admin/lease', body);
    const again = await send('/admin/lease', body);
    expect(again.status).toBe(401);
    expect(String(again.body.error)).toMatch(/replayed/);
    expect((await status(http)).role).toBe('leader');
  });

  it('a follow the monitor signed for one node, captured and replayed to the leader, is refused: the leader stays leader', async () => {
    const from = await cluster.currentLeaderId();
    const [to, victim] = ['n1', 'n2', 'n3'].filter((n) => n !== from) as [string, string];
    // Tap the monitor's link to `victim`, then move the leadership to `to`: the monitor tells
    // `victim` to follow its new leader, through the tap.
    const tap = await tapListener(cluster.endpoint(victim).http);
    const name = `monitor:${victim}`;
    const previous = await redirect(name, tap.address);
    try {
      await cluster.switchover(to);
      expect(await waitFor(() => tap.bytes().includes('POST /admin/follow'), 10_000, 20)).toBe(true);
    } finally {
      await redirect(name, previous);
      await tap.close();
    }
    const follow = capturedRequest(tap.bytes(), 'POST /admin/follow');
    const http = cluster.endpoint(to).http;
    const before = await status(http);
    expect(before.role).toBe('leader');
    const r = await signedPost(http, '/admin/follow', follow.header, follow.body);
    expect(r.status).toBe(403);
    expect(String(r.body.error)).toMatch(new RegExp(`signed for ${victim}, not for ${to}`));
    const after = await status(http);
    expect(after.role).toBe('leader');
    expect(after.epoch).toBe(before.epoch);
    expect((await put(http, 'after-follow-replay', 'x')).status).toBe(200);
    expect((await cluster.monitorStatus())?.leader).toBe(to);
  });

  it('a switchover signed for another cluster sharing the token, or for a node instead of the monitor, is refused with 403', async () => {
    const leader = await cluster.currentLeaderId();
    const to = ['n1', 'n2', 'n3'].find((n) => n !== leader)!;
    const body = JSON.stringify({ to });
    for (const [target, clusterName, why] of [
      ['monitor', 'another-cluster', /signed for cluster "another-cluster", not for this node's cluster/],
      [to, cluster.name, new RegExp(`signed for ${to}, not for monitor`)],
    ] as const) {
      const header = signAdminRequest(cluster.token, { method: 'POST', path: '/switchover', body, caller: 'cli', target, cluster: clusterName });
      const r = await signedPost(cluster.monitorHttp, '/switchover', header, body);
      expect(r.status).toBe(403);
      expect(String(r.body.error)).toMatch(why);
    }
    expect((await cluster.monitorStatus())?.leader).toBe(leader);
    expect((await status(cluster.endpoint(leader).http)).role).toBe('leader');
  });

  it('a redirected replication link sees a HELLO proof, not the token; replayed, it is refused', async () => {
    const leader = await cluster.currentLeaderId();
    const follower = ['n1', 'n2', 'n3'].find((n) => n !== leader)!;
    const cap = await captureListener();
    const name = `repl:${follower}->${leader}`;
    const previous = await redirect(name, cap.address);
    try {
      // The follower's connection is cut by the change; it dials again and sends HELLO.
      expect(await waitFor(() => cap.bytes().length > 20, 10_000, 20)).toBe(true);
    } finally {
      await redirect(name, previous);
      await cap.close();
    }
    const bytes = cap.bytes();
    expect(bytes.toString('latin1')).not.toContain(cluster.token);
    const hello = bytes.subarray(0, 4 + bytes.readUInt32BE(0));
    const repl = cluster.endpoint(leader).repl;
    // The captured HELLO may be delivered late once (the follower it names is genuine); again, no.
    await raw(repl, hello, 1000);
    expect(await raw(repl, hello)).toContain('replayed request');
    // A HELLO that carries the token the old way (no proof) is refused as well.
    const old = encodeJsonFrame(FrameType.hello, 1, { nodeId: 'evil', token: cluster.token, lastLsn: 0, lastEpoch: 0 });
    expect(await raw(repl, old)).toContain('no valid proof of the cluster token');
    // The real follower still streams.
    expect((await put(cluster.endpoint(leader).http, 'after-capture', 'x')).status).toBe(200);
    await cluster.waitConverged();
  });
});

describe('the monitor and a leader that stepped down', () => {
  it("gets the node's own answer to its next lease renewal, not a refusal of the same call sent twice", async () => {
    const leader = await cluster.currentLeaderId();
    const other = ['n1', 'n2', 'n3'].find((n) => n !== leader)!;
    const http = cluster.endpoint(leader).http;
    const t0 = Date.now();
    // A genuine follow, signed for the leader, makes it step down while the monitor still renews its lease.
    const body = JSON.stringify({ epoch: (await status(http)).epoch, upstream: cluster.endpoint(other).repl, upstreamId: other });
    const header = signAdminRequest(cluster.token, { method: 'POST', path: '/admin/follow', body, caller: 'test', target: leader, cluster: cluster.name });
    expect((await signedPost(http, '/admin/follow', header, body)).status).toBe(200);
    let unreachable: Record<string, unknown> | undefined;
    expect(
      await waitFor(
        async () => {
          const events = (await cluster.monitorStatus())?.events ?? [];
          unreachable = events.find((e) => e.event === 'leader-unreachable' && e.timeMs >= t0 && e.leader === leader);
          return unreachable !== undefined;
        },
        10_000,
        20,
      ),
    ).toBe(true);
    // The lease renewal is answered 421 not_leader. A client that resends the signed call by itself
    // (fetch does on 421) had the node refuse the copy as a replay, and reported that instead.
    expect(String(unreachable!.error)).toMatch(/is not the leader; no lease to renew/);
    await cluster.waitReady(30_000);
  });
});

/** The resident set size of a process, in MiB. */
async function rssMiB(pid: number): Promise<number> {
  const text = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(text)![1]) / 1024;
}

describe('the replication port before authentication', () => {
  it('a flood of 500 connections announcing 8 MiB frames leaves the leader within 100 MB of its memory, and writes go on', async () => {
    const leader = await cluster.currentLeaderId();
    const ep = cluster.endpoint(leader);
    const [host, port] = ep.repl.split(':');
    const baseline = await rssMiB(ep.pid);
    const payload = Buffer.alloc(8 * 1024 * 1024, 0x61);
    payload.writeUInt32BE(payload.length - 4, 0);
    let peak = baseline;
    const sampler = setInterval(
      () =>
        void rssMiB(ep.pid).then(
          (r) => (peak = Math.max(peak, r)),
          () => {},
        ),
      50,
    );
    const flood = Array.from(
      { length: 500 },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect({ host, port: Number(port) }, () => s.write(payload));
          s.on('error', () => {});
          s.on('close', () => resolve());
          setTimeout(() => s.destroy(), 15_000).unref();
        }),
    );
    // Writes during the flood still complete.
    let writes = 0;
    for (let i = 0; i < 20; i++) if ((await put(ep.http, `flood-${i}`, 'v', 5000)).status === 200) writes++;
    await Promise.all(flood);
    clearInterval(sampler);
    peak = Math.max(peak, await rssMiB(ep.pid));
    expect(writes).toBe(20);
    expect(peak - baseline, `RSS went from ${baseline.toFixed(0)} to ${peak.toFixed(0)} MiB`).toBeLessThan(100);
    expect((await status(ep.http)).role).toBe('leader');
  }, 60_000);
});
