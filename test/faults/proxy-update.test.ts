/**
 * Changing a proxy is all or nothing: an update, populate or reset that cannot take effect leaves
 * every proxy exactly as it was (listen address, still accepting, enabled state, toxics), and a
 * reset that cannot re-enable one proxy still heals all the others. A proxy whose upstream leads
 * back to its own listen address, directly or through other proxies of the same server, is
 * refused: one connection to it would fan out until the machine runs out of sockets.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyApi } from '../../src/faults/proxy/api.js';
import { addToxic, type Toxiproxy, toxiproxyClient } from '../../src/faults/toxiproxy.js';
import { echoServer, roundTrip, sendServer, type TestServer } from '../helpers/tcp.js';

let api: ProxyApi;
let address: string;
let client: Toxiproxy;
let echo: TestServer;
const squatters: net.Server[] = [];

beforeAll(async () => {
  api = new ProxyApi();
  address = await api.listen('127.0.0.1', 0);
  client = toxiproxyClient(address);
  echo = await echoServer();
});
afterEach(async () => {
  for (const s of squatters.splice(0)) await new Promise((r) => s.close(r));
});
afterAll(async () => {
  await api.close();
  await echo.close();
});

const raw = async (method: string, path: string, body?: unknown) => {
  const init: RequestInit = { method };
  if (body !== undefined) Object.assign(init, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const res = await fetch(`http://${address}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
};

/** Something else listening on a port: the address a proxy is then asked to take. */
async function squat(address?: string): Promise<string> {
  const s = net.createServer((c) => c.destroy());
  const port = address ? Number(address.slice(address.lastIndexOf(':') + 1)) : 0;
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
  squatters.push(s);
  return `127.0.0.1:${(s.address() as net.AddressInfo).port}`;
}

