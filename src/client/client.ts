/**
 * The cluster client workloads use: it finds the leader (from the monitor's /leader, else by
 * asking the nodes which one leads with a valid lease), follows 421 hints, and retries an
 * operation on the new leader only when the failure was definite — the operation certainly did
 * not happen (refused connection, 421 not-leader, 503 unavailable). A timeout, a connection lost
 * mid-request or a `fenced` answer may have taken effect, so it is returned as `info` and never
 * retried: retrying could turn one indeterminate write into two writes.
 */

import { type NodeStatus, parseNodeStatus } from '../kv/node/status.js';
import { fetchMonitorView } from '../monitor/api-types.js';
import { call, type KvRequest, type Outcome } from './kv-http.js';

export interface ClusterClientOptions {
  nodes: Array<{ id: string; http: string }>;
  /** host:port of the monitor's API; without it the client asks the nodes. */
  monitor?: string;
  /** Node id to try first. */
  leaderId?: string;
  /**
   * Real node address → the address this client must use instead (its client: proxy link), so
   * leader hints and the monitor's answers, which name real addresses, still go through the link.
   */
  aliases?: Record<string, string>;
  /** Also ask the monitor who leads every this many ms (not only after a failure). */
  refreshMs?: number;
  /**
   * Also poll each follower's /status for its lag (`staleMs`) at every refresh, for least-lag
   * reads (src/client/read-routing.ts); `trackLag()` turns it on later. @default false
   */
  pollLag?: boolean;
}

export type Route = 'leader' | { address: string };

/** Definite failures after which the same op may go to another node. */
const RETRIABLE = new Set(['not_leader', 'unavailable', 'connection refused']);

export function isRetriable(out: Outcome): boolean {
  return out.type === 'fail' && (RETRIABLE.has(out.error) || out.error.startsWith('could not connect'));
}

/** Where requests go; `leader()` follows 421 hints (ClusterClient below is the implementation). */
export interface Targets {
  /**
   * Performs one operation on the leader (retrying definite failures on a new leader) or on a
   * fixed address (no rerouting).
   */
  request(route: 'leader' | { address: string }, req: Omit<KvRequest, 'address'>, options?: { readOk404?: boolean }): Promise<Outcome>;
  leader(): string;
  /** HTTP addresses of the followers (where follower reads go: src/client/read-routing.ts). */
  followers(): string[];
  /** Every node, by id, for final reads. */
  nodes(): Array<{ id: string; http: string }>;
  noteLeaderHint(address: string): void;
}

export class ClusterClient implements Targets {
  private leaderAddress: string;
  private followerAddresses: string[] | undefined;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pollLag: boolean;
  /** Follower address → its lag (ms) as its /status last said; only while polling lag. */
  private lags = new Map<string, number>();

  constructor(private readonly options: ClusterClientOptions) {
    if (options.nodes.length === 0) throw new Error('a cluster client needs at least one node');
    this.pollLag = options.pollLag ?? false;
    this.leaderAddress = options.nodes.find((n) => n.id === options.leaderId)?.http ?? options.nodes[0]!.http;
    if (options.refreshMs) {
      // Each client on its own phase, as independent application servers would be.
      const start = setTimeout(() => {
        this.timer = setInterval(() => void this.refresh(), options.refreshMs);
        this.timer.unref();
      }, Math.random() * options.refreshMs);
      start.unref();
    }
  }

  /** Stops the periodic refresh. */
  close(): void {
    clearInterval(this.timer);
  }

  leader(): string {
    return this.leaderAddress;
  }

  followers(): string[] {
    return this.followerAddresses ?? this.options.nodes.map((n) => n.http).filter((a) => a !== this.leaderAddress);
  }

  nodes(): Array<{ id: string; http: string }> {
    return this.options.nodes;
  }

  noteLeaderHint(address: string): void {
    this.leaderAddress = this.alias(address);
  }

  /** A follower's lag (ms) as its /status said at the last refresh, when lag is polled and it answered. */
  lagMs(address: string): number | undefined {
    return this.lags.get(address);
  }

  /** Polls follower lag from now on; the first call polls at once, so the first least-lag read has figures. */
  async trackLag(): Promise<void> {
    if (this.pollLag) return;
    this.pollLag = true;
    await this.refresh();
  }

  private alias(address: string): string {
    return this.options.aliases?.[address] ?? address;
  }

  /** Asks the monitor (or the nodes) who leads now; concurrent callers share one lookup. */
  refresh(): Promise<void> {
    this.refreshing ??= this.lookup().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async lookup(): Promise<void> {
    await this.lookupLeader();
    if (this.pollLag) await this.lookupLag();
  }

  private async lookupLeader(): Promise<void> {
    if (this.options.monitor) {
      const st = await fetchMonitorView(this.options.monitor, 500);
      if (st) {
        this.leaderAddress = this.alias(st.leaderHttp);
        this.followerAddresses = st.nodes.filter((n) => n.reachable && n.role === 'follower').map((n) => this.alias(n.http));
        return;
      }
    }
    // No monitor answer: the node that says it leads, with a lease, at the highest epoch.
    const statuses = await Promise.all(this.options.nodes.map((n) => nodeStatus(n.http, 500)));
    let best: { http: string; epoch: number } | undefined;
    for (const s of statuses) {
      if (s?.role === 'leader' && s.leaseValid && (!best || s.epoch > best.epoch)) best = { http: s.http, epoch: s.epoch };
    }
    if (best) this.leaderAddress = this.alias(best.http);
  }

  /** Each follower's own figure of how far behind the leader it is; a follower that does not say is forgotten. */
  private async lookupLag(): Promise<void> {
    const followers = this.followers();
    const statuses = await Promise.all(followers.map((a) => nodeStatus(a, 300)));
    const lags = new Map<string, number>();
    followers.forEach((a, i) => {
      const stale = statuses[i]?.staleMs;
      if (typeof stale === 'number') lags.set(a, stale);
    });
    this.lags = lags;
  }

  /**
   * Sends one operation, retrying definite failures on the (new) leader until `timeoutMs` is
   * spent. Requests to a fixed address (follower reads) are not rerouted.
   */
  async request(route: Route, req: Omit<KvRequest, 'address'>, options: { readOk404?: boolean } = {}): Promise<Outcome> {
    const deadline = Date.now() + req.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const address = route === 'leader' ? this.leaderAddress : route.address;
      const out = await call({ ...req, address, timeoutMs: Math.max(1, deadline - Date.now()) }, options);
      if (route === 'leader' && out.type === 'info') {
        // Never retried (it may have happened), but the next operation should not go to a node
        // that just failed mid-request: behind a proxy a dead node looks exactly like this.
        void this.refresh();
        return out;
      }
      if (route !== 'leader' || !isRetriable(out)) return out;
      if (out.type !== 'ok' && out.leader) this.leaderAddress = this.alias(out.leader);
      else await this.refresh();
      const pause = Math.min(10 * 2 ** attempt, 100);
      if (Date.now() + pause >= deadline) return out;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

async function nodeStatus(address: string, timeoutMs: number): Promise<NodeStatus | undefined> {
  try {
    const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    const r = parseNodeStatus(await res.json());
    return r.ok ? r.status : undefined;
  } catch {
    return undefined;
  }
}
