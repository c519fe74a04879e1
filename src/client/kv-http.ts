/**
 * The workload's view of a node: one HTTP call per operation, and every outcome mapped to a
 * history completion (as Maelstrom's definite errors are):
 *   ok    the server answered success (a read of a missing key is ok with null);
 *   fail  it certainly did not happen: a definite error from the server (421, 409 cas mismatch,
 *         4xx, a 503 marked definite) or a connection refused before anything was sent;
 *   info  it may have happened: a timeout, a connection lost after the request was sent, a 5xx
 *         that is not definite, or an answer we cannot parse.
 */
import http from 'node:http';
import { APPLIED_LSN_HEADER, type KvErrorName, KvErrors } from '../kv/protocol.js';
import { errnoCode, toError } from '../lib/errors.js';
import { isRecord } from '../lib/schema.js';

export type Outcome =
  | { type: 'ok'; value: unknown; node?: string; lsn?: number; epoch?: number; body?: Record<string, unknown> }
  | { type: 'fail' | 'info'; error: string; node?: string; leader?: string | null; value?: unknown };

export interface KvRequest {
  address: string;
  method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  path: string;
  body?: string;
  timeoutMs: number;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

/** Keep-alive connections, bounded, shared by all workload clients in this process. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function closeKvClients(): void {
  agent.destroy();
}

function send(req: KvRequest): Promise<RawResponse> {
  const [host, port] = splitAddress(req.address);
  return new Promise((resolve, reject) => {
    // `connected`: a TCP connection existed, so request bytes may have reached the server.
    let connected = false;
    const r = http.request(
      {
        host,
        port,
        method: req.method,
        path: req.path,
        agent,
        headers: req.body !== undefined ? { 'content-type': contentType(req.method), 'content-length': Buffer.byteLength(req.body) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: Record<string, unknown> | undefined;
          try {
            const json: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            body = isRecord(json) ? json : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', (e) => reject(Object.assign(e, { sent: true })));
      },
    );
    r.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    r.setTimeout(req.timeoutMs, () => r.destroy(Object.assign(new Error(`timed out after ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    r.on('error', (e: NodeJS.ErrnoException & { sent?: boolean }) => reject(Object.assign(e, { sent: e.sent ?? connected })));
    r.end(req.body);
  });
}

/** A PUT's body is the raw value; the one POST, cas, takes JSON (and nodes refuse it otherwise, 415). */
function contentType(method: KvRequest['method']): string {
  return method === 'POST' ? 'application/json' : 'text/plain; charset=utf-8';
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** Performs one request and classifies it. `readOk404` treats 404 as a successful read of null. */
export async function call(req: KvRequest, options: { readOk404?: boolean } = {}): Promise<Outcome> {
  let res: RawResponse;
  try {
    res = await send(req);
  } catch (e: unknown) {
    const code = errnoCode(e);
    const why = code ?? toError(e).message;
    // `sent` is set by send(): whether the request may have reached the server.
    const sent = typeof e === 'object' && e !== null && 'sent' in e && e.sent === true;
    // Refused, or any failure before the TCP connection existed: no server saw the request.
    if (code === 'ECONNREFUSED') return { type: 'fail', error: 'connection refused' };
    if (!sent) return { type: 'fail', error: `could not connect (${why})` };
    if (code === 'ETIMEDOUT') return { type: 'info', error: 'timeout' };
    return { type: 'info', error: `connection lost (${why})` };
  }
  const node = typeof res.headers['x-replab-node'] === 'string' ? res.headers['x-replab-node'] : undefined;
  const b = res.body;
  if (!b) return { type: res.status >= 500 ? 'info' : 'fail', error: `unparseable response (HTTP ${res.status})`, node };
  const lsn = typeof b.lsn === 'number' ? b.lsn : numberHeader(res.headers[APPLIED_LSN_HEADER]);
  const epoch = typeof b.epoch === 'number' ? b.epoch : undefined;
  if (res.status === 200 || (options.readOk404 && res.status === 404 && b.code === undefined)) {
    return { type: 'ok', value: b.value ?? null, node, lsn, epoch, body: b };
  }
  const code = isKvErrorName(b.code) ? b.code : undefined;
  const definite = code ? KvErrors[code].definite : res.status < 500;
  const error = code ?? `http_${res.status}`;
  const out: Outcome = { type: definite ? 'fail' : 'info', error, node };
  if ('leader' in b) out.leader = typeof b.leader === 'string' ? b.leader : null;
  if (code === 'cas_mismatch') out.value = b.value ?? null;
  return out;
}

function isKvErrorName(code: unknown): code is KvErrorName {
  return typeof code === 'string' && Object.hasOwn(KvErrors, code);
}

function numberHeader(v: string | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isFinite(n) && v !== undefined ? n : undefined;
}
