/** The monitor's calls to nodes: status probes and signed admin calls (src/lib/auth.ts), each with a timeout. */
import { AUTH_HEADER, signAdminRequest } from '../lib/auth.js';

export interface ShortStatus {
  id: string;
  role: 'leader' | 'follower';
  epoch: number;
  lastEpoch: number;
  lastLsn: number;
  flushedLsn: number;
  commitLsn: number;
  appliedLsn: number;
  degraded: boolean;
  leaseValid: boolean;
  upstream: string | null | { address?: string };
}

export type CallResult<T> = { ok: true; body: T } | { ok: false; status: number; error: string };

export class NodeApi {
  constructor(private readonly token: string) {}
  /** Who signs admin calls (the monitor). */
  caller = 'monitor';

  async status(address: string, timeoutMs: number): Promise<CallResult<ShortStatus>> {
    return this.call(address, 'GET', '/status', undefined, timeoutMs);
  }

  async admin<T = ShortStatus>(address: string, action: 'lease' | 'promote' | 'follow' | 'fence', body: Record<string, unknown>, timeoutMs: number): Promise<CallResult<T>> {
    return this.call(address, 'POST', `/admin/${action}`, body, timeoutMs);
  }

  private async call<T>(address: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<CallResult<T>> {
    try {
      const text = body === undefined ? undefined : JSON.stringify(body);
      // Signed, never the token itself: this call crosses the cluster's fault proxy.
      const auth: Record<string, string> = method === 'POST' ? { [AUTH_HEADER]: signAdminRequest(this.token, { method, path, body: text ?? '', caller: this.caller }) } : {};
      const res = await fetch(`http://${address}${path}`, {
        method,
        headers: { ...auth, 'content-type': 'application/json' },
        body: text,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const parsed = (await res.json()) as Record<string, unknown>;
      if (res.ok) return { ok: true, body: parsed as T };
      return { ok: false, status: res.status, error: String(parsed.error ?? `HTTP ${res.status}`) };
    } catch (e: unknown) {
      const err = e as Error & { cause?: { code?: string } };
      return { ok: false, status: 0, error: err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.message) };
    }
  }
}

/** The replication address a node's status says it follows (full /status nests it). */
export function upstreamAddress(s: ShortStatus): string | null {
  if (s.upstream === null || typeof s.upstream === 'string') return s.upstream;
  return s.upstream.address ?? null;
}
