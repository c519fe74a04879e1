/**
 * The HTTP/1.1 client API of a node:
 *
 *   PUT /kv/{key}        body = value (UTF-8, ≤ 1 MiB)      → {"key","value","lsn","epoch"}
 *   GET /kv/{key}        [?consistency=…][&waitMs=N]       → {"key","value","lsn","epoch"} | 404 value null
 *   DELETE /kv/{key}                                       → {"key","value":null,"lsn","epoch","existed"}
 *   POST /kv/{key}/cas   {"expected": v|null, "value": v}   → 200 | 409 with the current value
 *   GET /kv?prefix=p     [&consistency=…][&waitMs=N]       → {"items":[{key,value}],"lsn","epoch"}
 *   GET /status (JSON)   GET /metrics (Prometheus text)
 *
 * Reads and scans take a consistency (src/lib/read-consistency.ts parses it; absent is `any`):
 *   leader        only the leader serves (a follower: 421 not_leader with the leader's address)
 *   any           the node's visible state: a follower's applied log, a leader's committed one
 *   bounded:<ms>  a follower serves only while it knows it is at most <ms> behind the leader,
 *                 else 412 too_stale {staleMs, boundMs, appliedLsn}; a leader always qualifies
 *   after:<lsn>   the node first waits until it has applied <lsn>, at most waitMs (default 1000,
 *                 at most 30000), else 412 not_caught_up {appliedLsn, wantedLsn, waitedMs}
 * A leader serves any of them only while its lease holds. Every answer to a read or scan (200 and
 * 404) carries the LSN its state reflects, as `lsn` and `x-replab-applied-lsn`, and
 * `x-replab-stale-ms` when the node knows how far behind the leader it is (0 on the leader). A
 * malformed consistency or waitMs is 400 naming it.
 *
 * Admin calls (the monitor's), JSON bodies signed with the cluster token (`x-replab-auth`, an HMAC
 * of method, path, body, caller, target node, cluster, time and nonce: src/lib/auth.ts; the token
 * itself never crosses the wire, a captured call cannot be replayed, and a call signed for another
 * node or cluster is refused with 403), each with the caller's epoch (older is refused with 409
 * stale_epoch, newer is adopted):
 *   POST /admin/lease    {"epoch", "leaseMs", "anchor"?}               renew the leader's lease
 *   POST /admin/promote  {"epoch", "leaseMs", "anchor"?, "syncStandbys"?}  follower → leader
 *   POST /admin/follow   {"epoch", "upstream", "leaderHttp"?}          (leader → ) follower of upstream
 *   POST /admin/fence    {"epoch", "fenced"}                           switchover: stop taking writes
 * Each answers with the node's short status.
 *
 * A request from a web browser (src/lib/browser-guard.ts) is refused with 403 before anything is
 * read, on every route; cas and admin calls take only `Content-Type: application/json` (415
 * otherwise), while a PUT takes its raw value with any Content-Type.
 *
 * Every error is one JSON line `{"error": "...", "code": "..."}` from the table in protocol.ts;
 * anything unexpected is a logged 500. No input can crash the process.
 */
import http from 'node:http';
import { AUTH_HEADER, Verifier } from '../../lib/auth.js';
import { browserMark, browserRefusal, isJsonContentType, jsonRequired } from '../../lib/browser-guard.js';
import { BodyError, parseJsonBounded, readBody as readBoundedBody } from '../../lib/http-body.js';
import { type Clock, systemClock } from '../../lib/io/clock.js';
import { type Listener, type Network, tcpNetwork } from '../../lib/io/network.js';
import { parseAfterWait, parseConsistency, type ReadConsistency } from '../../lib/read-consistency.js';
import type { KvNode } from '../node/node.js';
import { APPLIED_LSN_HEADER, KvError, KvErrors, NODE_HEADER, STALE_MS_HEADER } from '../protocol.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../wal/record.js';
import { type AdminAction, isAdminAction, parseAdminBody, parseCasBody } from './bodies.js';
import { renderMetrics } from './metrics.js';

