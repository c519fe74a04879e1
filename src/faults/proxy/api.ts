/**
 * `replab proxy`: Toxiproxy's v2 HTTP API (README "HTTP API") over replab's own TCP proxies, so
 * the harness — which only ever talks to it through toxiproxy-node-client — can be pointed at a
 * real Toxiproxy server (TOXIPROXY_URL) without a code change.
 *
 *   GET  /version                        {"version": "..."}
 *   GET  /proxies                        {name: proxy}
 *   POST /proxies                        create → 201; 409 name or listen address taken
 *   POST /populate                       create or replace a list → 201 {"proxies": [...]}
 *   GET|POST|PATCH|DELETE /proxies/{p}   show, update (listen, upstream, enabled), delete → 204
 *   GET|POST /proxies/{p}/toxics         list, create → 200; 409 duplicate name
 *   GET|POST|PATCH|DELETE /proxies/{p}/toxics/{t}
 *   POST /reset                          enable every proxy, remove every toxic → 204; 409 naming
 *                                        a proxy that could not listen again (the rest are reset)
 *
 * Errors are `{"error": "...", "status": N}` with Toxiproxy's codes: 400 bad body or attribute,
 * 404 unknown proxy or toxic, 409 duplicates or a listen address in use; and replab's own: 403
 * for a request a web browser sent (Toxiproxy refuses browser user agents too), 415 for a body
 * not declared `application/json`.
 *
 * Changes are applied one at a time (reads are not held up), and each proxy change is all or
 * nothing. A proxy whose upstream leads back to its own listen address, directly or through other
 * proxies here, is refused (400): one connection to it would multiply until sockets run out.
 */
import http from 'node:http';
import { browserMark, browserRefusal, isJsonContentType, jsonRequired } from '../../lib/browser-guard.js';
import { toError } from '../../lib/errors.js';
import { BodyError, decodeSegment, parseJsonBounded, readBody } from '../../lib/http-body.js';
import { closeHttp, listenHttp } from '../../lib/http-server.js';
import { readVersion } from '../../lib/paths.js';
import { isRecord } from '../../lib/schema.js';
import { addressKey, type ProxyConfig, sameAddress, TcpProxy } from './proxy.js';
import { ToxicError } from './toxics.js';

const BODY_LIMIT = 1024 * 1024;

interface Answer {
  status: number;
  body?: unknown;
}

/** One endpoint: whether it reads a JSON body, and what it does. */
interface Route {
  takesBody: boolean;
  run(body: unknown): Answer | Promise<Answer>;
}

export class ProxyApi {
  readonly proxies = new Map<string, TcpProxy>();
  private server: http.Server | undefined;
  /** The last change in line: changes run one after another, so each sees the others whole. */
  private changes: Promise<unknown> = Promise.resolve();

