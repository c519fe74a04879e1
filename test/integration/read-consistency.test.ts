/**
 * Read consistency per request on real nodes (GET /kv/{key}?consistency=…): a follower serves
 * `bounded:<ms>` only while it knows it is within the bound (its replication slowed through the
 * proxy makes it too stale: 412), `after:<lsn>` waits for the LSN and serves it, or refuses once
 * its wait runs out (replication cut: 412); malformed values are 400 naming the field; every read
 * and scan says the LSN it reflects and how stale the node knows itself to be; reads still
 * waiting are refused, not dropped, when the node changes role or shuts down.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import type { Stream, ToxicEffect } from '../../src/faults/proxy/toxics.js';
import { addToxic } from '../../src/faults/toxiproxy.js';
import { cliEntry } from '../../src/lib/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { put, request, startCluster, stateRoot, status } from '../helpers/cluster.js';

let cluster: ReplabCluster;
let n1: string;
let n2: string;

beforeAll(async () => {
  cluster = await startCluster({ name: 'readc', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'async' }, heartbeatMs: 50 });
  n1 = cluster.endpoint('n1').http;
  n2 = cluster.endpoint('n2').http;
});
afterAll(async () => {
  await cluster?.down({ clean: true });
});

/** Adds a toxic to one stream of a proxy link (repl:n2->n1: downstream carries n1's records to n2); returns its removal. */
async function toxic(link: string, name: string, effect: ToxicEffect, streams: Stream[] = ['downstream']): Promise<() => Promise<void>> {
  const proxy = await cluster.toxiproxy().get(link);
  for (const stream of streams) await addToxic(proxy, { ...effect, name: `${name}-${stream}`, stream });
  return async () => {
    for (const stream of streams) await (await proxy.getToxic(`${name}-${stream}`)).remove();
  };
}

async function written(key: string, value: string): Promise<number> {
  const r = await put(n1, key, value);
  expect(r.status).toBe(200);
  return r.body.lsn as number;
}

const applied = async (address: string) => (await status(address)).appliedLsn as number;
const staleMs = async (address: string) => (await status(address)).staleMs as number | null;