const CAS_BODY_LIMIT_BYTES = 2 * MAX_VALUE_BYTES + 4096;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class HttpApi {
  private server: http.Server | undefined;
  private listener: Listener | undefined;

  private readonly verifier: Verifier;
  /** Set once `close` began: reads that would wait are refused instead. */
  private closing = false;
  /** Answers of reads that waited for an LSN, still being written: `close` lets them finish. */
  private readonly waitedAnswers = new Set<Promise<void>>();

  constructor(
    private readonly node: KvNode,
    private readonly io: { network: Network; clock: Clock } = { network: tcpNetwork, clock: systemClock },
  ) {
    this.verifier = new Verifier(node.config.token, { self: { cluster: node.config.cluster, id: node.config.id }, now: () => io.clock.now() });
  }

  async listen(host: string, port: number): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    this.server.keepAliveTimeout = 30_000;
    // Malformed HTTP never reaches `handle`: answer it with a plain 400 and keep serving.
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable)
        socket.end(
          'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n{"error":"malformed HTTP request","code":"bad_request"}\n',
        );
      else socket.destroy();
    });
    this.listener = await this.io.network.serveHttp(this.server, host, port);
    return `${host}:${this.listener.port}`;
  }

  /**
   * Refuses the reads still waiting for an LSN (503, definite, so their clients can go elsewhere)
   * and gives those answers a moment to leave before every connection is closed; without this a
   * waiting client would only see its connection cut.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.node.refuseWaitingReads(() => new KvError('unavailable', `node ${this.node.config.id} is shutting down`, { leader: null }));
    if (this.waitedAnswers.size > 0) {
      let timer: { cancel(): void } | undefined;
      await Promise.race([Promise.all(this.waitedAnswers), new Promise<void>((r) => (timer = this.io.clock.after(1000, r)))]);
      timer?.cancel();
    }
    await this.listener?.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader(NODE_HEADER, this.node.config.id);
    // A web page can make the operator's browser send this request (a cross-origin "simple" POST
    // needs no preflight): refuse it before reading a byte of its body.
    const mark = browserMark(req.headers);
    if (mark) throw new KvError('forbidden', browserRefusal(mark));
    // The raw path, not a normalised one: `/kv/..` names the key "..", and `/kv/../status` must not
    // reach /status.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const p = q < 0 ? raw : raw.slice(0, q);
    // Parsed only by the routes that read a query: a PUT has no use for it.
    const url = () => new URL(q < 0 ? '/' : `/${raw.slice(q)}`, 'http://node');
    const method = req.method ?? 'GET';
    if (p === '/status') return this.only(method, ['GET'], () => this.json(res, 200, this.node.status()));
    if (p === '/metrics') {
      return this.only(method, ['GET'], () => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(renderMetrics(this.node.status()));
      });
    }
    if (p === '/kv' || p === '/kv/') return this.only(method, ['GET'], () => this.scan(res, url()));
    if (p.startsWith('/admin/')) {
      if (method !== 'POST') throw new KvError('method_not_allowed', `${method} is not allowed here (use POST)`);
      return this.admin(req, res, p.slice(7));
    }
    if (!p.startsWith('/kv/')) throw new KvError('unknown_route', `no route for ${method} ${p}`);
    const rest = p.slice(4);
    if (method === 'POST' && rest.endsWith('/cas')) return this.cas(req, res, parseKey(rest.slice(0, -4)));
    const key = parseKey(rest);
    switch (method) {
      case 'GET':
        return this.read(res, key, url());
      case 'PUT':
        return this.put(req, res, key);
      case 'DELETE':
        return this.del(res, key);
      default:
        throw new KvError('method_not_allowed', `${method} is not allowed on /kv/{key} (use GET, PUT, DELETE, or POST /kv/{key}/cas)`);
    }
  }

  private only(method: string, allowed: string[], run: () => void | Promise<void>): void | Promise<void> {
    if (!allowed.includes(method)) throw new KvError('method_not_allowed', `${method} is not allowed here (use ${allowed.join(', ')})`);
    return run();
  }

  private async read(res: http.ServerResponse, key: string, url: URL): Promise<void> {
    await this.meetConsistency(res, url);
    const node = this.node;
    const value = node.visible.get(key) ?? null;
    this.json(res, value === null ? 404 : 200, { key, value, lsn: node.visible.lsn, epoch: node.epoch });
  }

  private async scan(res: http.ServerResponse, url: URL): Promise<void> {
    await this.meetConsistency(res, url);
    const node = this.node;
    const prefix = url.searchParams.get('prefix') ?? '';
    this.json(res, 200, { items: node.visible.scan(prefix), lsn: node.visible.lsn, epoch: node.epoch });
  }

  /**
   * Returns once this node may serve the read's consistency (after waiting, for `after:`), with
   * the position headers set; throws the definite refusal otherwise. Everything after it is
   * synchronous, so the state served is the one these checks saw.
   */
  private async meetConsistency(res: http.ServerResponse, url: URL): Promise<void> {
    const node = this.node;
    const c = readConsistencyOf(url);
    if (c.consistency.kind === 'leader' && node.roleName !== 'leader')
      throw new KvError('not_leader', `node ${node.config.id} is a follower; leader reads go to the leader`, { leader: node.leaderHttp() });
    if (c.consistency.kind === 'after' && node.visible.lsn < c.consistency.lsn) {
      if (this.closing) throw new KvError('unavailable', `node ${node.config.id} is shutting down`, { leader: null });
      await this.waitVisible(res, c.consistency.lsn, c.waitMs);
    }
    node.requireLeaderLease();
    const staleMs = node.stalenessMs();
    res.setHeader(APPLIED_LSN_HEADER, String(node.visible.lsn));
    if (staleMs !== undefined) res.setHeader(STALE_MS_HEADER, String(staleMs));
    if (c.consistency.kind === 'bounded' && (staleMs === undefined || staleMs > c.consistency.ms)) {
      const known = staleMs === undefined ? 'does not know how far behind the leader it is yet' : `is ${staleMs} ms behind the leader`;
      throw new KvError('too_stale', `node ${node.config.id} ${known}; the read allows ${c.consistency.ms} ms`, {
        staleMs: staleMs ?? null,
        boundMs: c.consistency.ms,
        appliedLsn: node.visible.lsn,
      });
    }
  }

  /** `after:` — waits for the node to apply `lsn`; a client that hangs up stops the wait. */
  private async waitVisible(res: http.ServerResponse, lsn: number, waitMs: number): Promise<void> {
    const gone = new AbortController();
    const answered = new Promise<void>((resolve) =>
      res.once('close', () => {
        gone.abort();
        resolve();
      }),
    );
    this.waitedAnswers.add(answered);
    void answered.then(() => this.waitedAnswers.delete(answered));
    await this.node.waitVisible(lsn, waitMs, gone.signal);
  }

  private async put(req: http.IncomingMessage, res: http.ServerResponse, key: string): Promise<void> {
    this.guardWrite();
    const value = decodeUtf8(await readBody(req, MAX_VALUE_BYTES));
    const r = await this.node.write({ type: 'put', key, value });
    this.json(res, 200, { key, value, lsn: r.lsn, epoch: r.epoch });
  }

  private async del(res: http.ServerResponse, key: string): Promise<void> {
    const r = await this.node.del(key);
    this.json(res, 200, { key, value: null, lsn: r.lsn, epoch: r.epoch, existed: r.existed });
  }

  private async cas(req: http.IncomingMessage, res: http.ServerResponse, key: string): Promise<void> {
    requireJson(req, 'cas');
    this.guardWrite();
    const body = casBodyOf(decodeUtf8(await readBody(req, CAS_BODY_LIMIT_BYTES)));
    const r = await this.node.cas(key, body.expected, body.value);
    if (r.ok) return this.json(res, 200, { key, value: body.value, lsn: r.lsn, epoch: r.epoch });
    this.json(res, 409, {
      error: `cas failed: expected ${JSON.stringify(body.expected)}`,
      code: 'cas_mismatch',
      key,
      value: r.current,
      lsn: r.lsn,
      epoch: r.epoch,
    });
  }

  /** Refuse writes on a follower (or a leader without lease) before reading a possibly large body. */
  private guardWrite(): void {
    this.node.requireWritable();
  }

  private async admin(req: http.IncomingMessage, res: http.ServerResponse, action: string): Promise<void> {
    const node = this.node;
    requireJson(req, 'an admin call');
    const raw = await readBody(req, 64 * 1024);
    const auth = this.verifier.verifyAdmin(headerValue(req.headers[AUTH_HEADER]), { method: 'POST', path: `/admin/${action}`, body: raw });
    if (!auth.ok) throw new KvError(auth.status === 403 ? 'forbidden' : 'unauthorized', `admin call refused: ${auth.why}`);
    if (!isAdminAction(action)) throw new KvError('unknown_route', `no admin action "${action}" (lease, promote, follow, fence)`);
    const json = jsonOf(decodeUtf8(raw));
    switch (action) {
      case 'lease': {
        const b = adminBody('lease', json);
        await node.renewLease(b.epoch, b.leaseMs, b.anchor);
        break;
      }
      case 'promote': {
        const b = adminBody('promote', json);
        await node.promote(b.epoch, b.leaseMs, b.anchor, b.syncStandbys);
        break;
      }
      case 'follow': {
        const b = adminBody('follow', json);
        await node.follow(b.epoch, { address: b.upstream, id: b.upstreamId }, b.leaderHttp ?? null);
        break;
      }
      case 'fence': {
        const b = adminBody('fence', json);
        const r = await node.handOver(b.epoch, b.fenced);
        return this.json(res, 200, { ...node.shortStatus(), ...r });
      }
    }
    this.json(res, 200, node.shortStatus());
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: http.ServerResponse, e0: unknown): void {
    const e = toKvError(e0);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof KvError) {
      // Refused before or while its body was read: the rest of the body is not worth waiting for,
      // so the connection carries no further request.
      if (['value_too_large', 'request_timeout', 'forbidden', 'unsupported_media_type'].includes(e.code)) res.setHeader('connection', 'close');
      this.json(res, e.status, { error: e.message, code: e.code, ...e.extra });
      return;
    }
    this.node.log.error({ err: e instanceof Error ? e.stack : String(e) }, 'internal error serving a request');
    this.json(res, KvErrors.internal.status, { error: `internal error: ${e instanceof Error ? e.message : String(e)}`, code: 'internal' });
  }
}

