/** The monitor's calls to nodes: status probes and signed admin calls (src/lib/auth.ts), each with a timeout. */
import type { z } from 'zod';
import { type NodeStatus, NodeStatusSchema, type ShortStatus, ShortStatusSchema } from '../kv/status.js';
import { AUTH_HEADER, signAdminRequest } from '../lib/auth.js';

export type { NodeStatus, ShortStatus };

export type CallResult<T> = { ok: true; body: T } | { ok: false; status: number; error: string };

export class NodeApi {
  constructor(private readonly token: string) {}
  /** Who signs admin calls (the monitor). */
  caller = 'monitor';

  async status(address: string, timeoutMs: number): Promise<CallResult<NodeStatus>> {
    return this.call(address, 'GET', '/status', undefined, timeoutMs, NodeStatusSchema);
  }

  async admin(
    address: string,
    action: 'lease' | 'promote' | 'follow' | 'fence',
    body: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<CallResult<ShortStatus>> {
    return this.call(address, 'POST', `/admin/${action}`, body, timeoutMs, ShortStatusSchema);
  }

  /** A node's answer is parsed, not trusted: one that is not what the schema says is a failed call. */
  private async call<T>(address: string, method: string, path: string, body: unknown, timeoutMs: number, schema: z.ZodType<T>): Promise<CallResult<T>> {
    try {
      const text = body === undefined ? undefined : JSON.stringify(body);
      // Signed, never the token itself: this call crosses the cluster's fault proxy.
      const auth: Record<string, string> =
        method === 'POST' ? { [AUTH_HEADER]: signAdminRequest(this.token, { method, path, body: text ?? '', caller: this.caller }) } : {};
      const res = await fetch(`http://${address}${path}`, {
        method,
        headers: { ...auth, 'content-type': 'application/json' },
        body: text,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const parsed: unknown = await res.json();
      if (!res.ok) {
        const error = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String(parsed.error) : `HTTP ${res.status}`;
        return { ok: false, status: res.status, error };
      }
      const r = schema.safeParse(parsed);
      if (r.success) return { ok: true, body: r.data };
      const issue = r.error.issues[0]!;
      return {
        ok: false,
        status: res.status,
        error: `malformed answer to ${method} ${path}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`,
      };
    } catch (e: unknown) {
      const err = e as Error & { cause?: { code?: string } };
      return { ok: false, status: 0, error: err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.message) };
    }
  }
}
