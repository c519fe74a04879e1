/**
 * Read routing (src/client/read-routing.ts): what each policy picks and where a refusal sends the
 * read next; then the KV data client following those plans against stand-in nodes on loopback,
 * which answer what a real node would (412 too_stale, 412 not_caught_up, silence).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../src/client/client.js';
import { closeKvClients, type Outcome } from '../../src/client/kv-http.js';
import { afterWaitMs, type FollowerView, ReadRouting, readAlong, triesElsewhere, withConsistency } from '../../src/client/read-routing.js';
import { parseReadsSetting, parseSessionToken, type ReadPolicy } from '../../src/lib/read-consistency.js';
import { Rng } from '../../src/lib/rng.js';
import { KvDataClient } from '../../src/systems/replab/kv-data-client.js';

const view = (followers: string[], lags: Record<string, number> = {}): FollowerView => ({ followers: () => followers, lagMs: (a) => lags[a] });
const where = (plan: ReturnType<ReadRouting['plan']>) => plan.map((t) => `${t.to === 'leader' ? 'leader' : t.to.address} ${JSON.stringify(t.consistency)}`);

describe('read routing: what each policy picks', () => {
  it('leader-only reads on the leader with consistency leader, and nowhere else', () => {
    const r = new ReadRouting(view(['f1', 'f2']));
    expect(where(r.plan({ kind: 'leader-only' }, 7))).toEqual(['leader {"kind":"leader"}']);
  });

  it('with no followers known, every policy reads on the leader (with its own consistency)', () => {
    const r = new ReadRouting(view([]));
    const policies: ReadPolicy[] = [{ kind: 'round-robin' }, { kind: 'least-lag' }, { kind: 'bounded-staleness', ms: 50 }, { kind: 'session' }];
    expect(policies.map((p) => where(r.plan(p, 9)))).toEqual([
      ['leader {"kind":"any"}'],
      ['leader {"kind":"any"}'],
      ['leader {"kind":"bounded","ms":50}'],
      ['leader {"kind":"after","lsn":9}'],
    ]);
  });

  it('round-robin takes the followers in turn, each with the leader behind it', () => {
    const r = new ReadRouting(view(['f1', 'f2', 'f3']));
    const firsts = Array.from({ length: 6 }, () => r.plan({ kind: 'round-robin' }, null));
    expect(firsts.map((p) => where(p)[0])).toEqual(['f1', 'f2', 'f3', 'f1', 'f2', 'f3'].map((f) => `${f} {"kind":"any"}`));
    expect(where(firsts[0]!)[1]).toBe('leader {"kind":"any"}');
  });

  it('least-lag takes the follower reporting the least lag; one that reports nothing ranks last', () => {
    expect(where(new ReadRouting(view(['f1', 'f2', 'f3'], { f1: 400, f2: 30, f3: 90 })).plan({ kind: 'least-lag' }, null))).toEqual([
      'f2 {"kind":"any"}',
      'leader {"kind":"any"}',
    ]);
    expect(where(new ReadRouting(view(['f1', 'f2'], { f2: 5000 })).plan({ kind: 'least-lag' }, null))[0]).toBe('f2 {"kind":"any"}');
    expect(where(new ReadRouting(view(['f1', 'f2'])).plan({ kind: 'least-lag' }, null))[0]).toBe('f1 {"kind":"any"}');
  });

  it('bounded-staleness asks every follower in turn, starting from the next, then the leader', () => {
    const r = new ReadRouting(view(['f1', 'f2']));
    const b = { kind: 'bounded-staleness', ms: 100 } as const;
    expect(where(r.plan(b, null))).toEqual(['f1 {"kind":"bounded","ms":100}', 'f2 {"kind":"bounded","ms":100}', 'leader {"kind":"bounded","ms":100}']);
    expect(where(r.plan(b, null))).toEqual(['f2 {"kind":"bounded","ms":100}', 'f1 {"kind":"bounded","ms":100}', 'leader {"kind":"bounded","ms":100}']);
  });

  it('session reads after its token on a follower, then on the leader; before any token, as any', () => {
    const r = new ReadRouting(view(['f1', 'f2']));
    expect(where(r.plan({ kind: 'session' }, 42))).toEqual(['f1 {"kind":"after","lsn":42}', 'leader {"kind":"after","lsn":42}']);
    expect(where(r.plan({ kind: 'session' }, null))).toEqual(['f2 {"kind":"any"}', 'leader {"kind":"any"}']);
  });

  it('only definite refusals move a read on: never a timeout, a lost answer or bad input', () => {
    const fail = (error: string): Outcome => ({ type: 'fail', error });
    for (const e of ['too_stale', 'not_caught_up', 'not_leader', 'unavailable', 'connection refused', 'could not connect (EHOSTUNREACH)'])
      expect(triesElsewhere(fail(e)), e).toBe(true);
    expect(triesElsewhere({ type: 'info', error: 'timeout' })).toBe(false);
    expect(triesElsewhere({ type: 'info', error: 'connection lost (ECONNRESET)' })).toBe(false);
    expect(triesElsewhere(fail('bad_request'))).toBe(false);
    expect(triesElsewhere({ type: 'ok', value: 'v' })).toBe(false);
  });

  it('readAlong stops at the first answer that does not move on; the last target answers whatever it gets', async () => {
    const asked: string[] = [];
    const send = async (t: string) => {
      asked.push(t);
      return t === 'b' ? 'served' : 'refused';
    };
    expect(await readAlong(['a', 'b', 'c'], send, (x) => x === 'refused')).toBe('served');
    expect(asked).toEqual(['a', 'b']);
    expect(await readAlong(['a', 'c'], send, (x) => x === 'refused')).toBe('refused');
  });

  it('paths carry the consistency (and the wait for after:), replacing what the query had', () => {
    expect(withConsistency('/kv/a%2Fb', { kind: 'any' })).toBe('/kv/a%2Fb');
    expect(withConsistency('/kv/k', { kind: 'leader' })).toBe('/kv/k?consistency=leader');
    expect(withConsistency('/kv/k', { kind: 'after', lsn: 12 }, 300)).toBe('/kv/k?consistency=after%3A12&waitMs=300');
    expect(withConsistency('/kv?prefix=r%2F&consistency=any&waitMs=5', { kind: 'bounded', ms: 40 }, 300)).toBe('/kv?prefix=r%2F&consistency=bounded%3A40');
    // The wait is shared out so a refusal leaves time to try elsewhere, within the node's default.
    expect(afterWaitMs(3000, 1)).toBe(1000);
    expect(afterWaitMs(1000, 1)).toBe(450);
    expect(afterWaitMs(1000, 0)).toBe(900);
    expect(afterWaitMs(5, 1)).toBe(2);
  });

  it('settings accept the policies and the older names; tokens are decimal LSNs', () => {
    expect(parseReadsSetting('leader')).toEqual({ ok: true, value: { kind: 'leader-only' } });
    expect(parseReadsSetting('followers')).toEqual({ ok: true, value: { kind: 'round-robin' } });
    expect(parseReadsSetting('bounded-staleness:250')).toEqual({ ok: true, value: { kind: 'bounded-staleness', ms: 250 } });
    expect(parseReadsSetting('nearest')).toEqual({
      ok: false,
      error: 'must be leader, followers or a read policy (leader-only, round-robin, least-lag, bounded-staleness:<ms>, session), got "nearest"',
    });
    expect(parseReadsSetting('bounded-staleness:soon')).toEqual({ ok: false, error: 'bounded-staleness:<ms> must be a non-negative integer, got "soon"' });
    expect(parseSessionToken('17', 'token')).toEqual({ ok: true, value: 17 });
    expect(parseSessionToken('-1', 'token')).toEqual({ ok: false, error: 'token must be a non-negative integer, got "-1"' });
    expect(parseSessionToken('', 'token').ok).toBe(false);
  });
});

// ---- the KV data client against stand-in nodes ----------------------------------------------

interface FakeNode {
  id: string;
  http: string;
  /** Paths asked of this node. */
  asked: string[];
  server: http.Server;
}

