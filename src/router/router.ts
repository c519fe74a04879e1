/**
 * `replab router`: one HTTP port in front of the cluster, in the role HAProxy or PgBouncer play in
 * front of PostgreSQL. Writes go to the leader the monitor names; reads go where the router's read
 * policy sends them (src/client/read-routing.ts, the same module the workload client uses):
 * `leader-only` (`leader`), `round-robin` over the followers the monitor sees reachable
 * (`followers`), `least-lag` (each follower's own /status lag, polled at every refresh),
 * `bounded-staleness:<ms>`, `session`. Every answer gets `x-replab-served-by: <node>`.
 *
 * Sessions for plain HTTP clients: a client sends its token, the highest LSN it has written or
 * read, as `x-replab-session: <lsn>` with each request, and every answer carries
 * `x-replab-session: <token>` advanced by the LSN of that answer (its body's `lsn`, else its
 * `x-replab-applied-lsn`). Under `session` a read goes to a follower with
 * `consistency=after:<token>` and, refused, to the leader, so the client reads its own writes and
 * never goes back in time. Under other policies the header is still checked and advanced, but
 * does not steer reads. A header that is not a decimal LSN is 400, and the request goes nowhere.
 * A read whose query names its own `consistency` goes to the leader as it is (the leader meets
 * every consistency).
 *
 * Like the client library it retries on another node only what certainly did not happen: a
 * connection refused before the request was sent, or a node answering 421 not-leader / 503
 * unavailable, and for a read on a follower 412 too_stale / not_caught_up. A request lost after
 * it was sent is answered 502 `bad_gateway` (indefinite).
 *
 * A request from a web browser (src/lib/browser-guard.ts) is refused with 403 before its body is
 * read, and never forwarded. Content types are the nodes' to check: a cas sent as text/plain gets
 * the node's 415.
 */
import http from 'node:http';
import { ClusterClient } from '../client/client.js';
import { afterWaitMs, ReadRouting, readAlong, withConsistency } from '../client/read-routing.js';
import { APPLIED_LSN_HEADER, NODE_HEADER, SERVED_BY_HEADER, SESSION_HEADER } from '../kv/protocol.js';
import { MAX_VALUE_BYTES } from '../kv/wal/record.js';
import { browserMark, browserRefusal } from '../lib/browser-guard.js';
import { EnvironmentError, toError } from '../lib/errors.js';
import { BodyError, readBody } from '../lib/http-body.js';
import { closeHttp, listenHttp } from '../lib/http-server.js';
import type { Logger } from '../lib/log.js';
import { formatReadPolicy, parseReadsSetting, parseSessionToken, type ReadConsistency, type ReadPolicy } from '../lib/read-consistency.js';
import { isRecord } from '../lib/schema.js';
import { fetchMonitorView } from '../monitor/api-types.js';

export interface RouterOptions {
  monitor: string;
  /** Where reads go: a policy, or `leader` / `followers` (leader-only / round-robin). */
  reads: ReadPolicy | 'leader' | 'followers';
  /** How long one request may spend being retried. @default 10000 */
  timeoutMs?: number;
  /** How often the router asks the monitor who leads (and, for least-lag, the followers their lag). @default 200 */
  refreshMs?: number;
  /**
   * Node address (as the monitor names it) → the address the router should use instead: a
   * cluster's `client:` proxy links, so faults cut between clients and nodes cut the router too.
   */
  aliases?: Record<string, string>;
}

type Forwarded =
  | { kind: 'response'; address: string; status: number; headers: http.IncomingHttpHeaders; body: Buffer }
  | { kind: 'refused'; address: string; error: string }
  | { kind: 'lost'; address: string; error: string };

/** One place a request may go: the leader (followed through failovers), or one follower; `consistency` only for reads of /kv. */
interface Hop {
  to: 'leader' | { address: string };
  consistency?: ReadConsistency;
}

const BODY_LIMIT = 2 * MAX_VALUE_BYTES + 4096;

/** Errors after which a read on a follower goes on to the next place its policy names. */
const FOLLOWER_REFUSALS = new Set(['not_leader', 'unavailable', 'too_stale', 'not_caught_up']);
/** Errors after which a request to the leader is retried on the (new) leader. */
const LEADER_REFUSALS = new Set(['not_leader', 'unavailable']);

export class Router {
  private server: http.Server | undefined;
  private client: ClusterClient | undefined;
  private routing: ReadRouting | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private nodeIds = new Map<string, string>();
  private readonly policy: ReadPolicy;
  readonly counters = { forwarded: 0, retried: 0, lost: 0 };

