/**
 * Garbage on either port gets a clear error, changes nothing and leaves the node serving: checked
 * against a real leader process by comparing its whole state and LSN before and after. Requests a
 * web page could make a browser send are refused (403) by the node, the monitor and the router
 * before their body is read, and JSON endpoints sent as text/plain are 415.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/client/kv-http.js';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { encodeJsonFrame, FrameType } from '../../src/kv/replication/frames.js';
import { AUTH_HEADER, signAdminRequest, signHello } from '../../src/lib/auth.js';
import { silentLogger } from '../../src/lib/log.js';
import { Router } from '../../src/router/router.js';
import { dump, get, put, request, startCluster, status } from '../helpers/cluster.js';

let cluster: ReplabCluster;
let leader: string;
let before: { data: Record<string, string>; lsn: unknown };

beforeAll(async () => {
  cluster = await startCluster({ name: 'badinput', nodes: [{ id: 'n1' }, { id: 'n2' }], replication: { mode: 'semi-sync' }, heartbeatMs: 50 });
  leader = cluster.endpoint('n1').http;
  expect((await put(leader, 'keep', 'me')).status).toBe(200);
  before = { data: await dump(leader), lsn: (await status(leader)).lastLsn };
});
afterAll(async () => {
  await cluster?.down();
});

/** The x-replab-auth header of an admin call from "test" to `target` (a node id or "monitor") in this cluster. */
function signedFor(target: string, urlPath: string, body: string, token = cluster.token, clusterName = cluster.name): Record<string, string> {
  return { [AUTH_HEADER]: signAdminRequest(token, { method: 'POST', path: urlPath, body, caller: 'test', target, cluster: clusterName }) };
}

async function expectUnchanged(): Promise<void> {
  expect(await dump(leader)).toEqual(before.data);
  expect((await status(leader)).lastLsn).toBe(before.lsn);
  expect(await cluster.isRunning('n1')).toBe(true);
}

/** Sends raw bytes, returns what came back before the peer closed (or after `ms`). */
function raw(address: string, bytes: Buffer | string, ms = 1500): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host, port: Number(port) }, () => s.write(bytes));
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    s.on('data', (c) => chunks.push(c));
    s.on('close', done);
    s.on('error', () => {});
    setTimeout(() => s.destroy(), ms).unref();
  });
}