  async listen(host: string, port: number): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    return listenHttp(this.server, host, port);
  }

  async close(): Promise<void> {
    for (const p of this.proxies.values()) await p.stop();
    this.proxies.clear();
    await closeHttp(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      // Refused before anything is read: for a fault proxy the request itself is the harm.
      const mark = browserMark(req.headers);
      if (mark) throw new ToxicError(browserRefusal(mark), 403);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const parts = url.pathname
        .split('/')
        .filter(Boolean)
        .map((p) => decodeSegment(p, 'proxy or toxic name'));
      const method = req.method ?? 'GET';
      const route = this.route(method, parts, url.pathname);
      let body: unknown;
      if (route.takesBody) {
        // A page can POST text/plain or a form without asking first; only JSON is accepted.
        if (!isJsonContentType(req.headers)) throw new ToxicError(jsonRequired(req.headers, `${method} ${url.pathname}`), 415);
        body = await readJson(req);
      }
      const answer = method === 'GET' ? await route.run(body) : await this.inLine(() => route.run(body));
      send(res, answer.status, answer.body);
    } catch (e: unknown) {
      const status = e instanceof ToxicError || e instanceof BodyError ? e.status : 500;
      send(res, status, { error: toError(e).message, status });
    }
  }

  /** Runs `change` after every change before it has finished, failed or not. */
  private inLine<T>(change: () => T | Promise<T>): Promise<T> {
    const run = this.changes.then(change, change);
    this.changes = run.catch(() => undefined);
    return run;
  }

  private route(method: string, parts: string[], pathname: string): Route {
    const [root, name, sub, toxic] = parts;
    const reads = (run: () => Answer | Promise<Answer>): Route => ({ takesBody: false, run });
    const takes = (run: (body: unknown) => Answer | Promise<Answer>): Route => ({ takesBody: true, run });
    const noRoute = (status: number) => new ToxicError(`no route for ${method} ${pathname}`, status);
    if (parts.length === 1 && root === 'version' && method === 'GET')
      return reads(() => ({ status: 200, body: { version: `replab-${readVersion()} (Toxiproxy v2 API)` } }));
    if (parts.length === 1 && root === 'reset' && method === 'POST') return reads(async () => ({ status: 204, body: await this.reset() }));
    if (parts.length === 1 && root === 'populate' && method === 'POST') return takes((b) => this.populate(b));
    if (root !== 'proxies' || parts.length > 4) throw noRoute(404);
    if (parts.length === 1) {
      if (method === 'GET') return reads(() => ({ status: 200, body: Object.fromEntries([...this.proxies].map(([n, p]) => [n, p.toJSON()])) }));
      if (method === 'POST') return takes(async (b) => ({ status: 201, body: (await this.create(b)).toJSON() }));
      throw noRoute(405);
    }
    // Looked up when the request runs, after the changes before it.
    const proxy = () => {
      const p = this.proxies.get(name!);
      if (!p) throw new ToxicError('proxy not found', 404);
      return p;
    };
    if (parts.length === 2) {
      if (method === 'GET') return reads(() => ({ status: 200, body: proxy().toJSON() }));
      if (method === 'POST' || method === 'PATCH') return takes(async (b) => ({ status: 200, body: (await this.update(proxy(), b)).toJSON() }));
      if (method === 'DELETE')
        return reads(async () => {
          const p = proxy();
          await p.stop();
          this.proxies.delete(p.name);
          return { status: 204 };
        });
    } else if (sub === 'toxics' && parts.length === 3) {
      if (method === 'GET') return reads(() => ({ status: 200, body: proxy().toxicList }));
      if (method === 'POST') return takes((b) => ({ status: 200, body: proxy().addToxic(b) }));
    } else if (sub === 'toxics' && parts.length === 4) {
      if (method === 'GET') return reads(() => ({ status: 200, body: proxy().getToxic(toxic!) }));
      if (method === 'POST' || method === 'PATCH') return takes((b) => ({ status: 200, body: proxy().updateToxic(toxic!, b) }));
      if (method === 'DELETE')
        return reads(() => {
          proxy().removeToxic(toxic!);
          return { status: 204 };
        });
    } else throw noRoute(404);
    throw noRoute(405);
  }

  private async create(body: unknown): Promise<TcpProxy> {
    const b = proxyBody(body);
    if (this.proxies.has(b.name)) throw new ToxicError('proxy already exists', 409);
    const proxy = new TcpProxy(b.name, b.listen, b.upstream);
    await proxy.reconfigure(b, (listen) => this.refuseLoop(b.name, listen, b.upstream));
    this.proxies.set(b.name, proxy);
    return proxy;
  }

  private async update(proxy: TcpProxy, body: unknown): Promise<TcpProxy> {
    if (!isRecord(body)) throw new ToxicError('bad request body: expected a JSON object', 400);
    const listen = body.listen ?? proxy.listen;
    const upstream = body.upstream ?? proxy.upstream;
    const enabled = body.enabled ?? proxy.enabled;
    if (typeof listen !== 'string' || typeof upstream !== 'string' || typeof enabled !== 'boolean')
      throw new ToxicError('bad request body: listen and upstream must be strings, enabled a boolean', 400);
    await this.apply(proxy, { listen, upstream, enabled });
    return proxy;
  }

  /** `proxy` changed to `next`, or left as it was when that cannot be done. */
  private apply(proxy: TcpProxy, next: ProxyConfig): Promise<void> {
    return proxy.reconfigure(next, (listen) => this.refuseLoop(proxy.name, listen, next.upstream));
  }

  /**
   * 400 when `upstream` leads back to `listen`: it is that address, or the listen address of
   * another proxy here whose upstream leads back (disabled ones count: enabling one must not close
   * a loop either). A listen port of 0 is checked again once bound.
   */
  private refuseLoop(name: string, listen: string, upstream: string): void {
    const target = addressKey(listen);
    if (target.endsWith(':0')) return;
    const via = (address: string, seen: ReadonlySet<string>): string[] | undefined => {
      const key = addressKey(address);
      if (key === target) return [];
      for (const p of this.proxies.values()) {
        if (p.name === name || seen.has(p.name) || !sameAddress(p.listen, key)) continue;
        const rest = via(p.upstream, new Set([...seen, p.name]));
        if (rest) return [p.name, ...rest];
      }
      return undefined;
    };
    const path = via(upstream, new Set());
    if (path)
      throw new ToxicError(
        `upstream ${upstream} leads back to proxy "${name}"'s own listen address ${listen}${path.length > 0 ? ` through ${path.map((n) => `"${n}"`).join(' -> ')}` : ''}: every connection would loop until sockets run out`,
        400,
      );
  }

  private async populate(body: unknown): Promise<Answer> {
    if (!Array.isArray(body)) throw new ToxicError('bad request body: expected a JSON array of proxies', 400);
    const items = body.map(proxyBody);
    const done: TcpProxy[] = [];
    try {
      for (const b of items) {
        const existing = this.proxies.get(b.name);
        if (!existing) {
          done.push(await this.create(b));
          continue;
        }
        const unchanged = sameAddress(existing.upstream, b.upstream) && (sameAddress(existing.listen, b.listen) || addressKey(b.listen).endsWith(':0'));
        if (unchanged) await this.apply(existing, { listen: existing.listen, upstream: existing.upstream, enabled: b.enabled });
        else {
          // Replaced, as Toxiproxy replaces it: new addresses, no toxics. In place, so that an
          // address in use or a loop leaves the old proxy serving.
          await this.apply(existing, b);
          existing.resetToxics();
        }
        done.push(existing);
      }
    } catch (e: unknown) {
      if (!(e instanceof ToxicError)) throw e;
      return { status: e.status, body: { error: e.message, status: e.status, proxies: done.map((p) => p.toJSON()) } };
    }
    return { status: 201, body: { proxies: done.map((p) => p.toJSON()) } };
  }

  /** Removes every toxic and enables every proxy it can; one that cannot listen does not stop the others. */
  private async reset(): Promise<undefined> {
    const failed: ToxicError[] = [];
    for (const p of this.proxies.values()) {
      p.resetToxics();
      if (p.enabled) continue;
      try {
        await this.apply(p, { listen: p.listen, upstream: p.upstream, enabled: true });
      } catch (e: unknown) {
        if (!(e instanceof ToxicError)) throw e;
        failed.push(new ToxicError(`proxy ${p.name}: ${e.message}`, e.status));
      }
    }
    if (failed.length > 0)
      throw new ToxicError(
        `reset removed every toxic and enabled the other proxies, but not ${failed.length === 1 ? 'this one' : `these ${failed.length}`}: ${failed.map((f) => f.message).join('; ')}`,
        failed[0]!.status,
      );
    return undefined;
  }
}