  constructor(
    private readonly options: RouterOptions,
    private readonly log: Logger,
  ) {
    const reads = options.reads;
    if (typeof reads === 'string') {
      const p = parseReadsSetting(reads);
      if (!p.ok) throw new Error(`router reads: ${p.error}`);
      this.policy = p.value;
    } else this.policy = reads;
  }

  async listen(host: string, port: number): Promise<string> {
    const st = await fetchMonitorView(this.options.monitor, 2000);
    if (!st) throw new EnvironmentError(`monitor at ${this.options.monitor} does not answer GET /status (is the cluster running?)`);
    const aliases = this.options.aliases ?? {};
    const nodes = st.nodes.map((n) => ({ id: n.id, http: aliases[n.http] ?? n.http }));
    this.nodeIds = new Map(nodes.map((n) => [n.http, n.id]));
    this.client = new ClusterClient({ nodes, aliases, monitor: this.options.monitor, leaderId: st.leader, pollLag: this.policy.kind === 'least-lag' });
    this.routing = new ReadRouting(this.client);
    await this.client.refresh();
    this.timer = setInterval(() => void this.client!.refresh(), this.options.refreshMs ?? 200);
    this.timer.unref();
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    return listenHttp(this.server, host, port);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.agent.destroy();
    await closeHttp(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const mark = browserMark(req.headers);
      if (mark) {
        // Its body is never read: the connection closes rather than wait for it.
        res.setHeader('connection', 'close');
        return json(res, 403, { error: browserRefusal(mark), code: 'forbidden' });
      }
      if (req.url === '/router/status') {
        const client = this.client!;
        return json(res, 200, { leader: client.leader(), followers: client.followers(), reads: formatReadPolicy(this.policy), ...this.counters });
      }
      const token = sessionToken(req.headers[SESSION_HEADER]);
      if (!token.ok) {
        res.setHeader('connection', 'close');
        return json(res, 400, { error: token.error, code: 'bad_request' });
      }
      const body = await readRequestBody(req);
      if (body === undefined) return json(res, 413, { error: `body exceeds ${BODY_LIMIT} bytes`, code: 'value_too_large' });
      const deadline = Date.now() + (this.options.timeoutMs ?? 10_000);
      const out = await readAlong(
        this.hops(req, token.value),
        (hop, hopsAfter) => this.send(hop, hopsAfter, req, body, deadline),
        (f) => {
          const next = refusedWith(f, FOLLOWER_REFUSALS) && Date.now() + 50 < deadline;
          if (next) this.counters.retried++;
          return next;
        },
      );
      this.answer(res, out, token.value);
    } catch (e: unknown) {
      if (e instanceof BodyError) return json(res, e.status, { error: e.message, code: e.status === 408 ? 'request_timeout' : 'bad_request' });
      this.log.error({ err: toError(e).message }, 'router: internal error');
      json(res, 500, { error: `router internal error: ${toError(e).message}`, code: 'internal' });
    }
  }