/** A read's `consistency` and `waitMs` parameters, or a 400 naming the one that is wrong. */
function readConsistencyOf(url: URL): { consistency: ReadConsistency; waitMs: number } {
  const c = parseConsistency(url.searchParams.get('consistency'));
  if (!c.ok) throw new KvError('bad_request', c.error);
  const w = parseAfterWait(url.searchParams.get('waitMs'));
  if (!w.ok) throw new KvError('bad_request', w.error);
  return { consistency: c.value, waitMs: w.value };
}

function parseKey(encoded: string): string {
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    throw new KvError('bad_request', `key is not valid URL encoding: "${encoded.slice(0, 80)}"`);
  }
  if (key.length === 0) throw new KvError('bad_request', 'key must not be empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new KvError('bad_request', `key must be at most ${MAX_KEY_BYTES} bytes`);
  return key;
}

function decodeUtf8(buf: Buffer): string {
  try {
    return utf8.decode(buf);
  } catch {
    throw new KvError('bad_request', 'body is not valid UTF-8');
  }
}

/** Reads a request body within the size limit and the body timeout, as a KvError when it cannot. */
async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await readBoundedBody(req, { limitBytes: limit });
  } catch (e: unknown) {
    throw toKvError(e);
  }
}

function toKvError(e: unknown): unknown {
  if (!(e instanceof BodyError)) return e;
  return new KvError(e.status === 413 ? 'value_too_large' : e.status === 408 ? 'request_timeout' : 'bad_request', e.message);
}

