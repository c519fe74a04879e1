/**
 * replab's KV as a workload's DataClient: each operation is one HTTP call through the cluster
 * client (src/client/client.ts: leader discovery, 421 hints, retries only after definite failures),
 * mapped to outcomes by src/client/kv-http.ts.
 */
import type { ClusterClient } from '../../client/client.js';
import { call, type Outcome } from '../../client/kv-http.js';
import type { DataClient, ReadRequest } from '../../workloads/data-client.js';

const kvPath = (key: string) => `/kv/${encodeURIComponent(key)}`;

export class KvDataClient implements DataClient {
  constructor(readonly cluster: ClusterClient) {}

  read({ key, policy, rng, timeoutMs }: ReadRequest): Promise<Outcome> {
    const followers = this.cluster.followers();
    const route = policy.kind !== 'leader-only' && followers.length > 0 ? { address: rng.pick(followers) } : 'leader';
    return this.cluster.request(route, { method: 'GET', path: kvPath(key), timeoutMs }, { readOk404: true });
  }

  write(key: string, value: string, timeoutMs: number): Promise<Outcome> {
    return this.cluster.request('leader', { method: 'PUT', path: kvPath(key), body: value, timeoutMs });
  }

  cas(key: string, expected: string | null, value: string, timeoutMs: number): Promise<Outcome> {
    return this.cluster.request('leader', { method: 'POST', path: `${kvPath(key)}/cas`, body: JSON.stringify({ expected, value }), timeoutMs });
  }

  add(key: string, timeoutMs: number): Promise<Outcome> {
    return this.write(key, '1', timeoutMs);
  }

  async scan(nodeId: string, prefix: string, timeoutMs: number): Promise<Outcome> {
    const node = this.cluster.nodes().find((n) => n.id === nodeId);
    if (!node) return { type: 'fail', error: `no node ${nodeId}` };
    const out = await call({ address: node.http, method: 'GET', path: `/kv?prefix=${encodeURIComponent(prefix)}`, timeoutMs });
    if (out.type !== 'ok') return out;
    // Parsed by the workload (scanItems), which turns anything but [{key, value}] into a failed read.
    return { ...out, value: out.body?.items };
  }

  nodeIds(): string[] {
    return this.cluster.nodes().map((n) => n.id);
  }

  noteLeaderHint(leader: string): void {
    this.cluster.noteLeaderHint(leader);
  }

  refresh(): Promise<void> {
    return this.cluster.refresh();
  }

  close(): void {
    this.cluster.close();
  }
}
