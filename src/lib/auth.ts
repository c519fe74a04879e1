/**
 * Proving knowledge of the cluster token without sending it. Every link of a cluster passes
 * through a fault proxy whose API is unauthenticated (as Toxiproxy's is), so anyone who can reach
 * that API can redirect a link and read what crosses it. What crosses it must therefore be useless
 * to them: an HMAC-SHA256, keyed by the token, over exactly what the message asks for, with a time
 * and a nonce so a captured message cannot be replayed.
 *
 *   admin calls   header  x-replab-auth: v1 id=<caller> ts=<ms> nonce=<hex> mac=<hex>
 *                 mac over "replab-admin-v1", method, path, sha256(body), caller, ts, nonce
 *   HELLO         fields  {nodeId, lastLsn, lastEpoch, ts, nonce, mac}
 *                 mac over "replab-hello-v1", nodeId, lastLsn, lastEpoch, ts, nonce
 *
 * A verifier accepts a timestamp within ±`windowMs` of its own clock (the cluster runs on one
 * machine, so clocks agree) and each nonce once: nonces are remembered for the window, so a replay
 * inside it is refused and one after it fails the clock check. The remembered set is bounded.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const AUTH_HEADER = 'x-replab-auth';
const DEFAULT_WINDOW_MS = 30_000;
const MAX_NONCES = 200_000;

function mac(token: string, parts: ReadonlyArray<string | number>): string {
  return createHmac('sha256', token).update(parts.join('\n')).digest('hex');
}

const sha256 = (body: Buffer | string) => createHash('sha256').update(body).digest('hex');

function freshNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The `x-replab-auth` header value for one admin request. */
export function signAdminRequest(token: string, r: { method: string; path: string; body: Buffer | string; caller: string; nowMs?: number }): string {
  const ts = r.nowMs ?? Date.now();
  const nonce = freshNonce();
  return `v1 id=${r.caller} ts=${ts} nonce=${nonce} mac=${mac(token, ['replab-admin-v1', r.method.toUpperCase(), r.path, sha256(r.body), r.caller, ts, nonce])}`;
}

export interface HelloProof {
  ts: number;
  nonce: string;
  mac: string;
}

/** The proof fields a follower adds to its HELLO. */
export function signHello(token: string, h: { nodeId: string; lastLsn: number; lastEpoch: number; nowMs?: number }): HelloProof {
  const ts = h.nowMs ?? Date.now();
  const nonce = freshNonce();
  return { ts, nonce, mac: mac(token, ['replab-hello-v1', h.nodeId, h.lastLsn, h.lastEpoch, ts, nonce]) };
}

export type Verdict = { ok: true; caller: string } | { ok: false; why: string };

/** Checks signed requests and HELLOs against one token, remembering nonces for the window. */
export class Verifier {
  private readonly nonces = new Map<string, number>();
  private readonly windowMs: number;

  constructor(
    private readonly token: string,
    options: { windowMs?: number } = {},
  ) {
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  }

  verifyAdmin(header: string | undefined, r: { method: string; path: string; body: Buffer | string }): Verdict {
    const m = /^v1 id=([A-Za-z0-9_-]{1,64}) ts=(\d{1,16}) nonce=([0-9a-f]{32}) mac=([0-9a-f]{64})$/.exec(header ?? '');
    if (!m) return { ok: false, why: `admin calls need a signed "${AUTH_HEADER}" header (HMAC of the request with the cluster token)` };
    const [, caller, ts, nonce, given] = m as unknown as [string, string, string, string, string];
    const want = mac(this.token, ['replab-admin-v1', r.method.toUpperCase(), r.path, sha256(r.body), caller, Number(ts), nonce]);
    return this.check(given, want, Number(ts), nonce, caller);
  }

  verifyHello(h: { nodeId: string; lastLsn: number; lastEpoch: number; ts: unknown; nonce: unknown; mac: unknown }): Verdict {
    if (
      typeof h.ts !== 'number' ||
      typeof h.nonce !== 'string' ||
      !/^[0-9a-f]{32}$/.test(h.nonce) ||
      typeof h.mac !== 'string' ||
      !/^[0-9a-f]{64}$/.test(h.mac)
    ) {
      return { ok: false, why: 'HELLO carries no valid proof of the cluster token (ts, nonce, mac)' };
    }
    const want = mac(this.token, ['replab-hello-v1', h.nodeId, h.lastLsn, h.lastEpoch, h.ts, h.nonce]);
    return this.check(h.mac, want, h.ts, h.nonce, h.nodeId);
  }

  private check(given: string, want: string, ts: number, nonce: string, caller: string): Verdict {
    const a = Buffer.from(given, 'hex');
    const b = Buffer.from(want, 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, why: 'wrong cluster token (the signature does not match)' };
    const now = Date.now();
    if (Math.abs(now - ts) > this.windowMs)
      return { ok: false, why: `signature timestamp is ${Math.round((now - ts) / 1000)} s away from this node's clock (allowed ±${this.windowMs / 1000} s)` };
    this.forgetExpired(now);
    if (this.nonces.has(nonce)) return { ok: false, why: 'replayed request (nonce already used)' };
    if (this.nonces.size >= MAX_NONCES) return { ok: false, why: 'too many signed requests in the replay window; retry shortly' };
    this.nonces.set(nonce, ts);
    return { ok: true, caller };
  }

  /** Drops nonces whose timestamp left the window (a replay of them fails the clock check anyway). */
  private forgetExpired(now: number): void {
    for (const [nonce, ts] of this.nonces) {
      if (now - ts <= this.windowMs) break; // insertion order ≈ time order; stop at the first fresh one
      this.nonces.delete(nonce);
    }
  }
}