/** JSON endpoints refuse any other Content-Type (415) before reading the body. */
function requireJson(req: http.IncomingMessage, what: string): void {
  if (!isJsonContentType(req.headers)) throw new KvError('unsupported_media_type', jsonRequired(req.headers, what));
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function jsonOf(text: string): unknown {
  try {
    return parseJsonBounded(text, 'admin body');
  } catch {
    throw new KvError('bad_request', 'admin body must be a JSON object (at most 64 levels deep)');
  }
}

function adminBody<A extends AdminAction>(action: A, json: unknown) {
  const r = parseAdminBody(action, json);
  if (!r.ok) throw new KvError('bad_request', r.error);
  return r.body;
}

/** The cas body, or the 400 (413 for a value over the limit) naming what is wrong. */
function casBodyOf(text: string): { expected: string | null; value: string } {
  let v: unknown;
  try {
    v = parseJsonBounded(text, 'cas body');
  } catch (e: unknown) {
    throw new KvError(
      'bad_request',
      e instanceof BodyError && e.message.includes('nested') ? e.message : 'cas body must be JSON {"expected": string|null, "value": string}',
    );
  }
  const r = parseCasBody(v);
  if (!r.ok) throw new KvError(r.tooLarge ? 'value_too_large' : 'bad_request', r.error);
  return r.body;
}
