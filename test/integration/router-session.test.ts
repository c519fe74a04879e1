/**
 * Sessions through `replab router` for a client that knows only HTTP: it sends its token in
 * `x-replab-session` and keeps the one each answer gives back. With `--reads session` and
 * replication slowed 200 ms, every read after a write sees that write, though the followers serve
 * most of them; the same client through `--reads followers` (round-robin) does not. A header that
 * is not a token is 400 and reaches no node; a policy the router does not know exits 2.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { addToxic } from '../../src/faults/toxiproxy.js';
import { cliEntry } from '../../src/lib/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { replab } from '../helpers/cli.js';
import { get, startCluster, stateRoot } from '../helpers/cluster.js';

let cluster: ReplabCluster;
const routers: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await startCluster({ name: 'rsession', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'async' }, heartbeatMs: 50 });
  for (const follower of ['n2', 'n3']) {
    const proxy = await cluster.toxiproxy().get(`repl:${follower}->n1`);
    await addToxic(proxy, { name: 'slow', type: 'latency', stream: 'downstream', attributes: { latency: 200, jitter: 0 } });
  }
});
afterAll(async () => {
  for (const r of routers) r.kill('SIGTERM');
  await cluster?.down({ clean: true });
});

/** Starts `replab router --cluster … --reads <reads>` and returns its address. */
async function startRouter(reads: string): Promise<string> {
  const child = spawn(process.execPath, [cliEntry(), 'router', '--cluster', cluster.name, '--state-dir', stateRoot(), '--reads', reads], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  routers.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  expect(await waitFor(() => /router listening on \S+/.test(out), 15_000), err).toBe(true);
  return /router listening on (\S+)/.exec(out)![1]!;
}

/** A plain HTTP client's write-then-read pairs, carrying the token the router hands back. */
async function pairs(router: string, prefix: string, n: number): Promise<{ violations: number; servedBy: Record<string, number>; token: string }> {
  let token: string | undefined;
  let violations = 0;
  const servedBy: Record<string, number> = {};
  const session = (): Record<string, string> => (token === undefined ? {} : { 'x-replab-session': token });
  for (let i = 0; i < n; i++) {
    const url = `http://${router}/kv/${prefix}${i % 4}`;
    const value = `${prefix}-${i}`;
    const w = await fetch(url, { method: 'PUT', body: value, headers: session() });
    expect(w.status).toBe(200);
    const { lsn } = (await w.json()) as { lsn: number };
    // The token coming back is at least the write's LSN, and never goes backwards.
    const afterWrite = w.headers.get('x-replab-session');
    expect(Number(afterWrite)).toBeGreaterThanOrEqual(Math.max(lsn, Number(token ?? 0)));
    token = afterWrite!;
    const r = await fetch(url, { headers: session() });
    // 404: a follower that has not got the key yet (a stale read as much as an older value is).
    expect([200, 404]).toContain(r.status);
    const body = (await r.json()) as { value: string | null; lsn: number };
    if (body.value !== value) violations++;
    const afterRead = r.headers.get('x-replab-session');
    expect(Number(afterRead)).toBe(Math.max(Number(token), body.lsn));
    token = afterRead!;
    const by = r.headers.get('x-replab-served-by') ?? '?';
    servedBy[by] = (servedBy[by] ?? 0) + 1;
  }
  return { violations, servedBy, token: token! };
}

describe('replab router: sessions for plain HTTP clients', () => {
  it('--reads session with x-replab-session reads its own writes through slowed followers; --reads followers does not', async () => {
    const session = await pairs(await startRouter('session'), 's', 30);
    expect(session.violations, JSON.stringify(session.servedBy)).toBe(0);
    expect((session.servedBy.n2 ?? 0) + (session.servedBy.n3 ?? 0), JSON.stringify(session.servedBy)).toBeGreaterThanOrEqual(20);

    const followers = await pairs(await startRouter('followers'), 'f', 30);
    expect(followers.violations, JSON.stringify(followers.servedBy)).toBeGreaterThanOrEqual(1);
  });

  it('a session header that is not a token is 400 naming it, and nothing is forwarded', async () => {
    const router = await startRouter('session');
    for (const bad of ['abc', '-3', '1.5', '']) {
      const r = await fetch(`http://${router}/kv/bad-token`, { method: 'PUT', body: 'x', headers: { 'x-replab-session': bad } });
      expect(r.status, bad).toBe(400);
      expect(await r.json()).toEqual({
        error: `x-replab-session header (the session token, an LSN) must be a non-negative integer, got "${bad}"`,
        code: 'bad_request',
      });
    }
    const read = await fetch(`http://${router}/kv/bad-token`, { headers: { 'x-replab-session': 'soon' } });
    expect(read.status).toBe(400);
    expect(((await read.json()) as { error: string }).error).toMatch(/^x-replab-session header/);
    expect((await get(cluster.endpoint('n1').http, 'bad-token')).status).toBe(404);
  });

  it('--reads with a policy it does not know exits 2 naming the flag', async () => {
    const r = await replab(['router', '--monitor', '127.0.0.1:1', '--reads', 'bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'error: --reads must be leader, followers or a read policy (leader-only, round-robin, least-lag, bounded-staleness:<ms>, session), got "bogus"',
    );
  });
});
