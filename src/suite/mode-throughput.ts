/**
 * Throughput and latency of each replication mode on the same cluster spec, no faults: for every
 * mode, start the cluster fresh, warm it up for a second, drive the leader with autocannon, read
 * the leader's fsync counter before and after, and stop the cluster (also on failure).
 */

import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReplabCluster } from '../cluster/replab-cluster.js';
import type { ClusterSpec } from '../cluster/spec.js';
import type { ReplicationMode } from '../kv/config.js';
import { type HttpBenchResult, runHttpBench } from '../workloads/http-bench.js';

export interface ModeBenchRow extends HttpBenchResult {
  mode: ReplicationMode;
  fsyncsPerSec: number;
  writesPerFsync: number;
}

export interface ModeBenchOptions {
  spec: ClusterSpec;
  modes: ReplicationMode[];
  durationSec: number;
  connections: number;
  valueBytes?: number;
  /** Where cluster state goes. @default a fresh folder under the OS temp dir */
  stateRoot?: string;
  onProgress?: (message: string) => void;
}

export async function benchModes(o: ModeBenchOptions): Promise<ModeBenchRow[]> {
  const stateRoot = o.stateRoot ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-bench-')));
  const rows: ModeBenchRow[] = [];
  try {
    for (const mode of o.modes) {
      o.onProgress?.(`${mode}: starting ${o.spec.nodes.length}-node cluster`);
      const cluster = await ReplabCluster.up({ ...o.spec, name: `${o.spec.name}-bench` }, { stateRoot, mode });
      try {
        const leader = cluster.endpoint(cluster.leaderId()).http;
        const fsyncs = async () => (await cluster.status(cluster.leaderId(), 5000))?.fsyncs ?? 0;
        // Warm-up, not measured: JIT, connection set-up and the nodes' first WAL preallocation.
        await runHttpBench({ address: leader, connections: o.connections, durationSec: 1, valueBytes: o.valueBytes });
        const before = await fsyncs();
        o.onProgress?.(`${mode}: ${o.connections} connections for ${o.durationSec} s`);
        const r = await runHttpBench({ address: leader, connections: o.connections, durationSec: o.durationSec, valueBytes: o.valueBytes });
        const fsyncCount = (await fsyncs()) - before;
        rows.push({ mode, ...r, fsyncsPerSec: fsyncCount / o.durationSec, writesPerFsync: fsyncCount ? r.total / fsyncCount : 0 });
      } finally {
        await cluster.down({ clean: true });
      }
    }
  } finally {
    if (!o.stateRoot) await fsp.rm(stateRoot, { recursive: true, force: true });
  }
  return rows;
}

export function formatModeTable(rows: ModeBenchRow[]): string {
  const header = ['mode', 'writes/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'fsyncs/s', 'writes/fsync', 'errors'];
  const lines = [
    header,
    ...rows.map((r) => [
      r.mode,
      r.requestsPerSec.toFixed(0),
      r.latencyMs.p50.toFixed(2),
      r.latencyMs.p99.toFixed(2),
      r.latencyMs.p999.toFixed(2),
      r.fsyncsPerSec.toFixed(0),
      r.writesPerFsync.toFixed(1),
      String(r.errors + r.non2xx),
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n');
}
