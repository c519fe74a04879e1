/**
 * The monitor's HTTP API (127.0.0.1 by default):
 *   GET  /status      leader, epoch, failover state, every node as last probed, recent events
 *   GET  /leader      {"leader", "http", "epoch"}: what clients and the router route by
 *   POST /switchover  {"to": "n2"} (cluster token required): planned switchover, answers when done
 *
 * The switchover is signed for "monitor" in this cluster (src/lib/auth.ts) and takes only
 * `Content-Type: application/json` (415 otherwise). A request from a web browser
 * (src/lib/browser-guard.ts) is refused with 403 before anything is read.
 */
import http from 'node:http';
import { AUTH_HEADER, MONITOR_TARGET, Verifier } from '../lib/auth.js';
import { browserMark, browserRefusal, isJsonContentType, jsonRequired } from '../lib/browser-guard.js';
import { EnvironmentError, toError, UsageError } from '../lib/errors.js';
import { BodyError, parseJsonBounded, readBody } from '../lib/http-body.js';
import { closeHttp, listenHttp } from '../lib/http-server.js';
import type { Monitor } from './monitor.js';

export class MonitorApi {
  private server: http.Server | undefined;

  private readonly verifier: Verifier;

  constructor(
    private readonly monitor: Monitor,
    token: string,
  ) {
    this.verifier = new Verifier(token, { self: { cluster: monitor.config.cluster, id: MONITOR_TARGET } });
  }

  async listen(host: string, port: number): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        // By the error table: a request that cannot apply (bad target) 409, the cluster not able
        // to do it now (unreachable node, another failover running) 503, a bug 500.
        const status = e instanceof UsageError ? 409 : e instanceof EnvironmentError ? 503 : 500;
        json(res, status, { error: toError(e).message });
      });
    });
    return listenHttp(this.server, host, port);
  }

  async close(): Promise<void> {
    await closeHttp(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const mark = browserMark(req.headers);
    if (mark) return refuseUnread(res, 403, browserRefusal(mark));
    const path = new URL(req.url ?? '/', 'http://monitor').pathname;
    if (req.method === 'GET' && path === '/status') return json(res, 200, this.monitor.view());
    if (req.method === 'GET' && path === '/leader') {
      const v = this.monitor.view();
      return json(res, 200, { leader: v.leader, http: v.leaderHttp, epoch: v.epoch });
    }
    if (req.method === 'POST' && path === '/switchover') {
      if (!isJsonContentType(req.headers)) return refuseUnread(res, 415, jsonRequired(req.headers, 'switchover'));
      let text: string;
      try {
        text = await readAll(req);
      } catch (e: unknown) {
        if (e instanceof BodyError) return json(res, e.status, { error: e.message });
        throw e;
      }
      const auth = this.verifier.verifyAdmin([req.headers[AUTH_HEADER]].flat()[0], { method: 'POST', path: '/switchover', body: text });
      if (!auth.ok) return json(res, auth.status, { error: `switchover refused: ${auth.why}` });
      let body: unknown;
      try {
        body = parseJsonBounded(text, 'switchover body');
      } catch (e: unknown) {
        if (e instanceof BodyError && e.status !== 400) return json(res, e.status, { error: e.message });
        return json(res, 400, { error: 'body must be JSON {"to": "<node id>"}' });
      }
      if (typeof body !== 'object' || body === null) return json(res, 400, { error: 'body must be JSON {"to": "<node id>"}' });
      const to = 'to' in body ? body.to : undefined;
      if (typeof to !== 'string') return json(res, 400, { error: '"to" must be a node id' });
      return json(res, 200, await this.monitor.switchover(to));
    }
    json(res, 404, { error: `no route for ${req.method} ${path} (GET /status, GET /leader, POST /switchover)` });
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A refusal sent before the body was read: the connection closes rather than wait for that body. */
function refuseUnread(res: http.ServerResponse, status: number, error: string): void {
  res.setHeader('connection', 'close');
  json(res, status, { error });
}

function readAll(req: http.IncomingMessage): Promise<string> {
  return readBody(req, { limitBytes: 64 * 1024 }).then((b) => b.toString('utf8'));
}