describe('node: bad input on the HTTP port', () => {
  it.each([
    ['POST', '/kv/keep/cas', '{"expected": "me"', 400, 'bad_request'],
    ['POST', '/kv/keep/cas', '{"expected": 5, "value": "x"}', 400, 'bad_request'],
    ['POST', '/kv/keep/cas', '[]', 400, 'bad_request'],
    ['POST', '/kv/keep/cas', '{"value": "x"}', 400, 'bad_request'],
    ['PATCH', '/kv/keep', 'x', 405, 'method_not_allowed'],
    ['GET', '/nothing/here', undefined, 404, 'unknown_route'],
    ['GET', '/kv/%E0%A4%A', undefined, 400, 'bad_request'],
    ['GET', '/kv/keep?consistency=maybe', undefined, 400, 'bad_request'],
    ['PUT', `/kv/${'k'.repeat(2000)}`, 'x', 400, 'bad_request'],
  ])('%s %s → %i %s', async (method, path, body, code, name) => {
    const r = await request(leader, method, path, body);
    expect(r.status).toBe(code);
    expect(r.body.code).toBe(name);
    expect(typeof r.body.error).toBe('string');
    await expectUnchanged();
  });

  it('a value over 1 MiB is refused with 413; exactly 1 MiB is accepted', async () => {
    const r = await request(leader, 'PUT', '/kv/big', 'x'.repeat(1024 * 1024 + 1));
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('value_too_large');
    await expectUnchanged();
    const ok = await request(leader, 'PUT', '/kv/big', 'y'.repeat(1024 * 1024));
    expect(ok.status).toBe(200);
    expect((await request(leader, 'DELETE', '/kv/big')).status).toBe(200);
    before = { data: await dump(leader), lsn: (await status(leader)).lastLsn };
  });

  it('invalid UTF-8 in a value is refused', async () => {
    const res = await fetch(`http://${leader}/kv/bin`, { method: 'PUT', body: Buffer.from([0xff, 0xfe, 0x00]) });
    expect(res.status).toBe(400);
    await expectUnchanged();
  });

  it('malformed HTTP gets a 400 and the node keeps serving', async () => {
    const reply = await raw(leader, 'THIS IS NOT HTTP\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    await expectUnchanged();
  });
});

describe('node: bad admin calls', () => {
  const admin = (action: string, body: string, token = cluster.token) =>
    fetch(`http://${leader}/admin/${action}`, {
      method: 'POST',
      body,
      headers: { ...signedFor('n1', `/admin/${action}`, body, token), 'content-type': 'application/json' },
      signal: AbortSignal.timeout(5000),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  it.each([
    ['lease', '{"epoch":1,"leaseMs":1000,"sentAtMs":0}', 'wrong-token', 401, /wrong cluster token/],
    ['lease', 'not json', undefined, 400, /JSON object/],
    ['lease', '{"epoch":-1,"leaseMs":1000,"sentAtMs":0}', undefined, 400, /"epoch" must be a non-negative integer/],
    ['lease', '{"epoch":0,"leaseMs":1000,"sentAtMs":0}', undefined, 409, /from epoch 0 refused: node n1 is at epoch 1/],
    ['promote', '{"epoch":0,"leaseMs":1000,"sentAtMs":0}', undefined, 409, /promote to epoch 0 refused/],
    ['follow', '{"epoch":1,"upstream":"nowhere"}', undefined, 400, /"upstream" must be a host:port/],
    ['fence', '{"epoch":1,"fenced":"yes"}', undefined, 400, /"fenced" must be true or false/],
    ['explode', '{"epoch":1}', undefined, 404, /no admin action "explode"/],
  ])('%s %s (token %s) → %i', async (action, body, token, code, message) => {
    const r = await admin(action, body, token);
    expect(r.status).toBe(code);
    expect(String(r.body.error)).toMatch(message);
    await expectUnchanged();
    expect((await status(leader)).role).toBe('leader');
  });
});

describe('node: admin authentication', () => {
  it('an admin body nested 10,000 levels deep is a 400', async () => {
    const body = `{"epoch":1,"x":${'['.repeat(10_000)}`;
    const r = await fetch(`http://${leader}/admin/lease`, {
      method: 'POST',
      body,
      headers: { ...signedFor('n1', '/admin/lease', body), 'content-type': 'application/json' },
    });
    expect(r.status).toBe(400);
    await expectUnchanged();
  });

  it('the token in the clear (the old bearer form) authorises nothing', async () => {
    const r = await fetch(`http://${leader}/admin/lease`, {
      method: 'POST',
      body: '{"epoch":1,"leaseMs":1000,"sentAtMs":0}',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
    });
    expect(r.status).toBe(401);
    expect(String(((await r.json()) as { error: string }).error)).toMatch(/signed "x-replab-auth" header/);
  });

  it('a signature older than the clock window is refused', async () => {
    const body = '{"epoch":1,"leaseMs":1000,"sentAtMs":0}';
    const header = signAdminRequest(cluster.token, {
      method: 'POST',
      path: '/admin/lease',
      body,
      caller: 'test',
      target: 'n1',
      cluster: cluster.name,
      nowMs: Date.now() - 120_000,
    });
    const r = await fetch(`http://${leader}/admin/lease`, { method: 'POST', body, headers: { [AUTH_HEADER]: header, 'content-type': 'application/json' } });
    expect(r.status).toBe(401);
    expect(String(((await r.json()) as { error: string }).error)).toMatch(/away from this node's clock/);
  });

  it('a call signed for another node, or for the same node of another cluster sharing the token, is refused with 403', async () => {
    const body = '{"epoch":1,"upstream":"127.0.0.1:1"}';
    for (const [headers, why] of [
      [signedFor('n2', '/admin/follow', body), /signed for n2, not for n1/],
      [signedFor('n1', '/admin/follow', body, cluster.token, 'another-cluster'), /signed for cluster "another-cluster", not for this node's cluster/],
    ] as const) {
      const r = await fetch(`http://${leader}/admin/follow`, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } });
      expect(r.status).toBe(403);
      const answer = (await r.json()) as { error: string; code: string };
      expect(answer.code).toBe('forbidden');
      expect(answer.error).toMatch(why);
      expect(answer.error).not.toContain('\n');
      expect((await status(leader)).role).toBe('leader');
    }
    await expectUnchanged();
  });
});

describe('node: more bad input', () => {
  it('a cas body nested a million levels deep is a 400, not a stack overflow', async () => {
    const r = await request(leader, 'POST', '/kv/keep/cas', '['.repeat(1_000_000));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/nested deeper than 64 levels/);
    await expectUnchanged();
  });

  it('a key named ".." is stored, and /kv/../status names a key, not /status', async () => {
    const dots = await rawHttp(leader, 'PUT /kv/.. HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\ntwo');
    expect(dots).toMatch(/^HTTP\/1\.1 200/);
    expect(dots).toContain('"key":".."');
    const read = await rawHttp(leader, 'GET /kv/.. HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(read).toContain('"value":"two"');
    const sneaky = await rawHttp(leader, 'GET /kv/../status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(sneaky).toMatch(/^HTTP\/1\.1 404/);
    expect(sneaky).toContain('"key":"../status"');
    expect(await rawHttp(leader, 'DELETE /kv/%2E%2E HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/);
    before = { data: await dump(leader), lsn: (await status(leader)).lastLsn };
  });

  it('a body that never ends is answered 408 after the body timeout, and the node keeps serving', async () => {
    const t0 = Date.now();
    const reply = await rawHttp(leader, 'PUT /kv/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it', 20_000);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(reply).toContain('request_timeout');
    expect(Date.now() - t0).toBeLessThan(15_000);
    await expectUnchanged();
  }, 30_000);
});

/** Raw HTTP (no client-side path normalisation); resolves with everything the server sent. */
function rawHttp(address: string, text: string, ms = 3000): Promise<string> {
  return raw(address, text, ms);
}

describe('requests from a web page, and JSON endpoints sent another Content-Type', () => {
  const marks: Array<[string, Record<string, string>]> = [
    ['an Origin header', { origin: 'http://evil.example' }],
    ['Fetch Metadata headers', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' }],
    ["a browser's user agent", { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' }],
  ];
  let router: Router;
  let routerHttp: string;

  beforeAll(async () => {
    router = new Router({ monitor: cluster.monitorHttp, reads: 'leader', refreshMs: 50 }, silentLogger());
    routerHttp = await router.listen('127.0.0.1', 0);
  });
  afterAll(async () => {
    await router?.close();
  });

  /**
   * Sends a request's head announcing a 100-byte body and only part of that body. A server that
   * waits for the body answers 408 after its 10 s body timeout; one that refuses first answers at once.
   */
  async function headOnly(
    address: string,
    method: string,
    urlPath: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
    const lines = Object.entries({ host: address, 'content-length': '100', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    const t0 = Date.now();
    const reply = await rawHttp(address, `${method} ${urlPath} HTTP/1.1\r\n${lines.join('')}\r\n{"partial": `, 3000);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
    const text = reply.slice(reply.indexOf('\r\n\r\n') + 4);
    return { status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, ms: Date.now() - t0 };
  }

  const monitorLeader = async () => (await cluster.monitorStatus())?.leader;

  it.each(marks)('with %s, the node refuses a PUT, a cas and an admin call with 403 before reading their body', async (_, mark) => {
    for (const [method, urlPath, extra] of [
      ['PUT', '/kv/from-page', { 'content-type': 'text/plain' }],
      ['POST', '/kv/keep/cas', { 'content-type': 'application/json' }],
      ['POST', '/admin/lease', { ...signedFor('n1', '/admin/lease', '{}'), 'content-type': 'application/json' }],
    ] as const) {
      const r = await headOnly(leader, method, urlPath, { ...mark, ...extra });
      expect(r.status, `${method} ${urlPath}`).toBe(403);
      expect(r.body.code).toBe('forbidden');
      expect(String(r.body.error)).toMatch(/^requests from web browsers are refused \(.+\): this API is for replab and scripts on this machine$/);
      expect(r.ms).toBeLessThan(2000);
    }
    // With the whole body sent, nothing happens either.
    const put1 = await fetch(`http://${leader}/kv/from-page`, { method: 'PUT', body: 'page', headers: mark });
    expect(put1.status).toBe(403);
    const cas = await fetch(`http://${leader}/kv/keep/cas`, {
      method: 'POST',
      body: '{"expected":"me","value":"page"}',
      headers: { ...mark, 'content-type': 'application/json' },
    });
    expect(cas.status).toBe(403);
    expect((await get(leader, 'from-page')).status).toBe(404);
    await expectUnchanged();
  });

  it.each(marks)('with %s, the monitor refuses a switchover with 403, even a signed one, and the leader stays', async (_, mark) => {
    const r = await headOnly(cluster.monitorHttp, 'POST', '/switchover', { ...mark, 'content-type': 'application/json' });
    expect(r.status).toBe(403);
    expect(String(r.body.error)).toMatch(/^requests from web browsers are refused/);
    expect(r.ms).toBeLessThan(2000);
    const body = '{"to":"n2"}';
    const signed = await fetch(`http://${cluster.monitorHttp}/switchover`, {
      method: 'POST',
      body,
      headers: { ...mark, ...signedFor('monitor', '/switchover', body), 'content-type': 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
    expect(signed.status).toBe(403);
    expect(await monitorLeader()).toBe('n1');
    expect((await status(leader)).role).toBe('leader');
  });

  it.each(marks)('with %s, the router refuses a PUT with 403 before reading its body, and forwards nothing', async (_, mark) => {
    const r = await headOnly(routerHttp, 'PUT', '/kv/from-page', mark);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('forbidden');
    expect(String(r.body.error)).toMatch(/^requests from web browsers are refused/);
    expect(r.ms).toBeLessThan(2000);
    const full = await fetch(`http://${routerHttp}/kv/from-page`, { method: 'PUT', body: 'page', headers: mark });
    expect(full.status).toBe(403);
    expect((await get(leader, 'from-page')).status).toBe(404);
    await expectUnchanged();
  });

  it("replab's own clients are not taken for browsers: Node's fetch through the router, the cluster client and the CLI's switchover call", async () => {
    // Node's fetch sends `sec-fetch-mode: cors` with every request; it must still get through.
    const viaRouter = await fetch(`http://${routerHttp}/kv/from-script`, { method: 'PUT', body: 'script' });
    expect(viaRouter.status).toBe(200);
    const viaClient = await call({
      address: leader,
      method: 'POST',
      path: '/kv/from-script/cas',
      body: '{"expected":"script","value":"client"}',
      timeoutMs: 5000,
    });
    expect(viaClient).toMatchObject({ type: 'ok', value: 'client' });
    await expect(cluster.switchover('n1')).rejects.toThrow(/n1 is already the leader/);
    expect((await request(leader, 'DELETE', '/kv/from-script')).status).toBe(200);
    before = { data: await dump(leader), lsn: (await status(leader)).lastLsn };
  });

  it.each([
    ['text/plain', 'text/plain;charset=UTF-8'],
    ['no Content-Type', undefined],
    ['a form', 'application/x-www-form-urlencoded'],
  ])('a cas with %s is 415 on the node and through the router, and changes nothing', async (_, contentType) => {
    const body = '{"expected":"me","value":"plain"}';
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    for (const address of [leader, routerHttp]) {
      const r = await rawHttp(
        address,
        `POST /kv/keep/cas HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n${Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n${body}`,
      );
      expect(r).toMatch(/^HTTP\/1\.1 415/);
      const answer = JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4)) as { error: string; code: string };
      expect(answer.code).toBe('unsupported_media_type');
      expect(answer.error).toMatch(/cas takes a JSON body: send Content-Type: application\/json/);
    }
    await expectUnchanged();
  });

  it('admin calls and the switchover with text/plain are 415, and do nothing', async () => {
    const lease = '{"epoch":1,"leaseMs":1000,"sentAtMs":0}';
    const r = await fetch(`http://${leader}/admin/lease`, {
      method: 'POST',
      body: lease,
      headers: { ...signedFor('n1', '/admin/lease', lease), 'content-type': 'text/plain' },
    });
    expect(r.status).toBe(415);
    expect(((await r.json()) as { code: string }).code).toBe('unsupported_media_type');
    const body = '{"to":"n2"}';
    const s = await fetch(`http://${cluster.monitorHttp}/switchover`, {
      method: 'POST',
      body,
      headers: { ...signedFor('monitor', '/switchover', body), 'content-type': 'text/plain' },
      signal: AbortSignal.timeout(10_000),
    });
    expect(s.status).toBe(415);
    expect(String(((await s.json()) as { error: string }).error)).toMatch(/switchover takes a JSON body/);
    expect(await monitorLeader()).toBe('n1');
    await expectUnchanged();
  });

  it('a PUT keeps taking its raw value as text/plain, and every server keeps serving', async () => {
    const viaRouter = await fetch(`http://${routerHttp}/kv/plain`, {
      method: 'PUT',
      body: 'raw value',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
    expect(viaRouter.status).toBe(200);
    expect((await get(leader, 'plain')).body.value).toBe('raw value');
    const json = await fetch(`http://${leader}/kv/plain/cas`, {
      method: 'POST',
      body: '{"expected":"raw value","value":"cas"}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(json.status).toBe(200);
    expect((await request(leader, 'DELETE', '/kv/plain')).status).toBe(200);
    expect(await monitorLeader()).toBe('n1');
    before = { data: await dump(leader), lsn: (await status(leader)).lastLsn };
  });
});

describe('node: bad input on the replication port', () => {
  it('garbage bytes are dropped with the connection', async () => {
    await raw(cluster.endpoint('n1').repl, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await raw(cluster.endpoint('n1').repl, Buffer.alloc(64, 0xab));
    await expectUnchanged();
  });

  it('a HELLO signed with the wrong token is refused with an error frame', async () => {
    const hello = { nodeId: 'evil', lastLsn: 0, lastEpoch: 0 };
    const reply = await raw(
      cluster.endpoint('n1').repl,
      encodeJsonFrame(FrameType.hello, 1, { ...hello, ...signHello('wrong', { ...hello, target: { cluster: cluster.name, upstream: 'n1' } }) }),
    );
    expect(reply).toContain('wrong cluster token');
    await expectUnchanged();
    const st = await status(leader);
    expect((st.followers as Array<{ id: string }>).map((f) => f.id)).toEqual(['n2']);
  });

  it('a HELLO with a malformed body is refused', async () => {
    const reply = await raw(cluster.endpoint('n1').repl, encodeJsonFrame(FrameType.hello, 1, { nodeId: 42 }));
    expect(reply).toContain('HELLO: nodeId must be a short identifier');
    await expectUnchanged();
  });

  it('replication to the real follower continues after all of it', async () => {
    expect((await put(leader, 'after', 'garbage')).status).toBe(200);
    await cluster.waitConverged();
    expect((await dump(cluster.endpoint('n2').http)).after).toBe('garbage');
  });
});
