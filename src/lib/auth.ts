/**
 * Proving knowledge of the cluster token without sending it. Every link of a cluster passes
 * through a fault proxy whose API is unauthenticated (as Toxiproxy's is), so anyone who can reach
 * that API can redirect a link and read what crosses it. What crosses it must therefore be useless
 * to them: an HMAC-SHA256, keyed by the token, over exactly what the message asks for, of whom
 * (which node, in which cluster), with a time and a nonce so a captured message cannot be replayed.
 *
 *   admin calls   header  x-replab-auth: v2 id=<caller> to=<target> cluster=<cluster> ts=<ms> nonce=<hex> mac=<hex>
 *                 mac over "replab-admin-v2", cluster, caller, target, method, path, sha256(body), ts, nonce
 *   HELLO         fields  {nodeId, lastLsn, lastEpoch, ts, nonce, mac, to, cluster}
 *                 mac over "replab-hello-v2", cluster, nodeId, to, lastLsn, lastEpoch, ts, nonce
 *                 (or, unbound, {nodeId, lastLsn, lastEpoch, ts, nonce, mac} over "replab-hello-v1",
 *                 nodeId, lastLsn, lastEpoch, ts, nonce: accepted only by a verifier that does not
 *                 know its own id, which is what the replication port has until it binds HELLOs)
 *
 * The target is the node id the call is meant for ("monitor" for the monitor's API): a call the
 * monitor made to n3, captured on the way and delivered to n2, must not make n2 step down. The
 * cluster is the cluster's name, so a call for another cluster that happens to share the token
 * does nothing here either. Both travel in clear beside the MAC, so a refusal can say for whom the
 * call was meant.
 *
 * A verifier accepts a timestamp within ±`windowMs` of its own clock (the cluster runs on one
 * machine, so clocks agree) and each (sender, nonce) once: nonces are remembered for the window, so
 * a replay inside it is refused and one after it fails the clock check. The remembered set is
 * bounded. A signed request must therefore reach the server exactly once: a client that resends it
 * on its own (fetch does, on a 421 answer) sees its second copy refused as a replay.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const AUTH_HEADER = 'x-replab-auth';
/** The target id of calls to the monitor's API. */
export const MONITOR_TARGET = 'monitor';
const DEFAULT_WINDOW_MS = 30_000;
const MAX_NONCES = 200_000;

/** Who a verifier verifies for: its cluster's name and its own id (a node id, or "monitor"). */
export interface Identity {
  cluster: string;
  id: string;
}

const ID = '[A-Za-z0-9_.-]{1,64}';
const CLUSTER = '[A-Za-z0-9_.-]{1,128}';

function mac(token: string, parts: ReadonlyArray<string | number>): string {
  return createHmac('sha256', token).update(parts.join('\n')).digest('hex');
}

const sha256 = (body: Buffer | string) => createHash('sha256').update(body).digest('hex');

function freshNonce(): string {
  return randomBytes(16).toString('hex');
}

function checkName(what: string, value: string, pattern: string): void {
  // A name outside the pattern could not be parsed back from the header: a bug in the caller.
  if (!new RegExp(`^${pattern}$`).test(value)) throw new Error(`auth: ${what} ${JSON.stringify(value)} is not a valid identifier`);
}

/** The `x-replab-auth` header value for one admin request to `target` in `cluster`. */
export function signAdminRequest(
  token: string,
  r: {
    method: string;
    path: string;
    body: Buffer | string;
    caller: string;
    target: string;
    cluster: string;
    nowMs?: number;
    /** Tests only; a fresh random nonce otherwise. */
    nonce?: string;
  },
): string {
  checkName('caller', r.caller, ID);
  checkName('target', r.target, ID);
  checkName('cluster', r.cluster, CLUSTER);
  const ts = r.nowMs ?? Date.now();
  const nonce = r.nonce ?? freshNonce();
  const m = mac(token, ['replab-admin-v2', r.cluster, r.caller, r.target, r.method.toUpperCase(), r.path, sha256(r.body), ts, nonce]);
  return `v2 id=${r.caller} to=${r.target} cluster=${r.cluster} ts=${ts} nonce=${nonce} mac=${m}`;
}

export interface HelloProof {
  ts: number;
  nonce: string;
  mac: string;
  /** The upstream's id and the cluster, when the HELLO is bound to them. */
  to?: string;
  cluster?: string;
}

/** The proof fields a follower adds to its HELLO; `target` binds it to the upstream it dials. */
export function signHello(
  token: string,
  h: { nodeId: string; lastLsn: number; lastEpoch: number; nowMs?: number; target?: { cluster: string; upstream: string } },
): HelloProof {
  const ts = h.nowMs ?? Date.now();
  const nonce = freshNonce();
  if (!h.target) return { ts, nonce, mac: mac(token, ['replab-hello-v1', h.nodeId, h.lastLsn, h.lastEpoch, ts, nonce]) };
  const { cluster, upstream } = h.target;
  checkName('upstream', upstream, ID);
  checkName('cluster', cluster, CLUSTER);
  return { ts, nonce, to: upstream, cluster, mac: mac(token, ['replab-hello-v2', cluster, h.nodeId, upstream, h.lastLsn, h.lastEpoch, ts, nonce]) };
}

/**
 * 401: not proven to come from the cluster (no or bad signature, stale, replayed); 403: a genuine
 * call, but meant for another node or cluster.
 */
export type Verdict = { ok: true; caller: string } | { ok: false; status: 401 | 403; why: string };

const ADMIN_HEADER = new RegExp(`^v2 id=(${ID}) to=(${ID}) cluster=(${CLUSTER}) ts=(\\d{1,16}) nonce=([0-9a-f]{32}) mac=([0-9a-f]{64})$`);

