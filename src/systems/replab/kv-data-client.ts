/**
 * replab's KV as a workload's DataClient: each operation is one HTTP call through the cluster
 * client (src/client/client.ts: leader discovery, 421 hints, retries only after definite failures),
 * mapped to outcomes by src/client/kv-http.ts. Reads go where their routing policy sends them
 * (src/client/read-routing.ts), with the consistency it asks of the node that serves them; an ok
 * read names that node (`node`) and the LSN its answer reflects (`lsn`), and writes and cas carry
 * their record's `lsn`, which is what a session's token is built from.
 */
import type { ClusterClient } from '../../client/client.js';
import { call, type Outcome } from '../../client/kv-http.js';
import { afterWaitMs, ReadRouting, readAlong, triesElsewhere, withConsistency } from '../../client/read-routing.js';
import type { DataClient, ReadRequest } from '../../workloads/data-client.js';

const kvPath = (key: string) => `/kv/${encodeURIComponent(key)}`;

export class KvDataClient implements DataClient {
  private readonly routing: ReadRouting;

  constructor(readonly cluster: ClusterClient) {
    this.routing = new ReadRouting(cluster);
  }

  async read({ key, policy, token, timeoutMs }: ReadRequest): Promise<Outcome> {
    if (policy.kind === 'least-lag') await this.cluster.trackLag();
    const deadline = Date.now() + timeoutMs;
    return readAlong(
      this.routing.plan(policy, token),
      (target, targetsAfter) => {
        const remainingMs = Math.max(1, deadline - Date.now());
        const path = withConsistency(kvPath(key), target.consistency, afterWaitMs(remainingMs, targetsAfter));
        return this.cluster.request(target.to, { method: 'GET', path, timeoutMs: remainingMs }, { readOk404: true });
      },
      // Out of time, the last refusal is the answer: a read that nobody served is a definite fail.
      (out) => triesElsewhere(out) && Date.now() < deadline,
    );
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
