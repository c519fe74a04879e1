/**
 * The proxy API refuses what a web page could send it (403 for anything marked as coming from a
 * browser, 415 for a body that is not declared JSON), while replab's own client
 * (toxiproxy-node-client over Node's fetch, which sends `sec-fetch-mode: cors` and
 * `user-agent: node` on every request) and a bodiless POST /reset keep working. Requests are sent with node:http so
 * the test sets every header itself.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyApi } from '../../src/faults/proxy/api.js';
import { addToxic, type Toxiproxy, toxiproxyClient } from '../../src/faults/toxiproxy.js';
import { echoServer, roundTrip, type TestServer } from '../helpers/tcp.js';

let api: ProxyApi;
let address: string;
let client: Toxiproxy;
let echo: TestServer;

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

/** One request with exactly these headers (plus host, connection and content-length). */
function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: unknown }> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const proxyNames = async () => Object.keys(((await send('GET', '/proxies', {})).body ?? {}) as Record<string, unknown>);
const browser = /^requests from web browsers are refused \(.+\): this API is for replab and scripts on this machine$/;
const JSON_TYPE = { 'content-type': 'application/json' };

describe('proxy API: requests from web pages', () => {
  it("the issue's request (browser user agent, foreign Origin, text/plain) is 403 and creates nothing", async () => {
    const r = await send(
      'POST',
      '/proxies',
      { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)', origin: 'http://evil.example', 'content-type': 'text/plain' },
      JSON.stringify({ name: 'evil', listen: '127.0.0.1:0', upstream: echo.address }),
    );
    expect(r).toEqual({ status: 403, body: { error: expect.stringMatching(browser), status: 403 } });
    expect(await proxyNames()).not.toContain('evil');
  });

  it.each([
    ['an Origin header', { ...JSON_TYPE, origin: 'http://evil.example' }],
    ['a Sec-Fetch-Site header', { ...JSON_TYPE, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }],
    ['a Sec-Fetch-Dest header', { ...JSON_TYPE, 'sec-fetch-dest': 'empty' }],
    ['a browser user agent', { ...JSON_TYPE, 'user-agent': 'Mozilla/5.0' }],
  ])('a create carrying %s is 403', async (_what, headers) => {
    const r = await send('POST', '/proxies', headers, JSON.stringify({ name: 'marked', listen: '127.0.0.1:0', upstream: echo.address }));
    expect(r).toEqual({ status: 403, body: { error: expect.stringMatching(browser), status: 403 } });
    expect(await proxyNames()).not.toContain('marked');
  });

  it('reads and a bodiless reset from a browser are 403 too, and the reset changes nothing', async () => {
    const p = await client.createProxy({ name: 'kept-off', listen: '127.0.0.1:0', upstream: echo.address });
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    expect((await send('GET', '/proxies', { 'user-agent': 'Mozilla/5.0' })).status).toBe(403);
    const reset = await send('POST', '/reset', { origin: 'http://evil.example', 'user-agent': 'Mozilla/5.0' });
    expect(reset).toEqual({ status: 403, body: { error: expect.stringMatching(browser), status: 403 } });
    expect((await send('GET', '/proxies/kept-off', {})).body).toMatchObject({ enabled: false });
  });

  it("replab's own client is not taken for a browser: create, toxics, update and reset through it work", async () => {
    const p = await client.createProxy({ name: 'own', listen: '127.0.0.1:0', upstream: echo.address });
    await addToxic(p, { name: 'slow', type: 'latency', stream: 'downstream', attributes: { latency: 1 } });
    const off = await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    expect(off.enabled).toBe(false);
    await client.reset();
    expect((await send('GET', '/proxies/own', {})).body).toMatchObject({ enabled: true, toxics: [] });
    expect(await roundTrip(p.listen, 'own')).toBe('own');
  });
});

describe('proxy API: bodies must be declared JSON', () => {
  const body = (name: string) => JSON.stringify({ name, listen: '127.0.0.1:0', upstream: echo.address });

  it.each([
    ['no Content-Type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['application/jsonp', { 'content-type': 'application/jsonp' }],
  ])('a create with %s is 415 and creates nothing', async (_what, headers) => {
    const r = await send('POST', '/proxies', headers, body('untyped'));
    const got = 'content-type' in headers ? JSON.stringify(headers['content-type']) : 'none';
    expect(r).toEqual({ status: 415, body: { error: `POST /proxies takes a JSON body: send Content-Type: application/json (got ${got})`, status: 415 } });
    expect(await proxyNames()).not.toContain('untyped');
  });

  it('updates, toxics and populate need it too; a parameter after application/json is fine', async () => {
    await client.createProxy({ name: 'typed', listen: '127.0.0.1:0', upstream: echo.address });
    const plain = { 'content-type': 'text/plain' };
    expect((await send('POST', '/proxies/typed', plain, '{"enabled": false}')).status).toBe(415);
    expect((await send('PATCH', '/proxies/typed', plain, '{"enabled": false}')).status).toBe(415);
    expect((await send('POST', '/proxies/typed/toxics', plain, '{"type": "latency"}')).status).toBe(415);
    expect((await send('POST', '/populate', plain, '[]')).status).toBe(415);
    expect((await send('GET', '/proxies/typed', {})).body).toMatchObject({ enabled: true, toxics: [] });
    const ok = await send('POST', '/proxies/typed/toxics', { 'content-type': 'application/json; charset=utf-8' }, '{"type": "latency"}');
    expect(ok.status).toBe(200);
  });

  it('a bodiless POST /reset needs no Content-Type; reads need none', async () => {
    expect((await send('POST', '/reset', {})).status).toBe(204);
    expect((await send('GET', '/version', {})).status).toBe(200);
  });
});