type Answer = { status: number; body: Record<string, unknown> } | 'silence';

let fakes: FakeNode[] = [];
afterEach(async () => {
  closeKvClients();
  for (const f of fakes) {
    f.server.closeAllConnections();
    await new Promise((r) => f.server.close(r));
  }
  fakes = [];
});

async function fakeNode(id: string, answer: (path: string) => Answer): Promise<FakeNode> {
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    // No /status: the cluster client's leader lookup learns nothing and keeps n1.
    if (req.url === '/status') {
      res.writeHead(404).end();
      return;
    }
    asked.push(req.url ?? '');
    const a = answer(req.url ?? '');
    if (a !== 'silence') res.writeHead(a.status, { 'content-type': 'application/json', 'x-replab-node': id }).end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const node = { id, http: `127.0.0.1:${(server.address() as AddressInfo).port}`, asked, server };
  fakes.push(node);
  return node;
}

const served = (value: string, lsn: number): Answer => ({ status: 200, body: { key: 'k', value, lsn, epoch: 1 } });
const refused = (code: string, extra: Record<string, unknown> = {}): Answer => ({ status: 412, body: { error: code, code, ...extra } });

async function clientOver(nodes: FakeNode[]): Promise<KvDataClient> {
  return new KvDataClient(new ClusterClient({ nodes: nodes.map((n) => ({ id: n.id, http: n.http })), leaderId: nodes[0]!.id }));
}

