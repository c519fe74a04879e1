/**
 * The two kinds of measurement bench:reads makes on a running cluster.
 *
 * Placement: N closed-loop readers sent straight to fixed nodes (all on the leader, all on one
 * follower, or half on each of two followers) with `consistency=any`, optionally while W writers
 * run a closed loop of PUTs on the leader at the same time. Raw keep-alive HTTP (bench/lib/raw-http.ts), so
 * what is measured is the nodes, not Node's http client.
 *
 * Policy: the same N clients through the routing client a workload uses (ClusterClient +
 * KvDataClient, one shared by every client as in one application process), reading under a
 * routing policy; every client also writes every WRITE_EVERY-th operation and keeps its own
 * session token (the highest LSN it wrote or read), so under `session` its token moves past what
 * the followers have applied and its reads must wait or go to the leader. Every policy gets the
 * same mix, so their figures compare.
 */
import { ClusterClient, type Route } from '../../src/client/client.js';
import { closeKvClients, type KvRequest, type Outcome } from '../../src/client/kv-http.js';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import type { ReadPolicy } from '../../src/lib/read-consistency.js';
import { Rng } from '../../src/lib/rng.js';
import { KvDataClient } from '../../src/systems/replab/kv-data-client.js';
import { RawHttpClient } from '../lib/raw-http.js';
import { type OpLoopResult, runOpLoop } from '../peers/closed-loop.js';
import { type CpuSplit, cpuMeter } from './cpu.js';

export const VALUE_BYTES = 100;
export const KEY_SPACE = 10_000;
/** Policy runs: one operation in this many is a write (per client, staggered across clients). */
export const WRITE_EVERY = 10;
const OP_TIMEOUT_MS = 5000;

export interface RunResult {
  reads: OpLoopResult;
  /** The concurrent writers' loop (placement runs with writers); policy runs' writes are in `reads`. */
  writers: OpLoopResult | undefined;
  cpu: CpuSplit | undefined;
  /** Policy runs: read requests sent while measuring (a refused one is followed by another), and the refusals by error. */
  tries?: { requests: number; refused: Record<string, number> };
}

/**
 * The routing client, counting the read requests it sends: a policy's plan tries the next place
 * only after a refusal, so requests per read says how often a read was refused before it was
 * served (the outcome of the read names only the node that finally served it).
 */
class CountingClient extends ClusterClient {
  requests = 0;
  readonly refused = new Map<string, number>();

  override async request(route: Route, req: Omit<KvRequest, 'address'>, options?: { readOk404?: boolean }): Promise<Outcome> {
    const out = await super.request(route, req, options);
    if (req.method === 'GET') {
      this.requests++;
      if (out.type !== 'ok') this.refused.set(out.error, (this.refused.get(out.error) ?? 0) + 1);
    }
    return out;
  }
}

const value = 'v'.repeat(VALUE_BYTES);

/** Writes every key the readers will ask for, so each read finds a value, then waits for the followers to apply them all. */
export async function preload(cluster: ReplabCluster, connections = 32): Promise<void> {
  const leader = cluster.endpoint(cluster.leaderId()).http;
  const conns = await Promise.all(Array.from({ length: connections }, () => RawHttpClient.connect(leader)));
  try {
    let next = 0;
    await Promise.all(
      conns.map(async (c) => {
        while (next < KEY_SPACE) {
          const key = `k${next++}`;
          const a = await c.put(`/kv/${key}`, value);
          if (a.status !== 200) throw new Error(`preload PUT ${key}: HTTP ${a.status} ${a.body.slice(0, 200)}`);
        }
      }),
    );
  } finally {
    for (const c of conns) c.close();
  }
  await cluster.waitConverged(30_000);
}

/** Closed-loop PUTs on the leader, or nothing when `writers` is 0. */
function writerLoop(leader: string, writers: number, durationSec: number): Promise<OpLoopResult | undefined> {
  if (writers === 0) return Promise.resolve(undefined);
  return runOpLoop({
    clients: writers,
    durationSec,
    keySpace: KEY_SPACE,
    connect: async () => {
      const c = await RawHttpClient.connect(leader);
      return {
        op: async (key) => {
          const a = await c.put(`/kv/${key}`, value);
          if (a.status !== 200) throw new Error(`PUT ${key} on ${a.node}: HTTP ${a.status} ${a.body.slice(0, 200)}`);
          return { kind: 'write' };
        },
        close: () => c.close(),
      };
    },
  });
}

