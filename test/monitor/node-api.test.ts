/**
 * The monitor's client for nodes (src/monitor/node-api.ts) against an HTTP server on 127.0.0.1
 * that checks signatures as a node does and answers what a test tells it: each signed call is
 * signed for the node at that address and reaches it exactly once, whatever the answer.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_HEADER, Verifier } from '../../src/lib/auth.js';
import { NodeApi } from '../../src/monitor/node-api.js';

const token = 'token-for-node-api-tests';
const short = {
  id: 'n2',
  role: 'leader',
  epoch: 1,
  lastEpoch: 1,
  lastLsn: 0,
  writtenLsn: 0,
  flushedLsn: 0,
  commitLsn: 0,
  appliedLsn: 0,
  degraded: false,
  leaseValid: true,
  upstream: null,
};

let server: http.Server;
let address: string;
let seen: Array<{ path: string; auth: string | undefined; verdict: string }> = [];
/** What the server answers to the next requests: status and JSON body (status 0: no answer). */
let answer: { status: number; body: unknown; headers?: Record<string, string> } = { status: 200, body: short };
let verifier: Verifier;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const auth = req.headers[AUTH_HEADER] as string | undefined;
      const v = verifier.verifyAdmin(auth, { method: req.method!, path: req.url!, body: Buffer.concat(chunks) });
      seen.push({ path: req.url!, auth, verdict: v.ok ? 'ok' : v.why });
      if (answer.status === 0) return; // never answers
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});
afterEach(() => {
  seen = [];
  answer = { status: 200, body: short };
});

function api(): NodeApi {
  verifier = new Verifier(token, { self: { cluster: 'c1', id: 'n2' } });
  const a = new NodeApi(token);
  a.useCluster('c1', { [address]: 'n2', '127.0.0.1:9': 'n3' });
  return a;
}

describe('NodeApi admin calls', () => {
  it('are signed for the node at the address they go to, and accepted there', async () => {
    const a = api();
    const r = await a.admin(address, 'lease', { epoch: 1, leaseMs: 1000, anchor: { boot: 'b', atMs: 1 } }, 2000);
    a.close();
    expect(r).toMatchObject({ ok: true, body: { id: 'n2', role: 'leader' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.auth).toMatch(/^v2 id=monitor to=n2 cluster=c1 /);
    expect(seen[0]!.verdict).toBe('ok');
  });

  it('answered 421 (a leader that stepped down) are sent once, and the monitor gets the node’s own answer', async () => {
    const a = api();
    answer = { status: 421, body: { error: 'node n2 is not the leader; no lease to renew', code: 'not_leader' } };
    const r = await a.admin(address, 'lease', { epoch: 1, leaseMs: 1000, anchor: { boot: 'b', atMs: 1 } }, 2000);
    a.close();
    expect(r).toEqual({ ok: false, status: 421, error: 'node n2 is not the leader; no lease to renew' });
    expect(seen.map((s) => s.verdict)).toEqual(['ok']);
  });

  it('answered with a redirect are not followed elsewhere', async () => {
    const a = api();
    answer = { status: 307, body: { error: 'moved' }, headers: { location: `http://${address}/admin/promote` } };
    const r = await a.admin(address, 'follow', { epoch: 1, upstream: '127.0.0.1:1', upstreamId: 'n1' }, 2000);
    a.close();
    expect(r).toMatchObject({ ok: false, status: 307 });
    expect(seen.map((s) => s.path)).toEqual(['/admin/follow']);
  });

  it('to an address of no known node are not sent', async () => {
    const a = api();
    const r = await a.admin('127.0.0.1:1', 'lease', { epoch: 1, leaseMs: 1000 }, 2000);
    a.close();
    expect(r).toEqual({ ok: false, status: 0, error: 'no node of this cluster is known at 127.0.0.1:1; admin calls are signed for one node' });
    expect(seen).toEqual([]);
  });

  it('time out with a one-line error, and an answer that is not a status is a failed call', async () => {
    const a = api();
    answer = { status: 0, body: undefined };
    const t0 = Date.now();
    const silent = await a.admin(address, 'lease', { epoch: 1, leaseMs: 1000 }, 200);
    expect(silent).toEqual({ ok: false, status: 0, error: 'no answer within 200 ms' });
    expect(Date.now() - t0).toBeLessThan(2000);
    answer = { status: 200, body: 'not an object' };
    const r = await a.status(address, 2000);
    a.close();
    expect(r).toMatchObject({ ok: false, status: 200, error: /malformed answer to GET \/status/ });
  });
});