/** A free 127.0.0.1 port (bound and released). */
async function freeAddress(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

async function proxyWithToxic(name: string) {
  const p = await client.createProxy({ name, listen: '127.0.0.1:0', upstream: echo.address });
  await addToxic(p, { name: 'slow', type: 'latency', stream: 'upstream', attributes: { latency: 1 } });
  return (await raw('GET', `/proxies/${name}`)).body!;
}

describe('proxy updates are all or nothing', () => {
  it('moving to a listen address in use is 409 and leaves the proxy as it was; a reset afterwards is 204', async () => {
    const before = await proxyWithToxic('e');
    const other = await client.createProxy({ name: 'f', listen: '127.0.0.1:0', upstream: echo.address });
    await other.update({ enabled: false, listen: other.listen, upstream: other.upstream });
    const taken = await squat();
    const r = await raw('POST', '/proxies/e', { listen: taken });
    expect(r).toEqual({ status: 409, body: { error: `listen address ${taken} is already in use`, status: 409 } });
    expect((await raw('GET', '/proxies/e')).body).toEqual(before);
    expect(await roundTrip(before.listen as string, 'still')).toBe('still');
    // The reset that used to stop at e's failed restart and leave f disabled.
    expect((await raw('POST', '/reset')).status).toBe(204);
    expect((await raw('GET', '/proxies/f')).body).toMatchObject({ enabled: true, listen: other.listen });
    expect(await roundTrip(other.listen, 'f')).toBe('f');
    expect((await raw('GET', '/proxies/e')).body).toMatchObject({ listen: before.listen, enabled: true, toxics: [] });
  });

  it('enabling a disabled proxy on an address in use is 409 and leaves it disabled where it was', async () => {
    const p = await client.createProxy({ name: 'off', listen: '127.0.0.1:0', upstream: echo.address });
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    const taken = await squat();
    const r = await raw('POST', '/proxies/off', { listen: taken, enabled: true });
    expect(r.status).toBe(409);
    expect((await raw('GET', '/proxies/off')).body).toMatchObject({ listen: p.listen, enabled: false });
  });

  it('moving to a free address listens there and stops listening at the old one', async () => {
    const p = await client.createProxy({ name: 'mover', listen: '127.0.0.1:0', upstream: echo.address });
    const to = await freeAddress();
    const r = await raw('POST', '/proxies/mover', { listen: to });
    expect(r.body).toMatchObject({ listen: to, enabled: true });
    expect(await roundTrip(to, 'here')).toBe('here');
    await expect(roundTrip(p.listen, 'x')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a new upstream keeps the listen address, drops open connections and sends new ones there', async () => {
    const p = await client.createProxy({ name: 'repoint', listen: '127.0.0.1:0', upstream: echo.address });
    const open = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(Number(p.listen.split(':')[1]), '127.0.0.1', () => resolve(s));
    });
    const closed = new Promise((r) => open.once('close', r));
    const hello = await sendServer(Buffer.from('hello'));
    try {
      const r = await raw('POST', '/proxies/repoint', { upstream: hello.address });
      expect(r.body).toMatchObject({ listen: p.listen, upstream: hello.address, enabled: true });
      await closed;
      const got = await new Promise<string>((resolve) => {
        let text = '';
        const s = net.connect(Number(p.listen.split(':')[1]), '127.0.0.1');
        s.on('data', (c: Buffer) => (text += c.toString()));
        s.on('close', () => resolve(text));
      });
      expect(got).toBe('hello');
    } finally {
      await hello.close();
    }
  });

  it('populate replacing a proxy with one on an address in use fails and leaves the old proxy as it was', async () => {
    const before = await proxyWithToxic('pop-keep');
    const taken = await squat();
    const r = await raw('POST', '/populate', [{ name: 'pop-keep', listen: taken, upstream: echo.address }]);
    expect(r.status).toBe(409);
    expect((await raw('GET', '/proxies/pop-keep')).body).toEqual(before);
    expect(await roundTrip(before.listen as string, 'kept')).toBe('kept');
  });

  it('a reset that cannot re-enable one proxy (its address taken meanwhile) heals every other and says which', async () => {
    const a = await client.createProxy({ name: 'r-blocked', listen: '127.0.0.1:0', upstream: echo.address });
    const b = await client.createProxy({ name: 'r-other', listen: '127.0.0.1:0', upstream: echo.address });
    await addToxic(b, { name: 'bh', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    await a.update({ enabled: false, listen: a.listen, upstream: a.upstream });
    await b.update({ enabled: false, listen: b.listen, upstream: b.upstream });
    await squat(a.listen);
    const r = await raw('POST', '/reset');
    expect(r).toEqual({ status: 409, body: { error: expect.stringContaining(`proxy r-blocked: listen address ${a.listen} is already in use`), status: 409 } });
    expect((await raw('GET', '/proxies/r-other')).body).toMatchObject({ enabled: true, toxics: [] });
    expect(await roundTrip(b.listen, 'healed')).toBe('healed');
    expect((await raw('GET', '/proxies/r-blocked')).body).toMatchObject({ listen: a.listen, enabled: false });
    await raw('DELETE', '/proxies/r-blocked');
  });
});

describe('proxy loops are refused', () => {
  const loop = /^upstream .* leads back to proxy ".*"'s own listen address/;

  it('at create: upstream equal to the listen address, however the host is spelled', async () => {
    const at = await freeAddress();
    const port = at.split(':')[1];
    for (const [listen, upstream] of [
      [at, at],
      [`localhost:${port}`, at],
      [at, `localhost:${port}`],
    ]) {
      const r = await raw('POST', '/proxies', { name: 'self', listen, upstream });
      expect(r).toEqual({ status: 400, body: { error: expect.stringMatching(loop), status: 400 } });
    }
    expect(api.proxies.has('self')).toBe(false);
  });

  it("at update: pointing a port-0 proxy's upstream at the address it was given is 400, and it is unchanged", async () => {
    const p = await client.createProxy({ name: 'ephemeral', listen: '127.0.0.1:0', upstream: echo.address });
    const r = await raw('POST', '/proxies/ephemeral', { upstream: p.listen });
    expect(r).toEqual({ status: 400, body: { error: expect.stringMatching(loop), status: 400 } });
    expect((await raw('GET', '/proxies/ephemeral')).body).toMatchObject({ listen: p.listen, upstream: echo.address, enabled: true });
    expect(await roundTrip(p.listen, 'fine')).toBe('fine');
  });

  it('through other proxies: A -> B -> A, and A -> B -> C -> A, even with one of them disabled', async () => {
    const a = await client.createProxy({ name: 'loop-a', listen: '127.0.0.1:0', upstream: echo.address });
    const b = await client.createProxy({ name: 'loop-b', listen: '127.0.0.1:0', upstream: a.listen });
    const r = await raw('POST', '/proxies/loop-a', { upstream: b.listen });
    expect(r).toEqual({ status: 400, body: { error: expect.stringMatching(loop), status: 400 } });
    expect(r.body!.error).toContain('loop-b');
    const c = await client.createProxy({ name: 'loop-c', listen: '127.0.0.1:0', upstream: b.listen });
    await b.update({ enabled: false, listen: b.listen, upstream: b.upstream });
    expect((await raw('POST', '/proxies/loop-a', { upstream: c.listen })).status).toBe(400);
    const viaPopulate = await raw('POST', '/populate', [{ name: 'loop-a', listen: a.listen, upstream: c.listen }]);
    expect(viaPopulate.status).toBe(400);
    expect((await raw('GET', '/proxies/loop-a')).body).toMatchObject({ upstream: echo.address, enabled: true });
    // A chain that does not come back is fine: C -> B -> A -> echo.
    await b.update({ enabled: true, listen: b.listen, upstream: b.upstream });
    expect(await roundTrip(c.listen, 'chain')).toBe('chain');
  });
});
