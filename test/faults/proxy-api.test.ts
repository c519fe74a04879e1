/**
 * The proxy's API as Toxiproxy clients see it: driven only through toxiproxy-node-client (so a
 * real Toxiproxy could stand in), plus raw HTTP for the error codes the client does not expose.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyApi } from '../../src/faults/proxy/api.js';
import { addToxic, type Toxiproxy, toxiproxyClient } from '../../src/faults/toxiproxy.js';
import { echoServer, roundTrip } from '../helpers/tcp.js';

let api: ProxyApi;
let address: string;
let client: Toxiproxy;
let echo: { address: string; close(): Promise<void> };

beforeAll(async () => {
  api = new ProxyApi();
  address = await api.listen('127.0.0.1', 0);
  client = toxiproxyClient(address);
  echo = await echoServer();
});
afterAll(async () => {
  await api.close();
  await echo.close();
});

const raw = async (method: string, path: string, body?: string) => {
  const headers = body === undefined ? undefined : { 'content-type': 'application/json' };
  const res = await fetch(`http://${address}${path}`, { method, body, headers });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
};

describe('proxy API through toxiproxy-node-client', () => {
  it('version', async () => {
    expect(JSON.parse(await client.getVersion())).toEqual({ version: expect.stringContaining('replab') });
  });

  it('create picks a port for :0, forwards traffic, and shows up in get and getAll', async () => {
    const p = await client.createProxy({ name: 'echo1', listen: '127.0.0.1:0', upstream: echo.address });
    expect(p.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(p.listen).not.toBe('127.0.0.1:0');
    expect(p.enabled).toBe(true);
    expect(await roundTrip(p.listen, 'ping')).toBe('ping');
    expect((await client.get('echo1')).toJson()).toEqual(p.toJson());
    expect(Object.keys(await client.getAll())).toContain('echo1');
  });

  it('populate creates several, and leaves an unchanged one alone', async () => {
    const first = await client.populate([
      { name: 'pop-a', listen: '127.0.0.1:0', upstream: echo.address },
      { name: 'pop-b', listen: '127.0.0.1:0', upstream: echo.address },
    ]);
    expect(Object.keys(first).sort()).toEqual(['pop-a', 'pop-b']);
    const again = await client.populate([{ name: 'pop-a', listen: first['pop-a']!.listen, upstream: echo.address }]);
    expect(again['pop-a']!.listen).toBe(first['pop-a']!.listen);
    expect(await roundTrip(first['pop-b']!.listen, 'x')).toBe('x');
  });

  it('update: disable refuses connections, enable listens again on the same address', async () => {
    const p = await client.createProxy({ name: 'toggle', listen: '127.0.0.1:0', upstream: echo.address });
    const off = await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    expect(off.enabled).toBe(false);
    await expect(roundTrip(p.listen, 'x')).rejects.toThrow(/ECONNREFUSED/);
    const on = await off.update({ enabled: true, listen: p.listen, upstream: p.upstream });
    expect(on.listen).toBe(p.listen);
    expect(await roundTrip(p.listen, 'y')).toBe('y');
  });

  it('toxics: add with defaults, get, update, remove', async () => {
    const p = await client.createProxy({ name: 'tox', listen: '127.0.0.1:0', upstream: echo.address });
    const t = await addToxic(p, { name: 'slow', type: 'latency', stream: 'downstream', attributes: { latency: 30 } });
    expect(t.toJson()).toEqual({ name: 'slow', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 30, jitter: 0 } });
    expect((await p.getToxic('slow')).attributes).toEqual({ latency: 30, jitter: 0 });
    const u = await t.update({ ...t.toJson(), attributes: { latency: 40, jitter: 5 } });
    expect(u.attributes).toEqual({ latency: 40, jitter: 5 });
    expect((await client.get('tox')).toJson()).toMatchObject({ name: 'tox' });
    expect((await raw('GET', '/proxies/tox')).body!.toxics).toEqual([u.toJson()]);
    await u.remove();
    expect((await raw('GET', '/proxies/tox/toxics')).body).toEqual([]);
  });

  it('reset enables every proxy and removes every toxic', async () => {
    const p = await client.createProxy({ name: 'resetme', listen: '127.0.0.1:0', upstream: echo.address });
    await addToxic(p, { name: 'bh', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    await client.reset();
    const after = await raw('GET', '/proxies/resetme');
    expect(after.body).toMatchObject({ enabled: true, toxics: [] });
    expect(await roundTrip(p.listen, 'back')).toBe('back');
  });

  it('a toxic name defaults to <type>_<stream>, the stream to downstream', async () => {
    await client.createProxy({ name: 'defaults', listen: '127.0.0.1:0', upstream: echo.address });
    const r = await raw('POST', '/proxies/defaults/toxics', JSON.stringify({ type: 'bandwidth', attributes: { rate: 100 } }));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ name: 'bandwidth_downstream', type: 'bandwidth', stream: 'downstream', toxicity: 1, attributes: { rate: 100 } });
  });
});

describe('proxy API error codes (raw HTTP)', () => {
  it.each([
    ['GET', '/proxies/nope', undefined, 404, 'proxy not found'],
    ['DELETE', '/proxies/nope', undefined, 404, 'proxy not found'],
    ['GET', '/proxies/echo1/toxics/nope', undefined, 404, 'toxic not found'],
    ['POST', '/proxies', '{"name": "echo1", "upstream": "127.0.0.1:1"}', 409, 'proxy already exists'],
    ['POST', '/proxies', 'not json', 400, 'bad request body'],
    ['POST', '/proxies', '{"listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}', 400, 'missing required field: name'],
    ['POST', '/proxies', '{"name": "noup"}', 400, 'missing required field: upstream'],
    ['POST', '/proxies/echo1/toxics', '{"type": "explode"}', 400, 'invalid toxic type'],
    ['POST', '/proxies/echo1/toxics', '{"type": "latency", "stream": "sideways"}', 400, 'stream was invalid'],
    ['POST', '/proxies/echo1/toxics', '{"type": "latency", "attributes": {"latency": -5}}', 400, 'must be a non-negative number'],
    ['POST', '/proxies/echo1/toxics', '{"type": "latency", "toxicity": 3}', 400, 'toxicity must be a number from 0 to 1'],
    ['POST', '/populate', '{"name": "x"}', 400, 'expected a JSON array'],
    ['GET', '/proxies/%ZZ', undefined, 400, 'not valid URL encoding'],
    ['POST', '/proxies/echo1/toxics', '{"type": "latency", "attributes": {"latency": 1e308}}', 400, 'must be at most 2147483647'],
    ['POST', '/proxies/echo1/toxics', '{"type": "latency", "attributes": {"latency": 2147483648}}', 400, 'must be at most 2147483647'],
    ['POST', '/proxies/echo1/toxics', '{"type": "timeout", "attributes": {"timeout": 1e12}}', 400, 'must be at most 2147483647'],
    [
      'POST',
      '/proxies/echo1/toxics',
      '{"type": "bandwidth", "attributes": {"rate": 1e-300}}',
      400,
      'attribute rate of bandwidth must be 0 (no limit) or at least 1 KB/s',
    ],
    [
      'POST',
      '/proxies/echo1/toxics',
      '{"type": "bandwidth", "attributes": {"rate": 0.5}}',
      400,
      'attribute rate of bandwidth must be 0 (no limit) or at least 1 KB/s',
    ],
    ['POST', '/proxies', '{"name": "open", "listen": "0.0.0.0:0", "upstream": "127.0.0.1:1"}', 400, 'not on loopback'],
    ['POST', '/proxies', '{"name": "away", "listen": "127.0.0.1:0", "upstream": "10.0.0.1:80"}', 400, 'not on loopback'],
    ['POST', '/proxies', '{"name": "octal", "listen": "127.0.0.010:0", "upstream": "127.0.0.1:1"}', 400, 'without leading zeros'],
    ['POST', '/proxies/echo1', '{"listen": "0.0.0.0:0", "upstream": "127.0.0.1:1", "enabled": true}', 400, 'not on loopback'],
    ['POST', '/proxies', `{"name": "deep", "upstream": ${'['.repeat(5000)}`, 400, 'nested deeper than 64 levels'],
  ])('%s %s → %i', async (method, path, body, status, message) => {
    const r = await raw(method, path, body);
    expect(r.status).toBe(status);
    expect(r.body).toEqual({ error: expect.stringContaining(message), status });
  });

  it('a duplicate toxic name is 409', async () => {
    await raw('POST', '/proxies/echo1/toxics', JSON.stringify({ name: 'dup', type: 'latency' }));
    const r = await raw('POST', '/proxies/echo1/toxics', JSON.stringify({ name: 'dup', type: 'latency' }));
    expect(r).toEqual({ status: 409, body: { error: 'toxic already exists', status: 409 } });
  });

  it('a listen address in use is 409', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    const r = await raw('POST', '/proxies', JSON.stringify({ name: 'clash', listen: `127.0.0.1:${port}`, upstream: echo.address }));
    taken.close();
    expect(r.status).toBe(409);
    expect(r.body!.error).toContain('already in use');
  });

  it('the API keeps serving after all of it', async () => {
    expect(await roundTrip((await client.get('echo1')).listen, 'still')).toBe('still');
  });
});