  /** Where a request goes: a write to the leader; a read of /kv where the policy says, with its consistency. */
  private hops(req: http.IncomingMessage, token: number | null): Hop[] {
    const url = req.url ?? '/';
    const isRead = req.method === 'GET' || req.method === 'HEAD';
    if (!isRead) return [{ to: 'leader' }];
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const isData = path === '/kv' || path.startsWith('/kv/');
    // A read that names its own consistency gets it unchanged from the leader, which meets them all.
    if (isData && new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).has('consistency')) return [{ to: 'leader' }];
    return this.routing!.plan(this.policy, token).map((t) => (isData ? t : { to: t.to }));
  }

  /**
   * Sends the request to one hop. The leader is followed through failovers: a refusal that says
   * nothing happened (or a refused connection) is retried on whoever leads after a refresh, until
   * the deadline. A follower gets one try.
   */
  private async send(hop: Hop, hopsAfter: number, req: http.IncomingMessage, body: Buffer, deadline: number): Promise<Forwarded> {
    const url = req.url ?? '/';
    for (let attempt = 0; ; attempt++) {
      const address = hop.to === 'leader' ? this.client!.leader() : hop.to.address;
      const remainingMs = Math.max(1, deadline - Date.now());
      const path = hop.consistency ? withConsistency(url, hop.consistency, afterWaitMs(remainingMs, hopsAfter)) : url;
      const out = await this.forward(address, req, path, body, remainingMs);
      if (hop.to !== 'leader' || !refusedWith(out, LEADER_REFUSALS) || Date.now() + 50 >= deadline) return out;
      this.counters.retried++;
      await this.client!.refresh();
      await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 250)));
    }
  }

  private answer(res: http.ServerResponse, out: Forwarded, token: number | null): void {
    const session = out.kind === 'response' ? advance(token, answerLsn(out)) : token;
    const sessionHeader: http.OutgoingHttpHeaders = session === null ? {} : { [SESSION_HEADER]: String(session) };
    const who = this.nodeIds.get(out.address) ?? out.address;
    if (out.kind === 'response') {
      this.counters.forwarded++;
      const named = out.headers[NODE_HEADER];
      const served = typeof named === 'string' ? named : who;
      const headers: http.OutgoingHttpHeaders = { ...out.headers, [SERVED_BY_HEADER]: served, ...sessionHeader };
      delete headers.connection;
      delete headers['keep-alive'];
      delete headers['transfer-encoding'];
      headers['content-length'] = out.body.length;
      res.writeHead(out.status, headers);
      res.end(out.body);
      return;
    }
    if (out.kind === 'refused') {
      json(res, 503, { error: `no node accepted the request: ${out.error}`, code: 'unavailable', leader: null }, sessionHeader);
      return;
    }
    this.counters.lost++;
    json(
      res,
      502,
      { error: `request to ${who} was sent but its answer was lost (${out.error}); it may have been applied`, code: 'bad_gateway' },
      sessionHeader,
    );
  }

  private forward(address: string, req: http.IncomingMessage, path: string, body: Buffer, timeoutMs: number): Promise<Forwarded> {
    const i = address.lastIndexOf(':');
    return new Promise((resolve) => {
      let connected = false;
      let settled = false;
      const done = (f: Forwarded) => {
        if (!settled) resolve(f);
        settled = true;
      };
      const headers: http.OutgoingHttpHeaders = { ...req.headers, 'content-length': String(body.length) };
      delete headers.connection;
      delete headers['transfer-encoding'];
      // The token is the router's business: the node learns what it needs from the consistency.
      delete headers[SESSION_HEADER];
      const r = http.request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), method: req.method, path, headers, agent: this.agent }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => done({ kind: 'response', address, status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks) }));
        up.on('error', (e) => done({ kind: 'lost', address, error: e.message }));
      });
      r.on('socket', (s) => {
        if (!s.connecting) connected = true;
        else s.once('connect', () => (connected = true));
      });
      r.setTimeout(timeoutMs, () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      r.on('error', (e: NodeJS.ErrnoException) =>
        done(connected ? { kind: 'lost', address, error: e.code ?? e.message } : { kind: 'refused', address, error: e.code ?? e.message }),
      );
      r.end(body);
    });
  }
}

/** The client's session token, null without the header; a header that is not one is bad input. */
function sessionToken(v: string | string[] | undefined): { ok: true; value: number | null } | { ok: false; error: string } {
  if (v === undefined) return { ok: true, value: null };
  // Node joins a header sent twice with ", ", which then fails as any other garbage does.
  const t = parseSessionToken(Array.isArray(v) ? v.join(', ') : v, `${SESSION_HEADER} header (the session token, an LSN)`);
  return t.ok ? t : { ok: false, error: t.error };
}

/** The LSN an answer reflects: its body's `lsn` (reads, writes, a cas mismatch), else the applied-LSN header. */
function answerLsn(out: { headers: http.IncomingHttpHeaders; body: Buffer }): number | undefined {
  const lsn = bodyField(out.body, 'lsn');
  if (typeof lsn === 'number' && Number.isSafeInteger(lsn) && lsn >= 0) return lsn;
  // Not JSON (a HEAD answer has no body) or no lsn in it: the header may still say.
  const h = out.headers[APPLIED_LSN_HEADER];
  const n = typeof h === 'string' && /^\d{1,16}$/.test(h) ? Number(h) : undefined;
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

function advance(token: number | null, lsn: number | undefined): number | null {
  if (lsn === undefined) return token;
  return token === null ? lsn : Math.max(token, lsn);
}

/** A refused connection, or an answer whose error code is one of `codes`: nothing happened there. */
function refusedWith(out: Forwarded, codes: Set<string>): boolean {
  if (out.kind === 'refused') return true;
  if (out.kind !== 'response' || out.status < 400) return false;
  const code = bodyField(out.body, 'code');
  return typeof code === 'string' && codes.has(code);
}

/** A field of a node's JSON answer; undefined when the body is no JSON object (an answer the router only passes on). */
function bodyField(body: Buffer, field: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  return isRecord(parsed) ? parsed[field] : undefined;
}

/** The body, or undefined when it is over the limit (answered 413 by the caller). */
async function readRequestBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  try {
    return await readBody(req, { limitBytes: BODY_LIMIT });
  } catch (e: unknown) {
    if (e instanceof BodyError && e.status === 413) return undefined;
    throw e;
  }
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