function proxyBody(body: unknown): { name: string; listen: string; upstream: string; enabled: boolean } {
  if (!isRecord(body)) throw new ToxicError('bad request body: expected a JSON object', 400);
  const b = body;
  if (typeof b.name !== 'string' || b.name.length === 0) throw new ToxicError('missing required field: name', 400);
  if (typeof b.upstream !== 'string' || b.upstream.length === 0) throw new ToxicError('missing required field: upstream', 400);
  const listen = b.listen ?? '127.0.0.1:0';
  if (typeof listen !== 'string') throw new ToxicError('bad request body: listen must be a string', 400);
  const enabled = b.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new ToxicError('bad request body: enabled must be a boolean', 400);
  return { name: b.name, listen, upstream: b.upstream, enabled };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  let text: string;
  try {
    text = (await readBody(req, { limitBytes: BODY_LIMIT })).toString('utf8');
  } catch (e: unknown) {
    if (e instanceof BodyError) throw new ToxicError(`bad request body: ${e.message}`, e.status);
    throw e;
  }
  if (text.trim() === '') return {};
  try {
    return parseJsonBounded(text, 'request body');
  } catch (e: unknown) {
    throw new ToxicError(e instanceof BodyError && e.message.includes('nested') ? `bad request body: ${e.message}` : 'bad request body: not valid JSON', 400);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