describe('read consistency on the KV', () => {
  it('bounded:<ms> on a follower is served within the bound and refused (412 too_stale) past it; a leader always qualifies', async () => {
    const lsn = await written('b', 'v1');
    expect(await waitFor(async () => (await applied(n2)) >= lsn && (await staleMs(n2)) !== null, 10_000)).toBe(true);
    const within = await request(n2, 'GET', '/kv/b?consistency=bounded:5000');
    expect(within.status).toBe(200);
    expect(within.body).toMatchObject({ key: 'b', value: 'v1' });
    expect(Number(within.headers.get('x-replab-stale-ms'))).toBeLessThanOrEqual(5000);

    const heal = await toxic('repl:n2->n1', 'slow', { type: 'latency', attributes: { latency: 400, jitter: 0 } });
    try {
      // Heartbeats now arrive 400 ms late: n2 knows it is at least that far behind.
      expect(await waitFor(async () => ((await staleMs(n2)) ?? 0) > 300, 10_000)).toBe(true);
      const refused = await request(n2, 'GET', '/kv/b?consistency=bounded:200');
      expect(refused.status).toBe(412);
      expect(refused.body).toMatchObject({ code: 'too_stale', boundMs: 200 });
      expect(refused.body.staleMs as number).toBeGreaterThan(200);
      expect(refused.body.appliedLsn as number).toBeGreaterThanOrEqual(lsn);
      expect(refused.body.error).toMatch(/^node n2 is \d+ ms behind the leader; the read allows 200 ms$/);
      // The same follower serves a looser bound, and the leader any bound at all.
      expect((await request(n2, 'GET', '/kv/b?consistency=bounded:60000')).status).toBe(200);
      const leader = await request(n1, 'GET', '/kv/b?consistency=bounded:0');
      expect(leader.status).toBe(200);
      expect(leader.headers.get('x-replab-stale-ms')).toBe('0');
      // Scans take the same consistency.
      expect((await request(n2, 'GET', '/kv?prefix=b&consistency=bounded:200')).body.code).toBe('too_stale');
    } finally {
      await heal();
    }
  });

  it('after:<lsn> waits for the follower to catch up and serves; cut off, it refuses with 412 once waitMs (or the default) runs out', async () => {
    const first = await written('a', 'v1');
    expect(await waitFor(async () => (await applied(n2)) >= first, 10_000)).toBe(true);
    // Already applied: served at once, on the follower and on the leader.
    expect((await request(n2, 'GET', `/kv/a?consistency=after:${first}`)).body).toMatchObject({ value: 'v1' });
    expect((await request(n1, 'GET', `/kv/a?consistency=after:${first}`)).body).toMatchObject({ value: 'v1' });

    const heal = await toxic('repl:n2->n1', 'cut', { type: 'timeout', attributes: { timeout: 0 } }, ['upstream', 'downstream']);
    let healed = false;
    try {
      const second = await written('a', 'v2'); // async: the leader acknowledges alone
      let t0 = Date.now();
      const refused = await request(n2, 'GET', `/kv/a?consistency=after:${second}&waitMs=300`);
      const waited = Date.now() - t0;
      expect(refused.status).toBe(412);
      expect(refused.body).toMatchObject({ code: 'not_caught_up', wantedLsn: second });
      expect(refused.body.appliedLsn as number).toBeLessThan(second);
      expect(refused.body.appliedLsn as number).toBeGreaterThanOrEqual(first);
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(1500);
      // Without waitMs the node waits its default, 1000 ms.
      t0 = Date.now();
      const byDefault = await request(n2, 'GET', `/kv/a?consistency=after:${second}`);
      expect(byDefault.body.code).toBe('not_caught_up');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
      expect(Date.now() - t0).toBeLessThan(3000);

      // A read sent while n2 is cut off waits; the link healed, n2 catches up and serves it.
      expect(await applied(n2)).toBeLessThan(second);
      const pending = request(n2, 'GET', `/kv/a?consistency=after:${second}&waitMs=20000`, undefined, 25_000);
      await heal();
      healed = true;
      const served = await pending;
      expect(served.status).toBe(200);
      expect(served.body).toMatchObject({ key: 'a', value: 'v2' });
      expect(served.body.lsn as number).toBeGreaterThanOrEqual(second);
      expect(served.headers.get('x-replab-applied-lsn')).toBe(String(served.body.lsn));
    } finally {
      if (!healed) await heal();
    }
  });

  it.each([
    ['/kv/a?consistency=bounded:soon', 'consistency bounded:<ms> must be a non-negative integer, got "soon"'],
    ['/kv/a?consistency=after:-1', 'consistency after:<lsn> must be a non-negative integer, got "-1"'],
    ['/kv/a?consistency=after:1.5', 'consistency after:<lsn> must be a non-negative integer, got "1.5"'],
    ['/kv/a?consistency=bounded:86400001', 'consistency bounded:<ms> must be at most 86400000, got 86400001'],
    ['/kv/a?consistency=sometimes', 'consistency must be leader, any, bounded:<ms> or after:<lsn>, got "sometimes"'],
    ['/kv/a?consistency=after:1&waitMs=soon', 'waitMs must be a non-negative integer, got "soon"'],
    ['/kv/a?consistency=after:1&waitMs=30001', 'waitMs must be at most 30000, got 30001'],
    ['/kv?prefix=a&consistency=bounded:x', 'consistency bounded:<ms> must be a non-negative integer, got "x"'],
  ])('GET %s is 400 naming the field', async (url, error) => {
    for (const address of [n1, n2]) {
      const r = await request(address, 'GET', url);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error, code: 'bad_request' });
    }
  });

  it('every read and scan, 200 or 404, on the leader and on a follower, carries the LSN it reflects and the staleness the node knows', async () => {
    const lsn = await written('here', 'v');
    expect(await waitFor(async () => (await applied(n2)) >= lsn && (await staleMs(n2)) !== null, 10_000)).toBe(true);
    for (const [address, who] of [
      [n1, 'n1'],
      [n2, 'n2'],
    ] as const) {
      for (const [url, code] of [
        ['/kv/here', 200],
        ['/kv/nowhere', 404],
        ['/kv?prefix=he', 200],
        ['/kv/here?consistency=any', 200],
      ] as const) {
        const r = await request(address, 'GET', url);
        const what = `${who} ${url}`;
        expect(r.status, what).toBe(code);
        expect(r.body.lsn as number, what).toBeGreaterThanOrEqual(lsn);
        expect(r.headers.get('x-replab-applied-lsn'), what).toBe(String(r.body.lsn));
        const stale = r.headers.get('x-replab-stale-ms');
        expect(stale, what).toMatch(/^\d+$/);
        if (who === 'n1') expect(stale, what).toBe('0');
      }
    }
  });

  it('a read waiting on a follower is refused (503) when that follower is promoted, not left hanging', async () => {
    const far = (await applied(n1)) + 1_000_000;
    const t0 = Date.now();
    const waiting = request(n2, 'GET', `/kv/a?consistency=after:${far}&waitMs=20000`, undefined, 25_000);
    await cluster.switchover('n2');
    const r = await waiting;
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: 'unavailable' });
    expect(r.body.error).toMatch(/^node n2 changed role \(follower → leader\) while the read waited; retry it$/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});

describe('read consistency: shutdown', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('a node shutting down (SIGTERM) answers its waiting reads 503 before it closes their connections', async () => {
    const dataDir = path.join(stateRoot(), `readc-stop-${process.pid}`);
    await fsp.rm(dataDir, { recursive: true, force: true });
    child = spawn(process.execPath, [cliEntry(), 'node', '--id', 'n1', '--data-dir', dataDir, '--token', 't'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    let http: string | undefined;
    const up = await waitFor(async () => {
      http = await fsp.readFile(path.join(dataDir, 'endpoint.json'), 'utf8').then(
        (t) => (JSON.parse(t) as { http: string }).http,
        () => undefined,
      );
      return http !== undefined;
    }, 15_000);
    expect(up, stderr).toBe(true);
    // A leader on its own: lsn 1000 never comes, so both reads wait.
    const t0 = Date.now();
    const reads = [1000, 2000].map((lsn) => request(http!, 'GET', `/kv/k?consistency=after:${lsn}&waitMs=20000`, undefined, 25_000));
    // Both are waiting once the node has taken them: a third read right behind them is answered.
    expect((await request(http!, 'GET', '/kv/k')).status).toBe(404);
    child.kill('SIGTERM');
    for (const r of await Promise.all(reads)) {
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: 'node n1 is shutting down', code: 'unavailable', leader: null });
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await exited).toBe(0);
    await fsp.rm(dataDir, { recursive: true, force: true });
  });
});
