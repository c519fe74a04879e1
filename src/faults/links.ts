/**
 * Every link of a cluster passes through its own proxy, named for what it carries:
 *   repl:n2->n1   follower n2 dialling n1's replication port (one per ordered pair, so any
 *                 repointing after a failover also goes through a proxy)
 *   monitor:n1    the monitor's health checks, leases and admin calls to n1
 *   client:n1     clients (workloads, the router) talking to n1's HTTP API
 *   repl:*->n1    (systems whose followers all dial one advertised address, like PostgreSQL under
 *                 Patroni) replication into n1 from any node; `repl:*->n1.api` the same for its
 *                 control API. A partition that cuts a->n1 cuts these when no repl:a->n1 exists.
 * Cutting one proxy cuts exactly that link. Links between nodes in different regions carry a
 * latency toxic from the start (named `region-latency-…`, which nemeses never remove).
 */
import { addToxic, type Toxiproxy } from './toxiproxy.js';

export const replLink = (from: string, to: string) => `repl:${from}->${to}`;
export const monitorLink = (node: string) => `monitor:${node}`;
export const clientLink = (node: string) => `client:${node}`;
export const replInto = (to: string) => `repl:*->${to}`;
export const patroniApiLink = (to: string) => `repl:*->${to}.api`;

/** The links that carry replication from `from` into `to`: the pair's own, else every link into `to`. */
export function replLinksBetween(existing: Record<string, string>, from: string, to: string): string[] {
  const pair = replLink(from, to);
  if (pair in existing) return [pair];
  return Object.keys(existing).filter((l) => l === replInto(to) || l === patroniApiLink(to));
}

export const REGION_TOXIC_PREFIX = 'region-latency';

/** Creates (or keeps) the proxies named in `wanted` (name → upstream) and returns name → listen address. */
export async function ensureLinks(client: Toxiproxy, wanted: Record<string, string>): Promise<Record<string, string>> {
  const body = Object.entries(wanted).map(([name, upstream]) => ({ name, listen: '127.0.0.1:0', upstream, enabled: true }));
  if (body.length === 0) return {};
  const created = await client.populate(body);
  return Object.fromEntries(Object.entries(created).map(([name, p]) => [name, p.listen]));
}

/** One-way latency between two regions from a symmetric matrix (either direction may be given). */
export function regionLatencyMs(matrix: Record<string, Record<string, number>>, a: string | undefined, b: string | undefined): number {
  if (!a || !b || a === b) return 0;
  return matrix[a]?.[b] ?? matrix[b]?.[a] ?? 0;
}

/** Adds the region latency to both directions of a link (idempotent: skipped when already there). */
export async function applyRegionLatency(client: Toxiproxy, link: string, oneWayMs: number): Promise<void> {
  if (oneWayMs <= 0) return;
  const proxy = await client.get(link);
  for (const stream of ['upstream', 'downstream'] as const) {
    const name = `${REGION_TOXIC_PREFIX}-${stream}`;
    try {
      await proxy.getToxic(name);
    } catch {
      await addToxic(proxy, { name, type: 'latency', stream, attributes: { latency: oneWayMs, jitter: 0 } });
    }
  }
}
