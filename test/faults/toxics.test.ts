/**
 * Every toxic measured on real TCP traffic through the proxy on 127.0.0.1, with the attribute
 * values a test can check within a tolerance a shared 2-core machine still meets.
 */
import type net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyApi } from '../../src/faults/proxy/api.js';
import { addToxic, type Toxiproxy, toxiproxyClient } from '../../src/faults/toxiproxy.js';
import { waitFor } from '../../src/lib/wait.js';
import { connect, echoOnce, echoServer, readAll, sendServer, type TestServer } from '../helpers/tcp.js';

let api: ProxyApi;
let client: Toxiproxy;
let echo: TestServer;
const servers: TestServer[] = [];
const sockets: net.Socket[] = [];
let n = 0;

beforeAll(async () => {
  api = new ProxyApi();
  client = toxiproxyClient(await api.listen('127.0.0.1', 0));
  echo = await echoServer();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
});
afterAll(async () => {
  await api.close();
  await echo.close();
});

async function proxyTo(upstream: string) {
  return client.createProxy({ name: `p${++n}`, listen: '127.0.0.1:0', upstream });
}

async function open(address: string): Promise<net.Socket> {
  const s = await connect(address);
  sockets.push(s);
  return s;
}

/** Median round-trip (ms) of `samples` one-byte echoes on one connection. */
async function medianRtt(s: net.Socket, samples = 9): Promise<{ median: number; all: number[] }> {
  const all: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await echoOnce(s, 'x');
    all.push(performance.now() - t0);
  }
  const sorted = [...all].sort((a, b) => a - b);
  return { median: sorted[Math.floor(samples / 2)]!, all };
}