/** Checks signed requests and HELLOs against one token, remembering nonces for the window. */
export class Verifier {
  private readonly nonces = new Map<string, number>();
  private readonly windowMs: number;
  private readonly self: Identity | undefined;
  /** The verifier's wall clock (a node's clock seam; the process's by default). */
  private readonly now: () => number;

  constructor(
    private readonly token: string,
    options: { self?: Identity; windowMs?: number; now?: () => number } = {},
  ) {
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.self = options.self;
    this.now = options.now ?? Date.now;
  }

  verifyAdmin(header: string | undefined, r: { method: string; path: string; body: Buffer | string }): Verdict {
    const self = this.self;
    if (!self) throw new Error('auth: this verifier knows no identity (node id and cluster), so it cannot check whom a call is for');
    const m = ADMIN_HEADER.exec(header ?? '');
    if (!m)
      return {
        ok: false,
        status: 401,
        why: `admin calls need a signed "${AUTH_HEADER}" header (v2: an HMAC with the cluster token of the request, its target node and cluster)`,
      };
    const [, caller, target, cluster, ts, nonce, given] = m as unknown as [string, string, string, string, string, string, string];
    const want = mac(this.token, ['replab-admin-v2', cluster, caller, target, r.method.toUpperCase(), r.path, sha256(r.body), Number(ts), nonce]);
    if (!sameMac(given, want)) return wrongToken();
    const elsewhere = this.elsewhere('call', { cluster, id: target }, self);
    if (elsewhere) return elsewhere;
    return this.fresh(Number(ts), `${caller}>${target} ${nonce}`, caller);
  }

  verifyHello(h: {
    nodeId: string;
    lastLsn: number;
    lastEpoch: number;
    ts?: unknown;
    nonce?: unknown;
    mac?: unknown;
    to?: unknown;
    cluster?: unknown;
  }): Verdict {
    if (
      typeof h.ts !== 'number' ||
      typeof h.nonce !== 'string' ||
      !/^[0-9a-f]{32}$/.test(h.nonce) ||
      typeof h.mac !== 'string' ||
      !/^[0-9a-f]{64}$/.test(h.mac)
    ) {
      return { ok: false, status: 401, why: 'HELLO carries no valid proof of the cluster token (ts, nonce, mac)' };
    }
    const bound = h.to !== undefined || h.cluster !== undefined;
    if (!bound) {
      if (this.self) return { ok: false, status: 401, why: `HELLO proof is not bound to an upstream and cluster (this is ${this.self.id})` };
      const want = mac(this.token, ['replab-hello-v1', h.nodeId, h.lastLsn, h.lastEpoch, h.ts, h.nonce]);
      if (!sameMac(h.mac, want)) return wrongToken();
      return this.fresh(h.ts, `${h.nodeId} ${h.nonce}`, h.nodeId);
    }
    if (typeof h.to !== 'string' || typeof h.cluster !== 'string')
      return { ok: false, status: 401, why: 'HELLO: "to" and "cluster" must be strings (the upstream id and cluster it is meant for)' };
    const want = mac(this.token, ['replab-hello-v2', h.cluster, h.nodeId, h.to, h.lastLsn, h.lastEpoch, h.ts, h.nonce]);
    if (!sameMac(h.mac, want)) return wrongToken();
    if (this.self) {
      const elsewhere = this.elsewhere('HELLO', { cluster: h.cluster, id: h.to }, this.self);
      if (elsewhere) return elsewhere;
    }
    return this.fresh(h.ts, `${h.nodeId}>${h.to} ${h.nonce}`, h.nodeId);
  }

  /** A genuine message meant for another node or cluster (captured and delivered here), or undefined. */
  private elsewhere(what: 'call' | 'HELLO', meant: Identity, self: Identity): Verdict | undefined {
    if (meant.cluster !== self.cluster)
      return { ok: false, status: 403, why: `this ${what} was signed for cluster "${meant.cluster}", not for this node's cluster "${self.cluster}"` };
    if (meant.id !== self.id) {
      const whom = what === 'HELLO' ? 'upstream ' : '';
      return { ok: false, status: 403, why: `this ${what} was signed for ${whom}${meant.id}, not for ${self.id} (captured on its way to another node?)` };
    }
    return undefined;
  }

  /** The clock and replay checks; `key` names the sender and target with the nonce. */
  private fresh(ts: number, key: string, caller: string): Verdict {
    const now = this.now();
    if (Math.abs(now - ts) > this.windowMs)
      return {
        ok: false,
        status: 401,
        why: `signature timestamp is ${Math.round((now - ts) / 1000)} s away from this node's clock (allowed ±${this.windowMs / 1000} s)`,
      };
    this.forgetExpired(now);
    if (this.nonces.has(key)) return { ok: false, status: 401, why: 'replayed request (nonce already used)' };
    if (this.nonces.size >= MAX_NONCES) return { ok: false, status: 401, why: 'too many signed requests in the replay window; retry shortly' };
    this.nonces.set(key, ts);
    return { ok: true, caller };
  }

  /** Drops nonces whose timestamp left the window (a replay of them fails the clock check anyway). */
  private forgetExpired(now: number): void {
    for (const [key, ts] of this.nonces) {
      if (now - ts <= this.windowMs) break; // insertion order ≈ time order; stop at the first fresh one
      this.nonces.delete(key);
    }
  }
}

function sameMac(given: string, want: string): boolean {
  const a = Buffer.from(given, 'hex');
  const b = Buffer.from(want, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function wrongToken(): Verdict {
  return { ok: false, status: 401, why: 'wrong cluster token (the signature does not match)' };
}
