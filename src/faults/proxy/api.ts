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
 *   POST /reset                          enable every proxy, remove every toxic → 204
 *
 * Errors are `{"error": "...", "status": N}` with Toxiproxy's codes: 400 bad body or attribute,
 * 404 unknown proxy or toxic, 409 duplicates.
 */
import http from 'node:http';
import { BodyError, decodeSegment, parseJsonBounded, readBody } from '../../lib/http-body.js';
import { closeHttp, listenHttp } from '../../lib/http-server.js';
import { readVersion } from '../../lib/paths.js';
import { isRecord } from '../../lib/schema.js';
import { splitHostPort, TcpProxy } from './proxy.js';
import { ToxicError } from './toxics.js';

const BODY_LIMIT = 1024 * 1024;

export class ProxyApi {
  readonly proxies = new Map<string, TcpProxy>();
  private server: http.Server | undefined;

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
      const url = new URL(req.url ?? '/', 'http://proxy');
      const parts = url.pathname
        .split('/')
        .filter(Boolean)
        .map((p) => decodeSegment(p, 'proxy or toxic name'));
      const method = req.method ?? 'GET';
      const body = method === 'GET' || method === 'DELETE' ? undefined : await readJson(req);
      const [root, name, sub, toxic] = parts;
      if (parts.length === 1 && root === 'version' && method === 'GET') return send(res, 200, { version: `replab-${readVersion()} (Toxiproxy v2 API)` });
      if (parts.length === 1 && root === 'reset' && method === 'POST') return send(res, 204, await this.reset());
      if (parts.length === 1 && root === 'populate' && method === 'POST') return await this.populate(res, body);
      if (root !== 'proxies') throw new ToxicError(`no route for ${method} ${url.pathname}`, 404);
      if (parts.length === 1) {
        if (method === 'GET') return send(res, 200, Object.fromEntries([...this.proxies].map(([n, p]) => [n, p.toJSON()])));
        if (method === 'POST') return send(res, 201, (await this.create(body)).toJSON());
      }
      if (parts.length >= 2) {
        const proxy = this.proxies.get(name!);
        if (!proxy) throw new ToxicError('proxy not found', 404);
        if (parts.length === 2) {
          if (method === 'GET') return send(res, 200, proxy.toJSON());
          if (method === 'POST' || method === 'PATCH') return send(res, 200, (await this.update(proxy, body)).toJSON());
          if (method === 'DELETE') {
            await proxy.stop();
            this.proxies.delete(proxy.name);
            return send(res, 204, undefined);
          }
        }
        if (sub === 'toxics' && parts.length === 3) {
          if (method === 'GET') return send(res, 200, proxy.toxicList);
          if (method === 'POST') return send(res, 200, proxy.addToxic(body));
        }
        if (sub === 'toxics' && parts.length === 4) {
          if (method === 'GET') return send(res, 200, proxy.getToxic(toxic!));
          if (method === 'POST' || method === 'PATCH') return send(res, 200, proxy.updateToxic(toxic!, body));
          if (method === 'DELETE') {
            proxy.removeToxic(toxic!);
            return send(res, 204, undefined);
          }
        }
      }
      throw new ToxicError(`no route for ${method} ${url.pathname}`, 405);
    } catch (e: unknown) {
      const status = e instanceof ToxicError || e instanceof BodyError ? e.status : 500;
      send(res, status, { error: (e as Error).message, status });
    }
  }

  private async create(body: unknown): Promise<TcpProxy> {
    const b = proxyBody(body);
    if (this.proxies.has(b.name)) throw new ToxicError('proxy already exists', 409);
    const proxy = new TcpProxy(b.name, b.listen, b.upstream);
    if (b.enabled) await proxy.start();
    this.proxies.set(b.name, proxy);
    return proxy;
  }

  private async update(proxy: TcpProxy, body: unknown): Promise<TcpProxy> {
    if (!isRecord(body)) throw new ToxicError('bad request body: expected a JSON object', 400);
    const b = body;
    const listen = b.listen ?? proxy.listen;
    const upstream = b.upstream ?? proxy.upstream;
    const enabled = b.enabled ?? proxy.enabled;
    if (typeof listen !== 'string' || typeof upstream !== 'string' || typeof enabled !== 'boolean')
      throw new ToxicError('bad request body: listen and upstream must be strings, enabled a boolean', 400);
    // Validate before touching the running proxy: a refused update leaves it as it was.
    splitHostPort(listen);
    splitHostPort(upstream);
    const moved = listen !== proxy.listen || upstream !== proxy.upstream;
    if (moved || !enabled) await proxy.stop();
    proxy.listen = listen;
    proxy.upstream = upstream;
    if (enabled) await proxy.start();
    return proxy;
  }

  private async populate(res: http.ServerResponse, body: unknown): Promise<void> {
    if (!Array.isArray(body)) throw new ToxicError('bad request body: expected a JSON array of proxies', 400);
    const done: TcpProxy[] = [];
    try {
      for (const item of body) {
        const b = proxyBody(item);
        const existing = this.proxies.get(b.name);
        if (existing && existing.upstream === b.upstream && (existing.listen === b.listen || b.listen.endsWith(':0'))) {
          done.push(await this.update(existing, { enabled: b.enabled }));
          continue;
        }
        if (existing) {
          await existing.stop();
          this.proxies.delete(b.name);
        }
        done.push(await this.create(item));
      }
    } catch (e: unknown) {
      const status = e instanceof ToxicError ? e.status : 500;
      return send(res, status, { error: (e as Error).message, status, proxies: done.map((p) => p.toJSON()) });
    }
    send(res, 201, { proxies: done.map((p) => p.toJSON()) });
  }

  private async reset(): Promise<undefined> {
    for (const p of this.proxies.values()) {
      p.resetToxics();
      if (!p.enabled) await p.start();
    }
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
