/**
 * The cluster token stays secret and unauthenticated peers stay cheap, on a real 3-node cluster:
 * - state files holding the token are 0600 in a 0700 folder;
 * - a link redirected through the (unauthenticated, Toxiproxy-style) proxy API to a listener of
 *   ours sees no token, and what it captured authorises nothing else (altered, it is refused;
 *   replayed, it is refused as a replay);
 * - a flood of unauthenticated connections announcing 8 MiB frames on the replication port leaves
 *   the leader's memory where it was, and writes keep working.
 */

import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { encodeJsonFrame, FrameType } from '../../src/kv/frames.js';
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
    const request = text.slice(text.indexOf('POST /admin/lease'));
    const header = /x-replab-auth: (v1 [^\r\n]+)/i.exec(request)![1]!;
    const body = request.slice(request.indexOf('\r\n\r\n') + 4).split('POST ')[0]!;
    const http = cluster.endpoint(leader).http;
    const send = (p: string, b: string) =>
      fetch(`http://${http}${p}`, { method: 'POST', body: b, headers: { 'x-replab-auth': header, 'content-type': 'application/json' } }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as Record<string, unknown>,
      }));
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
