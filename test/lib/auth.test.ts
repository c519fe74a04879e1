/**
 * Signed admin calls and HELLO proofs (src/lib/auth.ts): a proof is good for the one node (or the
 * monitor) and the one cluster it was made for, once, within the clock window.
 */
import { describe, expect, it } from 'vitest';
import { signAdminRequest, signHello, Verifier } from '../../src/lib/auth.js';

const token = 'f'.repeat(32);
const lease = { method: 'POST', path: '/admin/lease', body: '{"epoch":1,"leaseMs":1000,"sentAtMs":0}' };
const signed = (o: { target?: string; cluster?: string; caller?: string; nowMs?: number; nonce?: string; key?: string } = {}) =>
  signAdminRequest(o.key ?? token, {
    ...lease,
    caller: o.caller ?? 'monitor',
    target: o.target ?? 'n2',
    cluster: o.cluster ?? 'c1',
    nowMs: o.nowMs,
    nonce: o.nonce,
  });
const n2 = () => new Verifier(token, { self: { cluster: 'c1', id: 'n2' } });

describe('admin calls', () => {
  it('are accepted by the node they were signed for, once', () => {
    const v = n2();
    const header = signed();
    expect(v.verifyAdmin(header, lease)).toEqual({ ok: true, caller: 'monitor' });
    expect(v.verifyAdmin(header, lease)).toEqual({ ok: false, status: 401, why: 'replayed request (nonce already used)' });
  });

  it('signed for another node, are refused with 403 naming both', () => {
    expect(n2().verifyAdmin(signed({ target: 'n3' }), lease)).toEqual({
      ok: false,
      status: 403,
      why: 'this call was signed for n3, not for n2 (captured on its way to another node?)',
    });
  });

  it('signed for the same node id in another cluster with the same token, are refused with 403', () => {
    expect(n2().verifyAdmin(signed({ cluster: 'c2' }), lease)).toEqual({
      ok: false,
      status: 403,
      why: 'this call was signed for cluster "c2", not for this node\'s cluster "c1"',
    });
  });

  it('whose target is rewritten in the header no longer match their signature', () => {
    const header = signed({ target: 'n3' }).replace(' to=n3 ', ' to=n2 ');
    expect(header).toContain(' to=n2 ');
    expect(n2().verifyAdmin(header, lease)).toMatchObject({ ok: false, status: 401, why: 'wrong cluster token (the signature does not match)' });
    const cluster = signed({ cluster: 'c2' }).replace(' cluster=c2 ', ' cluster=c1 ');
    expect(n2().verifyAdmin(cluster, lease)).toMatchObject({ ok: false, status: 401 });
  });

  it('with another body, path or token, are refused', () => {
    const header = signed();
    expect(n2().verifyAdmin(header, { ...lease, body: lease.body.replace('1000', '99999') })).toMatchObject({ ok: false, status: 401 });
    expect(n2().verifyAdmin(header, { ...lease, path: '/admin/promote' })).toMatchObject({ ok: false, status: 401 });
    expect(n2().verifyAdmin(signed({ key: 'another token' }), lease)).toMatchObject({ ok: false, status: 401 });
  });

  it('in the unbound v1 form, or unsigned, are refused with 401', () => {
    const v1 = signed().replace(/^v2 (id=\S+) to=\S+ cluster=\S+ /, 'v1 $1 ');
    expect(v1).toMatch(/^v1 id=monitor ts=\d+ nonce=/);
    for (const h of [v1, undefined, '', 'Bearer x']) {
      const r = n2().verifyAdmin(h, lease);
      expect(r).toMatchObject({ ok: false, status: 401 });
      expect(r.ok ? '' : r.why).toMatch(/signed "x-replab-auth" header/);
    }
  });

  it('outside the clock window are refused', () => {
    const r = n2().verifyAdmin(signed({ nowMs: Date.now() - 120_000 }), lease);
    expect(r).toMatchObject({ ok: false, status: 401 });
    expect(r.ok ? '' : r.why).toMatch(/away from this node's clock/);
  });

  it('remember nonces per sender: the same nonce from two senders is two calls, twice from one is a replay', () => {
    const v = n2();
    const nonce = 'a'.repeat(32);
    expect(v.verifyAdmin(signed({ caller: 'monitor', nonce }), lease).ok).toBe(true);
    expect(v.verifyAdmin(signed({ caller: 'cli', nonce }), lease).ok).toBe(true);
    expect(v.verifyAdmin(signed({ caller: 'cli', nonce }), lease)).toMatchObject({ ok: false, why: /replayed/ });
  });

  it('get a fresh nonce each time they are signed', () => {
    const nonces = new Set(Array.from({ length: 1000 }, () => /nonce=([0-9a-f]+)/.exec(signed())![1]));
    expect(nonces.size).toBe(1000);
  });

  it('need a verifier that knows whom it verifies for', () => {
    expect(() => new Verifier(token).verifyAdmin(signed(), lease)).toThrow(/knows no identity/);
  });
});

describe('HELLO proofs', () => {
  const hello = { nodeId: 'n3', lastLsn: 10, lastEpoch: 2 };
  const upstream = (id: string, cluster = 'c1') => new Verifier(token, { self: { cluster, id } });
  const bound = (to: string, cluster = 'c1') => ({ ...hello, ...signHello(token, { ...hello, target: { cluster, upstream: to } }) });

  it('bound to an upstream are accepted there once, and refused by another upstream or cluster', () => {
    const v = upstream('n1');
    const h = bound('n1');
    expect(h).toMatchObject({ to: 'n1', cluster: 'c1' });
    expect(v.verifyHello(h)).toEqual({ ok: true, caller: 'n3' });
    expect(v.verifyHello(h)).toMatchObject({ ok: false, why: /replayed/ });
    expect(upstream('n2').verifyHello(bound('n1'))).toEqual({
      ok: false,
      status: 403,
      why: 'this HELLO was signed for upstream n1, not for n2 (captured on its way to another node?)',
    });
    expect(upstream('n1').verifyHello(bound('n1', 'c2'))).toMatchObject({ ok: false, status: 403, why: /cluster "c2"/ });
  });

  it('with the target rewritten no longer match', () => {
    expect(upstream('n2').verifyHello({ ...bound('n1'), to: 'n2' })).toMatchObject({ ok: false, status: 401, why: /does not match/ });
  });

  it('unbound are refused by an upstream that knows its id', () => {
    const h = { ...hello, ...signHello(token, hello) };
    expect(upstream('n1').verifyHello(h)).toMatchObject({ ok: false, status: 401, why: /not bound to an upstream/ });
  });

  it('unbound are still checked by a verifier without an identity (the replication port until it binds them)', () => {
    const v = new Verifier(token);
    const h = { ...hello, ...signHello(token, hello) };
    expect(v.verifyHello(h)).toEqual({ ok: true, caller: 'n3' });
    expect(v.verifyHello(h)).toMatchObject({ ok: false, why: /replayed/ });
    expect(v.verifyHello({ ...h, ...signHello('wrong', hello) })).toMatchObject({ ok: false, why: /wrong cluster token/ });
    expect(v.verifyHello({ ...hello, ts: 1, nonce: 'x', mac: 'y' })).toMatchObject({ ok: false, why: /no valid proof/ });
  });
});
