/**
 * bench:peers' shared pieces: the closed-loop generator (every client waits for its answer, counts
 * only measured writes, counts errors, closes every connection) and the HTTP PUT client replab is
 * driven with (status codes, bodies split across packets, a connection that closes mid-request).
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RawHttpClient } from '../../bench/lib/raw-http.js';
import { runClosedLoop } from '../../bench/peers/closed-loop.js';

describe('closed-loop load generator', () => {
  it('keeps one write in flight per client and measures its latency', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const closed: number[] = [];
    const keys = new Set<string>();
    const r = await runClosedLoop({
      clients: 4,
      durationSec: 1,
      warmupSec: 0.2,
      valueBytes: 10,
      keySpace: 50,
      connect: async (i) => ({
        write: async (key, value) => {
          expect(value).toHaveLength(10);
          keys.add(key);
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((res) => setTimeout(res, 5));
          inFlight--;
        },
        close: () => void closed.push(i),
      }),
    });
    expect(maxInFlight).toBe(4);
    expect(closed.sort()).toEqual([0, 1, 2, 3]);
    // 4 clients × one write per ≥5 ms: at most 800/s, and a timer-driven loop gets well over 100.
    expect(r.writesPerSec).toBeGreaterThan(100);
    expect(r.writesPerSec).toBeLessThanOrEqual(800);
    expect(r.latencyMs.p50).toBeGreaterThanOrEqual(5);
    expect(r.errors).toBe(0);
    expect(keys.size).toBeGreaterThan(30);
    expect([...keys].every((k) => /^k\d+$/.test(k) && Number(k.slice(1)) < 50)).toBe(true);
  });

  it('counts refused writes as errors and keeps the first reason', async () => {
    let n = 0;
    const r = await runClosedLoop({
      clients: 2,
      durationSec: 0.5,
      warmupSec: 0,
      valueBytes: 1,
      connect: async () => ({
        write: async () => {
          await new Promise((res) => setTimeout(res, 1));
          if (++n % 2 === 0) throw new Error('refused');
        },
        close: () => undefined,
      }),
    });
    expect(r.errors).toBeGreaterThan(0);
    expect(r.total).toBeGreaterThan(0);
    expect(r.firstError).toBe('refused');
  });
});

describe('RawHttpClient', () => {
  let server: http.Server | net.Server | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });
  const listen = async (s: http.Server | net.Server) => {
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(s.address() as net.AddressInfo).port}`;
  };

  it('answers status, serving node and body, on one keep-alive connection', async () => {
    const sockets = new Set<net.Socket>();
    const seen: string[] = [];
    const address = await listen(
      http.createServer((req, res) => {
        sockets.add(req.socket);
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          seen.push(`${req.method} ${req.url} ${body}`);
          const status = req.url === '/kv/bad' ? 409 : 200;
          const text = status === 200 ? '{"ok":true}' : '{"error":"no","code":"cas_mismatch"}';
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-replab-node': 'n1' });
          res.end(text);
        });
      }),
    );
    const c = await RawHttpClient.connect(address);
    try {
      expect(await c.put('/kv/a', 'héllo')).toEqual({ status: 200, node: 'n1', body: '{"ok":true}' });
      const bad = await c.put('/kv/bad', 'x');
      expect(bad.status).toBe(409);
      expect(bad.body).toMatch(/cas_mismatch/);
      expect((await c.put('/kv/b', '')).status).toBe(200);
      expect(seen).toEqual(['PUT /kv/a héllo', 'PUT /kv/bad x', 'PUT /kv/b ']);
      expect(sockets.size).toBe(1);
    } finally {
      c.close();
    }
  });

  it('reads an answer split across packets, and rejects when the server closes mid-request', async () => {
    const address = await listen(
      net.createServer((s) => {
        let n = 0;
        s.on('data', () => {
          if (n++ === 0) {
            s.write('HTTP/1.1 200 OK\r\nContent-Le');
            setTimeout(() => s.write('ngth: 5\r\n\r\nhel'), 20);
            setTimeout(() => s.write('lo'), 40);
          } else s.destroy();
        });
      }),
    );
    const c = await RawHttpClient.connect(address);
    try {
      expect((await c.put('/kv/a', 'v')).body).toBe('hello');
      await expect(c.put('/kv/b', 'v')).rejects.toThrow(/closed|ECONNRESET/);
    } finally {
      c.close();
    }
  });
});