const read = (c: KvDataClient, policy: ReadPolicy, token: number | null, timeoutMs = 2000) => c.read({ key: 'k', policy, token, rng: new Rng(1), timeoutMs });

describe('the KV data client follows the plan', () => {
  it('bounded-staleness: each follower refuses too_stale, so the leader serves; every node got the bound', async () => {
    const n1 = await fakeNode('n1', () => served('fresh', 30));
    const n2 = await fakeNode('n2', () => refused('too_stale', { staleMs: 900, boundMs: 100, appliedLsn: 20 }));
    const n3 = await fakeNode('n3', () => refused('too_stale', { staleMs: null, boundMs: 100, appliedLsn: 0 }));
    const out = await read(await clientOver([n1, n2, n3]), { kind: 'bounded-staleness', ms: 100 }, null);
    expect(out).toMatchObject({ type: 'ok', value: 'fresh', node: 'n1', lsn: 30 });
    for (const n of [n1, n2, n3]) expect(n.asked).toEqual(['/kv/k?consistency=bounded%3A100']);
  });

  it('session: a follower not caught up refuses, and the leader serves the read after the token', async () => {
    const n1 = await fakeNode('n1', () => served('mine', 42));
    const n2 = await fakeNode('n2', () => refused('not_caught_up', { appliedLsn: 40, wantedLsn: 42, waitedMs: 5 }));
    const out = await read(await clientOver([n1, n2]), { kind: 'session' }, 42);
    expect(out).toMatchObject({ type: 'ok', value: 'mine', node: 'n1', lsn: 42 });
    expect(n2.asked).toHaveLength(1);
    expect(n2.asked[0]).toMatch(/^\/kv\/k\?consistency=after%3A42&waitMs=\d+$/);
    expect(n1.asked[0]).toMatch(/^\/kv\/k\?consistency=after%3A42&waitMs=\d+$/);
  });

  it('a follower that answers serves the read; its node and lsn come back with it', async () => {
    const n1 = await fakeNode('n1', () => served('leader', 50));
    const n2 = await fakeNode('n2', () => served('follower', 44));
    const out = await read(await clientOver([n1, n2]), { kind: 'round-robin' }, null);
    expect(out).toMatchObject({ type: 'ok', value: 'follower', node: 'n2', lsn: 44 });
    expect(n1.asked).toEqual([]);
  });

  it('a follower that does not answer in time is info, and the read goes nowhere else (it may have been served)', async () => {
    const n1 = await fakeNode('n1', () => served('leader', 50));
    const n2 = await fakeNode('n2', () => 'silence');
    const out = await read(await clientOver([n1, n2]), { kind: 'round-robin' }, null, 300);
    expect(out).toEqual({ type: 'info', error: 'timeout' });
    expect(n1.asked).toEqual([]);
  });

  it('bad input on a follower is the answer, not a reason to try the leader', async () => {
    const n1 = await fakeNode('n1', () => served('leader', 50));
    const n2 = await fakeNode('n2', () => ({ status: 400, body: { error: 'consistency must be …', code: 'bad_request' } }));
    const out = await read(await clientOver([n1, n2]), { kind: 'session' }, 3);
    expect(out).toMatchObject({ type: 'fail', error: 'bad_request', node: 'n2' });
    expect(n1.asked).toEqual([]);
  });

  it('leader-only asks the leader for a leader read', async () => {
    const n1 = await fakeNode('n1', () => served('leader', 50));
    const n2 = await fakeNode('n2', () => served('follower', 44));
    expect(await read(await clientOver([n1, n2]), { kind: 'leader-only' }, null)).toMatchObject({ type: 'ok', node: 'n1' });
    expect(n1.asked).toEqual(['/kv/k?consistency=leader']);
    expect(n2.asked).toEqual([]);
  });
});
