/**
 * `replab serve`: browse a reports directory over HTTP on 127.0.0.1, read-only.
 *
 *   GET /                         index of run folders (?sort=started|suite|duration|verdict|lost|outage|name&order=asc|desc)
 *   GET /runs/<run>/              the run's report.html
 *   GET /runs/<run>/<file>...     any file of the run folder (histories, logs, results.json)
 *   GET /compare?run=A&run=B...   runs of one suite side by side, changes from the first marked
 *   GET /trend?suite=<name>       one suite's runs over time, per mode
 *   GET /favicon.ico              the icon (reports declare none, and a 404 is a console error)
 *
 * Safe to point at any folder: only GET and HEAD; a path that leaves the reports directory (`..`,
 * encoded or not, or a symlink to elsewhere, whether or not its target exists) is 403 with one
 * fixed message, a missing one inside 404; damaged run folders show as incomplete on the index.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { toError } from '../lib/errors.js';
import { closeHttp, listenHttp } from '../lib/http-server.js';
import type { SuiteResults } from '../suite/results.js';
import { comparePage, errorPage, ICON_SVG, indexPage, isSortKey, trendPage } from './pages.js';
import { listRuns, locate, readEntry } from './store.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.xml': 'application/xml',
};

/** Pages carry inline CSS and SVG only; nothing may load from anywhere, nothing may run. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The one answer for every path that leaves the reports directory. Fixed text, so it cannot echo
 * where a link points, and the same whether or not anything is there.
 */
const OUTSIDE = errorPage(403, 'that path leads outside the reports directory');

export class ReportsServer {
  private server: http.Server | undefined;

  constructor(private readonly root: string) {}

  async listen(port: number): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        // File system errors name real paths; the page says nothing, the terminal says what.
        console.error(`replab serve: ${req.method} ${req.url}: ${toError(e).message}`);
        if (res.headersSent) res.destroy();
        else this.send(res, 500, errorPage(500, 'internal error (the terminal running replab serve says which)'));
      });
    });
    return listenHttp(this.server, '127.0.0.1', port);
  }

  async close(): Promise<void> {
    await closeHttp(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return this.send(res, 405, errorPage(405, `${req.method} is not allowed: replab serve is read-only`));
    }
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    if (rawPath === '/' || rawPath === '/index.html') {
      const sort = query.get('sort') ?? 'started';
      const order = query.get('order') === 'asc' ? 'asc' : 'desc';
      return this.send(res, 200, indexPage(await listRuns(this.root), this.root, isSortKey(sort) ? sort : 'started', order));
    }
    if (rawPath === '/compare') {
      const names = query.getAll('run');
      const runs: Array<{ name: string; results: SuiteResults }> = [];
      for (const name of names) {
        const at = await locate(this.root, [name]);
        if (at.where === 'outside') return this.send(res, 403, OUTSIDE);
        if (at.where === 'missing') return this.send(res, 404, errorPage(404, `no run folder "${name}"`));
        const e = await readEntry(this.root, name);
        if (!e.complete) return this.send(res, 400, errorPage(400, `${name} is incomplete (${e.why}); compare finished runs`));
        runs.push({ name, results: e.results });
      }
      const { status, html } = await comparePage(runs);
      return this.send(res, status, html);
    }
    if (rawPath === '/trend') {
      const suite = query.get('suite') ?? '';
      const { status, html } = await trendPage(suite, await listRuns(this.root));
      return this.send(res, status, html);
    }
    if (rawPath === '/favicon.ico') {
      res.writeHead(200, {
        'content-type': 'image/svg+xml',
        'content-length': Buffer.byteLength(ICON_SVG),
        'cache-control': 'max-age=86400',
        ...SECURITY_HEADERS,
      });
      res.end(req.method === 'HEAD' ? undefined : ICON_SVG);
      return;
    }
    if (rawPath.startsWith('/runs/')) return this.file(res, rawPath.slice('/runs/'.length), req.method === 'HEAD');
    return this.send(res, 404, errorPage(404, `no page ${rawPath} (/, /runs/<run>/, /compare, /trend)`));
  }

  /** A file of a run folder; the folder itself means its report.html. */
  private async file(res: http.ServerResponse, rest: string, head: boolean): Promise<void> {
    let segments: string[];
    try {
      // Each segment decoded on its own: an encoded "/" or ".." stays one segment and is refused.
      segments = rest.split('/').map((s) => decodeURIComponent(s));
    } catch {
      return this.send(res, 400, errorPage(400, 'malformed URL encoding'));
    }
    if (segments[segments.length - 1] === '') segments[segments.length - 1] = 'report.html';
    const at = await locate(this.root, segments);
    if (at.where === 'outside') return this.send(res, 403, OUTSIDE);
    // The path as asked for, never as resolved: it names nothing the visitor did not type.
    if (at.where === 'missing') return this.send(res, 404, errorPage(404, `no file ${segments.join('/')}`));
    const file = at.path;
    const st = await fsp.stat(file);
    if (st.isDirectory()) {
      res.writeHead(302, { location: `/runs/${segments.map(encodeURIComponent).join('/')}/`, ...SECURITY_HEADERS });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': st.size, ...SECURITY_HEADERS });
    if (head) {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  private send(res: http.ServerResponse, status: number, html: string): void {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), ...SECURITY_HEADERS });
    res.end(html);
  }
}