describe('toxics on real TCP traffic', () => {
  // Timers never fire early, but on a loaded machine they fire late: lower bounds are exact, upper
  // bounds leave room for that lateness (they still catch a delay applied twice).
  it('latency adds its delay, also on a connection opened before the toxic', async () => {
    const p = await proxyTo(echo.address);
    const s = await open(p.listen);
    const base = (await medianRtt(s)).median;
    await addToxic(p, { name: 'lat', type: 'latency', stream: 'downstream', attributes: { latency: 50, jitter: 0 } });
    const slow = (await medianRtt(s)).median;
    expect(slow - base).toBeGreaterThan(47);
    expect(slow - base).toBeLessThan(90);
  });

  it('jitter keeps every delay within latency ± jitter', async () => {
    const p = await proxyTo(echo.address);
    await addToxic(p, { name: 'jit', type: 'latency', stream: 'upstream', attributes: { latency: 40, jitter: 15 } });
    const s = await open(p.listen);
    const { all, median } = await medianRtt(s, 15);
    for (const rtt of all) expect(rtt).toBeGreaterThan(25 - 3);
    expect(median).toBeLessThan(55 + 3 + 5);
    for (const rtt of all) expect(rtt).toBeLessThan(55 + 100);
    expect(Math.max(...all) - Math.min(...all)).toBeGreaterThan(5); // it does vary
  });

  it('latency and jitter at the timer limit hold the data, never collapse to 1 ms, and print no TimeoutOverflowWarning', async () => {
    // latency + jitter can reach twice Node's timer limit; a timer above it fires after 1 ms.
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const p = await proxyTo(echo.address);
      const max = 2 ** 31 - 1;
      await addToxic(p, { name: 'huge', type: 'latency', stream: 'downstream', attributes: { latency: max, jitter: max } });
      // Each connection draws its own delays, and half the draws exceed the limit: ten
      // connections make a collapsed delay all but certain to show if it can happen. A delay
      // drawn below 0.5 s, the only honest way to see data back, has a chance of about 1 in 10^7.
      let got = '';
      for (let i = 0; i < 10; i++) {
        const s = await open(p.listen);
        s.on('data', (c: Buffer) => (got += c.toString()));
        s.write('x');
      }
      expect(await waitFor(() => got !== '', 500, 5)).toBe(false);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('bandwidth holds the rate within 15%', async () => {
    const bytes = Buffer.alloc(1_000_000, 7);
    const src = await sendServer(bytes);
    servers.push(src);
    const p = await proxyTo(src.address);
    await addToxic(p, { name: 'bw', type: 'bandwidth', stream: 'downstream', attributes: { rate: 500 } });
    const s = await open(p.listen);
    const t0 = performance.now();
    const got = await readAll(s);
    const seconds = (got.endedAtMs - t0) / 1000;
    expect(got.bytes.length).toBe(bytes.length);
    const rate = bytes.length / seconds;
    expect(rate).toBeGreaterThan(500_000 * 0.85);
    expect(rate).toBeLessThan(500_000 * 1.15);
  });

  it('timeout 0 holds the data while present and lets it through once removed; the connection stays open', async () => {
    const p = await proxyTo(echo.address);
    const s = await open(p.listen);
    expect(await echoOnce(s, 'a')).toBe('a');
    await addToxic(p, { name: 'bh', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.write('held');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toBe('');
    expect(s.destroyed).toBe(false);
    await (await p.getToxic('bh')).remove();
    expect(await waitFor(() => got === 'held', 2000, 5)).toBe(true);
  });

  it('timeout > 0 closes the connection after that long', async () => {
    const p = await proxyTo(echo.address);
    const s = await open(p.listen);
    const done = readAll(s);
    const t0 = performance.now();
    await addToxic(p, { name: 'to', type: 'timeout', stream: 'downstream', attributes: { timeout: 150 } });
    const r = await done;
    expect(r.endedAtMs - t0).toBeGreaterThan(140);
    expect(r.endedAtMs - t0).toBeLessThan(600);
  });

  it('reset_peer resets the connection', async () => {
    const p = await proxyTo(echo.address);
    await addToxic(p, { name: 'rst', type: 'reset_peer', stream: 'downstream', attributes: { timeout: 50 } });
    const s = await open(p.listen);
    const r = await readAll(s);
    expect(r.error).toBe('ECONNRESET');
  });

  it('limit_data closes after exactly N bytes', async () => {
    const src = await sendServer(Buffer.alloc(5000, 1), { keepOpen: true });
    servers.push(src);
    const p = await proxyTo(src.address);
    await addToxic(p, { name: 'lim', type: 'limit_data', stream: 'downstream', attributes: { bytes: 1000 } });
    const r = await readAll(await open(p.listen));
    expect(r.bytes.length).toBe(1000);
  });

  it('slicer splits one write into many small ones', async () => {
    const src = await sendServer(Buffer.alloc(1000, 2));
    servers.push(src);
    const p = await proxyTo(src.address);
    await addToxic(p, {
      name: 'sl',
      type: 'slicer',
      stream: 'downstream',
      attributes: { average_size: 10, size_variation: 5, delay: 1000 },
    });
    const r = await readAll(await open(p.listen));
    expect(r.bytes.length).toBe(1000);
    expect(r.chunks).toBeGreaterThan(30);
  });

  it('slow_close holds the close for its delay', async () => {
    const src = await sendServer(Buffer.from('bye'));
    servers.push(src);
    const p = await proxyTo(src.address);
    await addToxic(p, { name: 'sc', type: 'slow_close', stream: 'downstream', attributes: { delay: 200 } });
    const t0 = performance.now();
    const r = await readAll(await open(p.listen));
    expect(r.bytes.toString()).toBe('bye');
    expect(r.endedAtMs - t0).toBeGreaterThan(190);
  });

  it('toxicity 0 never applies; the proxy then adds no measurable delay', async () => {
    const p = await proxyTo(echo.address);
    await addToxic(p, { name: 'never', type: 'latency', stream: 'downstream', toxicity: 0, attributes: { latency: 500 } });
    const s = await open(p.listen);
    expect((await medianRtt(s, 5)).median).toBeLessThan(50);
  });

  it('disabling a proxy closes its open connections', async () => {
    const p = await proxyTo(echo.address);
    const s = await open(p.listen);
    const done = readAll(s);
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    await done;
    expect(s.destroyed).toBe(true);
  });

  it('many short connections leave no sockets behind', async () => {
    const p = await proxyTo(echo.address);
    const proxy = api.proxies.get(p.name)!;
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const s = await connect(p.listen);
          await echoOnce(s, 'hi');
          s.end();
          await new Promise((r) => s.once('close', r));
        }),
      );
    }
    expect(await waitFor(() => proxy.connectionCount === 0, 3000, 10)).toBe(true);
  });
});
