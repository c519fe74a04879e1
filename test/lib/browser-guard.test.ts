/**
 * The browser guard (src/lib/browser-guard.ts) on the headers real clients send: what Node's fetch
 * and node:http put on the wire (read back by a server on 127.0.0.1) is not a browser; what
 * browsers send is.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMark, isJsonContentType } from '../../src/lib/browser-guard.js';

let server: http.Server;
let address: string;
let received: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

/** The headers the server received for one request made by `send`. */
async function headersOf(send: () => Promise<unknown>): Promise<http.IncomingHttpHeaders> {
  received = [];
  await send();
  expect(received).toHaveLength(1);
  return received[0]!;
}

describe('browserMark', () => {
  it("passes Node's fetch, which sends sec-fetch-mode: cors on every request", async () => {
    const h = await headersOf(() => fetch(`http://${address}/kv/x/cas`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }));
    expect(h['sec-fetch-mode']).toBe('cors');
    expect(browserMark(h)).toBeUndefined();
  });

  it('passes node:http and curl-like requests', async () => {
    const h = await headersOf(
      () =>
        new Promise<void>((resolve, reject) => {
          const req = http.request(`http://${address}/kv/x`, { method: 'PUT' }, (res) => res.resume().on('end', () => resolve()));
          req.on('error', reject);
          req.end('v');
        }),
    );
    expect(browserMark(h)).toBeUndefined();
    expect(browserMark({ host: address, 'user-agent': 'curl/8.5.0', accept: '*/*' })).toBeUndefined();
  });

  it.each([
    [{ origin: 'http://evil.example' }, /Origin header \("http:\/\/evil.example"\)/],
    [{ origin: 'null' }, /Origin header/],
    [{ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' }, /sec-fetch-site/],
    [{ 'sec-fetch-dest': 'document' }, /sec-fetch-dest/],
    [{ 'sec-fetch-user': '?1' }, /sec-fetch-user/],
    [{ 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' }, /user agent is a web browser/],
  ])('marks %o', (headers, why) => {
    expect(browserMark(headers)).toMatch(why);
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON', true],
    ['text/plain;charset=UTF-8', false],
    ['application/x-www-form-urlencoded', false],
    ['multipart/form-data; boundary=x', false],
    ['application/jsonp', false],
    [undefined, false],
  ])('%s → %s', (ct, json) => {
    expect(isJsonContentType(ct === undefined ? {} : { 'content-type': ct })).toBe(json);
  });
});
