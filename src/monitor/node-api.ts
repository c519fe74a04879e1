/**
 * The monitor's calls to nodes: status probes and signed admin calls (src/lib/auth.ts), each with a
 * timeout. An admin call is signed for the node it goes to (its id, looked up from the address the
 * monitor uses for it) and for the cluster, so a call captured on its way to n3 does nothing to n2.
 *
 * node:http, not fetch: a signed call must reach the node exactly once, and fetch sends a request
 * again by itself on a new connection when the answer is 421 (the Fetch standard's "misdirected
 * request" retry). Nodes answer 421 not_leader to a lease renewal once they stepped down, so with
 * fetch the node saw the same signature twice and the monitor got "replayed request" instead of
 * the node's real answer. fetch would also follow a 307 to wherever an answer on a redirected link
 * points, with the signed call.
 */
import http from 'node:http';
import type { z } from 'zod';
import type { AdminAction, AdminBody } from '../kv/api/bodies.js';
import { type NodeStatus, NodeStatusSchema, type ShortStatus, ShortStatusSchema } from '../kv/node/status.js';
import { AUTH_HEADER, signAdminRequest } from '../lib/auth.js';
import { errnoCode, toError } from '../lib/errors.js';

export type { NodeStatus, ShortStatus };

export type CallResult<T> = { ok: true; body: T } | { ok: false; status: number; error: string };

/** A node answers in a few hundred bytes; anything far larger is not a node. */
const ANSWER_LIMIT_BYTES = 1024 * 1024;

export class NodeApi {
  /** Who signs admin calls (the monitor). */
  caller = 'monitor';
  private cluster: string | undefined;
  /** The address of a node's HTTP API (direct or through its proxy link) → its id. */
  private readonly ids = new Map<string, string>();
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(private readonly token: string) {}

  /** The cluster admin calls are signed for, and which node answers at which address. */
  useCluster(cluster: string, nodeIdByAddress: Record<string, string>): void {
    this.cluster = cluster;
    this.ids.clear();
    for (const [address, id] of Object.entries(nodeIdByAddress)) this.ids.set(address, id);
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  async status(address: string, timeoutMs: number): Promise<CallResult<NodeStatus>> {
    return this.call(address, 'GET', '/status', undefined, timeoutMs, NodeStatusSchema);
  }

  /** An admin call; its body has the type the node parses it with (kv/api/bodies.ts). */
  async admin<A extends AdminAction>(address: string, action: A, body: AdminBody<A>, timeoutMs: number): Promise<CallResult<ShortStatus>> {
    return this.call(address, 'POST', `/admin/${action}`, body, timeoutMs, ShortStatusSchema);
  }

  /** A node's answer is parsed, not trusted: one that is not what the schema says is a failed call. */
  private async call<T>(address: string, method: string, path: string, body: unknown, timeoutMs: number, schema: z.ZodType<T>): Promise<CallResult<T>> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (text !== undefined) {
      const target = this.ids.get(address);
      if (this.cluster === undefined || target === undefined)
        return { ok: false, status: 0, error: `no node of this cluster is known at ${address}; admin calls are signed for one node` };
      // Signed, never the token itself: this call crosses the cluster's fault proxy.
      headers[AUTH_HEADER] = signAdminRequest(this.token, { method, path, body: text, caller: this.caller, target, cluster: this.cluster });
      headers['content-type'] = 'application/json';
    }
    let answer: { status: number; text: string };
    try {
      answer = await this.send(address, method, path, headers, text, timeoutMs);
    } catch (e: unknown) {
      return { ok: false, status: 0, error: errnoCode(e) ?? toError(e).message };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      return { ok: false, status: answer.status, error: `answer to ${method} ${path} is not JSON (HTTP ${answer.status})` };
    }
    if (answer.status < 200 || answer.status > 299) {
      const error = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String(parsed.error) : `HTTP ${answer.status}`;
      return { ok: false, status: answer.status, error };
    }
    const r = schema.safeParse(parsed);
    if (r.success) return { ok: true, body: r.data };
    const issue = r.error.issues[0]!;
    return {
      ok: false,
      status: answer.status,
      error: `malformed answer to ${method} ${path}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`,
    };
  }

  /** One HTTP exchange, sent once, within `timeoutMs` from start to the end of the answer. */
  private send(
    address: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<{ status: number; text: string }> {
    const i = address.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const req = http.request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > ANSWER_LIMIT_BYTES) req.destroy(new Error(`answer to ${method} ${path} exceeds ${ANSWER_LIMIT_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end(body);
    });
  }
}
