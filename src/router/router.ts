/**
 * `replab router`: one HTTP port in front of the cluster, in the role HAProxy or PgBouncer play in
 * front of PostgreSQL. Writes go to the leader the monitor names; reads go to the leader or, with
 * `reads: followers`, round-robin to the followers the monitor sees reachable. Every answer gets
 * `x-replab-served-by: <node>`.
 *
 * Like the client library it retries on another node only what certainly did not happen: a
 * connection refused before the request was sent, or a node answering 421 not-leader / 503
 * unavailable. A request lost after it was sent is answered 502 `bad_gateway` (indefinite).
 *
 * A request from a web browser (src/lib/browser-guard.ts) is refused with 403 before its body is
 * read, and never forwarded. Content types are the nodes' to check: a cas sent as text/plain gets
 * the node's 415.
 */
import http from 'node:http';
import { ClusterClient } from '../client/client.js';
import { NODE_HEADER, SERVED_BY_HEADER } from '../kv/protocol.js';
import { MAX_VALUE_BYTES } from '../kv/record.js';
import { browserMark, browserRefusal } from '../lib/browser-guard.js';
import { EnvironmentError } from '../lib/errors.js';
import { BodyError, readBody } from '../lib/http-body.js';
import { closeHttp, listenHttp } from '../lib/http-server.js';
import type { Logger } from '../lib/log.js';
import { fetchMonitorView } from '../monitor/api-types.js';

export interface RouterOptions {
  monitor: string;
  reads: 'leader' | 'followers';
  /** How long one request may spend being retried. @default 10000 */
  timeoutMs?: number;
  /** How often the router asks the monitor who leads. @default 200 */
  refreshMs?: number;
  /**
   * Node address (as the monitor names it) → the address the router should use instead: a
   * cluster's `client:` proxy links, so faults cut between clients and nodes cut the router too.
   */
  aliases?: Record<string, string>;
}

type Forwarded =
  | { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; body: Buffer }
  | { kind: 'refused'; error: string }
  | { kind: 'lost'; error: string };

const BODY_LIMIT = 2 * MAX_VALUE_BYTES + 4096;

export class Router {
  private server: http.Server | undefined;
  private client: ClusterClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private nextFollower = 0;
  private nodeIds = new Map<string, string>();
  readonly counters = { forwarded: 0, retried: 0, lost: 0 };

  constructor(
    private readonly options: RouterOptions,
    private readonly log: Logger,
  ) {}

  async listen(host: string, port: number): Promise<string> {
    const st = await fetchMonitorView(this.options.monitor, 2000);
    if (!st) throw new EnvironmentError(`monitor at ${this.options.monitor} does not answer GET /status (is the cluster running?)`);
    const aliases = this.options.aliases ?? {};
    const nodes = st.nodes.map((n) => ({ id: n.id, http: aliases[n.http] ?? n.http }));
    this.nodeIds = new Map(nodes.map((n) => [n.http, n.id]));
    this.client = new ClusterClient({ nodes, aliases, monitor: this.options.monitor, leaderId: st.leader });
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

  private target(isRead: boolean): string {
    const client = this.client!;
    if (isRead && this.options.reads === 'followers') {
      const followers = client.followers();
      if (followers.length > 0) return followers[this.nextFollower++ % followers.length]!;
    }
    return client.leader();
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
        return json(res, 200, { leader: this.client!.leader(), followers: this.client!.followers(), reads: this.options.reads, ...this.counters });
      }
      const body = await readRequestBody(req);
      if (body === undefined) return json(res, 413, { error: `body exceeds ${BODY_LIMIT} bytes`, code: 'value_too_large' });
      const isRead = req.method === 'GET' || req.method === 'HEAD';
      const deadline = Date.now() + (this.options.timeoutMs ?? 10_000);
      for (let attempt = 0; ; attempt++) {
        const address = this.target(isRead);
        const out = await this.forward(address, req, body, Math.max(1, deadline - Date.now()));
        const retry = out.kind === 'refused' || (out.kind === 'response' && definiteElsewhere(out));
        if (retry && Date.now() + 50 < deadline) {
          this.counters.retried++;
          await this.client!.refresh();
          await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 250)));
          continue;
        }
        if (out.kind === 'response') {
          this.counters.forwarded++;
          const served = (out.headers[NODE_HEADER] as string | undefined) ?? this.nodeIds.get(address) ?? address;
          const headers: http.OutgoingHttpHeaders = { ...out.headers, [SERVED_BY_HEADER]: served };
          delete headers.connection;
          delete headers['keep-alive'];
          delete headers['transfer-encoding'];
          headers['content-length'] = out.body.length;
          res.writeHead(out.status, headers);
          res.end(out.body);
          return;
        }
        if (out.kind === 'refused') return json(res, 503, { error: `no node accepted the request: ${out.error}`, code: 'unavailable', leader: null });
        this.counters.lost++;
        return json(res, 502, {
          error: `request to ${this.nodeIds.get(address) ?? address} was sent but its answer was lost (${out.error}); it may have been applied`,
          code: 'bad_gateway',
        });
      }
    } catch (e: unknown) {
      if (e instanceof BodyError) return json(res, e.status, { error: e.message, code: e.status === 408 ? 'request_timeout' : 'bad_request' });
      this.log.error({ err: (e as Error).message }, 'router: internal error');
      json(res, 500, { error: `router internal error: ${(e as Error).message}`, code: 'internal' });
    }
  }

  private forward(address: string, req: http.IncomingMessage, body: Buffer, timeoutMs: number): Promise<Forwarded> {
    const i = address.lastIndexOf(':');
    return new Promise((resolve) => {
      let connected = false;
      let settled = false;
      const done = (f: Forwarded) => {
        if (!settled) resolve(f);
        settled = true;
      };
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers.connection;
      delete headers['transfer-encoding'];
      const r = http.request(
        { host: address.slice(0, i), port: Number(address.slice(i + 1)), method: req.method, path: req.url, headers, agent: this.agent },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => done({ kind: 'response', status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks) }));
          up.on('error', (e) => done({ kind: 'lost', error: e.message }));
        },
      );
      r.on('socket', (s) => {
        if (!s.connecting) connected = true;
        else s.once('connect', () => (connected = true));
      });
      r.setTimeout(timeoutMs, () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      r.on('error', (e: NodeJS.ErrnoException) =>
        done(connected ? { kind: 'lost', error: e.code ?? e.message } : { kind: 'refused', error: e.code ?? e.message }),
      );
      r.end(body);
    });
  }
}

/** 421 and a definite 503 mean "not here, nothing happened": the request may go elsewhere. */
function definiteElsewhere(out: { status: number; body: Buffer }): boolean {
  if (out.status !== 421 && out.status !== 503) return false;
  try {
    const code = (JSON.parse(out.body.toString('utf8')) as { code?: string }).code;
    return code === 'not_leader' || code === 'unavailable';
  } catch {
    return false;
  }
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

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