export async function measurePlacement(
  cluster: ReplabCluster,
  o: { targets: string[]; clients: number; writers: number; durationSec: number },
): Promise<RunResult> {
  const addresses = o.targets.map((id) => cluster.endpoint(id).http);
  const leader = cluster.endpoint(cluster.leaderId()).http;
  const cpu = cpuMeter(() => cluster.processes());
  // Both loops start together with the same warm-up and duration, so their measured windows coincide.
  const [reads, writers] = await Promise.all([
    runOpLoop({
      clients: o.clients,
      durationSec: o.durationSec,
      keySpace: KEY_SPACE,
      onMeasure: cpu.onMeasure,
      connect: async (i) => {
        const c = await RawHttpClient.connect(addresses[i % addresses.length]!);
        return {
          op: async (key) => {
            const a = await c.get(`/kv/${key}`);
            if (a.status !== 200) throw new Error(`GET ${key} on ${a.node}: HTTP ${a.status} ${a.body.slice(0, 200)}`);
            return { kind: 'read', tag: a.node ?? 'unknown' };
          },
          close: () => c.close(),
        };
      },
    }),
    writerLoop(leader, o.writers, o.durationSec),
  ]);
  return { reads, writers, cpu: cpu.split() };
}

export async function measurePolicy(cluster: ReplabCluster, o: { policy: ReadPolicy; clients: number; durationSec: number }): Promise<RunResult> {
  // Straight to the nodes, as the placement runs are, not through the proxy's client: links: a
  // proxy hop would add its own CPU to every read and blur the comparison between the sections.
  const client = new CountingClient({
    nodes: cluster.endpoints().map((n) => ({ id: n.id, http: n.http })),
    monitor: cluster.monitorHttp,
    leaderId: cluster.leaderId(),
    // As a workload's clients do: who leads (and, for least-lag, each follower's lag) every second.
    refreshMs: 1000,
  });
  const data = new KvDataClient(client);
  const cpu = cpuMeter(() => cluster.processes());
  let start: { requests: number; refused: Map<string, number> } | undefined;
  let tries: RunResult['tries'];
  const onMeasure = (phase: 'start' | 'end') => {
    cpu.onMeasure(phase);
    if (phase === 'start') start = { requests: client.requests, refused: new Map(client.refused) };
    else if (start) {
      const refused: Record<string, number> = {};
      for (const [error, n] of client.refused) if (n > (start.refused.get(error) ?? 0)) refused[error] = n - (start.refused.get(error) ?? 0);
      tries = { requests: client.requests - start.requests, refused };
    }
  };
  try {
    await client.refresh();
    const reads = await runOpLoop({
      clients: o.clients,
      durationSec: o.durationSec,
      keySpace: KEY_SPACE,
      onMeasure,
      connect: async (i) => {
        let token: number | null = null;
        // Staggered so the clients' writes do not all land in the same round of operations.
        let n = i % WRITE_EVERY;
        const rng = new Rng(i + 1);
        const see = (lsn: number | undefined) => {
          if (lsn !== undefined && (token === null || lsn > token)) token = lsn;
        };
        return {
          op: async (key) => {
            if (++n % WRITE_EVERY === 0) {
              const out = await data.write(key, value, OP_TIMEOUT_MS);
              if (out.type !== 'ok') throw new Error(`write ${out.type}: ${out.error}`);
              see(out.lsn);
              return { kind: 'write' };
            }
            const out = await data.read({ key, policy: o.policy, token, rng, timeoutMs: OP_TIMEOUT_MS });
            if (out.type !== 'ok') throw new Error(`read ${out.type}: ${out.error}${out.node ? ` (${out.node})` : ''}`);
            if (out.value === null) throw new Error(`read of ${key} found nothing on ${out.node}`);
            see(out.lsn);
            return { kind: 'read', tag: out.node ?? 'unknown' };
          },
          close: () => {},
        };
      },
    });
    return { reads, writers: undefined, cpu: cpu.split(), tries };
  } finally {
    data.close();
    closeKvClients();
  }
}
