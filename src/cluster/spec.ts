/**
 * Cluster specs (clusters/*.yaml): which nodes, in what topology, under which replication mode.
 *
 *   name: three-node            # optional; defaults to the file's base name
 *   system: replab              # replab (default) | postgres (PostgreSQL + Patroni + etcd) | mariadb | redis (Redis + Sentinel)
 *   backend: process            # process | docker
 *   topology: direct            # direct: every follower streams from the leader
 *                               # chain: each node streams from the one listed before it
 *   leader: n1                  # optional; defaults to the first node
 *   nodes: [{id: n1}, {id: n2, region: eu-west, upstream: n1}]
 *   replication: {mode: semi-sync, k: 1, ackLevel: flush, syncTimeoutMs: 10000,
 *                 onSyncTimeout: block, visibility: after-commit, applyDelayMs: 0}
 *                               # ackLevel: write | flush | apply (PostgreSQL's remote_write | on | remote_apply)
 *                               # applyDelayMs: followers apply this long after the write (recovery_min_apply_delay)
 *   storage: {checkpointBytes: 67108864, segmentBytes: 16777216, syncDelayMs: 0}
 *                               # syncDelayMs: a slow disk; simulatePowerLoss: set by `replab run` for power-loss faults
 *                               # volumeMiB: each node's data dir on its own volume (root; the disk-full fault needs it)
 *                               # fsync: always | everysec (system redis only: its appendfsync)
 *   heartbeatMs: 100            # replication heartbeat
 *   fencing: lease              # lease | none (teaching mode: split brain becomes possible)
 *   failover: {heartbeatMs: 1000, failoverTimeoutMs: 10000, leaseMs: 5000, maxClockDrift: 0.01, maxLagOnFailover: null}
 *                               # maxClockDrift: the clock rate drift the lease holds under (docs/clocks.md)
 *   clockControl: false         # nodes under libfaketime (the clock fault; `replab run` sets it when a nemesis needs it)
 *   regions: {us-east: {eu-west: 40}}   # one-way ms between regions (symmetric), on every link between them
 *   settings: {waitMs: 1000}    # a system module's own settings, checked against its settingsSchema
 *
 * Parsing is strict: an unknown or misspelt field is an error naming it, never silently ignored.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CommitSettings, ReplicationMode } from '../kv/config.js';
import { readConfigFile } from '../lib/config-file.js';
import { ConfigError } from '../lib/errors.js';
import { REPLICATION_MODES } from '../lib/modes.js';
import { projectRoot } from '../lib/paths.js';
import { parseWith } from '../lib/schema.js';

/** The built-in systems (src/systems): anything else in `system:` is the path of a module. */
const SYSTEM_NAMES = ['replab', 'postgres', 'mariadb', 'redis'] as const;

const nodeId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, "_" or "-"');

const NodeSpecSchema = z.strictObject({
  id: nodeId,
  region: z.string().min(1).optional(),
  upstream: nodeId.optional(),
});

const ReplicationSchema = z.strictObject({
  mode: z.enum(REPLICATION_MODES).default('async'),
  k: z.number().int().min(1).default(1),
  ackLevel: z.enum(['write', 'flush', 'apply']).default('flush'),
  applyDelayMs: z.number().int().nonnegative().default(0),
  syncTimeoutMs: z.number().int().positive().default(10_000),
  onSyncTimeout: z.enum(['block', 'degrade']).default('block'),
  visibility: z.enum(['after-commit', 'early']).default('after-commit'),
  /** MariaDB semi-sync only: when the primary waits for the replica's acknowledgement (rpl_semi_sync_master_wait_point). */
  waitPoint: z.enum(['after-sync', 'after-commit']).optional(),
});

const ClusterSpecSchema = z.strictObject({
  name: nodeId.optional(),
  /** The system under test: replab's own KV, or PostgreSQL under Patroni and etcd (src/systems). */
  system: z
    .union([
      z.enum(SYSTEM_NAMES),
      z.string().regex(/^(\.{1,2}\/|\/).+|.+\.(m|c)?js$/, 'must be replab, postgres, mariadb, redis, or the path of a system module (./my-system.js)'),
    ])
    .default('replab'),
  backend: z.enum(['process', 'docker']).default('process'),
  topology: z.enum(['direct', 'chain']).default('direct'),
  leader: nodeId.optional(),
  nodes: z.array(NodeSpecSchema).min(1, 'needs at least one node'),
  replication: ReplicationSchema.default(ReplicationSchema.parse({})),
  storage: z
    .strictObject({
      checkpointBytes: z
        .number()
        .int()
        .positive()
        .default(64 * 1024 * 1024),
      segmentBytes: z
        .number()
        .int()
        .positive()
        .default(16 * 1024 * 1024),
      syncDelayMs: z.number().int().nonnegative().default(0),
      simulatePowerLoss: z.boolean().default(false),
      /**
       * Each node's data dir on a volume of its own of this many MiB (src/cluster/volumes.ts), so a
       * disk-full fault fills that node's disk alone. A suite with a disk-full fault must set it.
       */
      volumeMiB: z.number().int().min(16).max(65536).optional(),
      /** Redis's appendfsync (system redis only): fsync the AOF before every reply, or once a second. */
      fsync: z.enum(['always', 'everysec']).optional(),
    })
    .default({ checkpointBytes: 64 * 1024 * 1024, segmentBytes: 16 * 1024 * 1024, syncDelayMs: 0, simulatePowerLoss: false }),
  heartbeatMs: z.number().int().positive().default(100),
  regions: z.record(z.string(), z.record(z.string(), z.number().nonnegative())).default({}),
  fencing: z.enum(['lease', 'none']).default('lease'),
  /** Settings of a user's system module, checked against the schema it exports (src/systems/external.ts). */
  settings: z.record(z.string(), z.unknown()).optional(),
  /**
   * Start every node under libfaketime with a control file of its own, so the clock fault can skew
   * it while it runs (cluster/clock-control.ts). A suite whose nemesis uses the clock fault sets it.
   */
  clockControl: z.boolean().default(false),
  failover: z
    .strictObject({
      /** How often the monitor probes every node and renews the leader's lease. */
      heartbeatMs: z.number().int().positive().default(1000),
      /** The leader is declared dead after this long without a good answer. */
      failoverTimeoutMs: z.number().int().positive().default(10_000),
      /** Lease granted on each renewal; must be shorter than failoverTimeoutMs. Default: half of it. */
      leaseMs: z.number().int().positive().optional(),
      /**
       * ρ, the bound on clock rate drift the lease holds under (docs/clocks.md): the leader holds
       * leaseMs·(1 − ρ) on its own clock, the monitor waits leaseMs·(1 + ρ) on its own. 0: no margin.
       */
      maxClockDrift: z.number().min(0, 'must be between 0 and 0.5').max(0.5, 'must be between 0 and 0.5').default(0.01),
      /** Refuse to promote a follower more than this many records behind the leader's last known LSN. */
      maxLagOnFailover: z.number().int().nonnegative().nullable().default(null),
    })
    .default({ heartbeatMs: 1000, failoverTimeoutMs: 10_000, maxClockDrift: 0.01, maxLagOnFailover: null }),
});

export type ClusterSpec = z.infer<typeof ClusterSpecSchema> & { name: string; leader: string; failover: FailoverSettings };
export interface FailoverSettings {
  heartbeatMs: number;
  failoverTimeoutMs: number;
  leaseMs: number;
  maxClockDrift: number;
  maxLagOnFailover: number | null;
}
export type NodeSpec = z.infer<typeof NodeSpecSchema>;

/** Validates a parsed spec object; `where` names its source in error messages. */
export function parseClusterSpec(input: unknown, where: string, defaultName: string): ClusterSpec {
  const spec = parseWith(ClusterSpecSchema, input, where);
  const ids = spec.nodes.map((n) => n.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new ConfigError(`${where}: nodes: node id "${dup}" appears twice`);
  const leader = spec.leader ?? ids[0]!;
  if (!ids.includes(leader)) throw new ConfigError(`${where}: leader: "${leader}" is not one of the nodes (${ids.join(', ')})`);
  for (const [i, n] of spec.nodes.entries()) {
    if (n.upstream !== undefined && !ids.includes(n.upstream)) throw new ConfigError(`${where}: nodes.${i}.upstream: "${n.upstream}" is not one of the nodes`);
    if (n.upstream === n.id) throw new ConfigError(`${where}: nodes.${i}.upstream: a node cannot follow itself`);
  }
  if (spec.storage.volumeMiB !== undefined && (spec.backend !== 'process' || spec.system !== 'replab'))
    throw new ConfigError(
      `${where}: storage.volumeMiB: a data volume per node (and so the disk-full fault) is available for system replab on the process backend only`,
    );
  if (spec.replication.waitPoint !== undefined && spec.system !== 'mariadb')
    throw new ConfigError(`${where}: replication.waitPoint: only system mariadb has a semi-sync wait point (this cluster is system ${spec.system})`);
  if (spec.settings !== undefined && (SYSTEM_NAMES as readonly string[]).includes(spec.system))
    throw new ConfigError(
      `${where}: settings: only a system module takes settings of its own; system ${spec.system} is set by the spec's fields (replication, storage, failover)`,
    );
  if (spec.storage.fsync !== undefined && spec.system !== 'redis')
    throw new ConfigError(`${where}: storage.fsync: an fsync policy (appendfsync) is a setting of system redis only, not of ${spec.system}`);
  if (spec.clockControl && (spec.backend !== 'process' || spec.system !== 'replab'))
    throw new ConfigError(
      `${where}: clockControl: skewed node clocks (libfaketime) are available for system replab on the process backend only (this cluster: system ${spec.system}, backend ${spec.backend})`,
    );
  const f = spec.failover;
  const leaseMs = f.leaseMs ?? Math.max(Math.round(f.failoverTimeoutMs / 2), 1);
  if (leaseMs >= f.failoverTimeoutMs)
    throw new ConfigError(
      `${where}: failover.leaseMs: ${leaseMs} must be shorter than failoverTimeoutMs (${f.failoverTimeoutMs}), or a deposed leader could still hold its lease after a failover`,
    );
  // The monitor waits out a deposed leader's lease for leaseMs·(1 + ρ) on its own clock
  // (kv/node/lease.ts, leaseWaitMs); a monitor restarted mid-failover counts on that wait fitting
  // inside the failover timeout, so the spec must allow it.
  const leaseWaitMs = Math.ceil(leaseMs * (1 + f.maxClockDrift));
  if (leaseWaitMs > f.failoverTimeoutMs)
    throw new ConfigError(
      `${where}: failover.failoverTimeoutMs: ${f.failoverTimeoutMs} is shorter than the lease wait leaseMs·(1 + maxClockDrift) = ${leaseWaitMs} ms; raise it or shorten leaseMs`,
    );
  if (f.heartbeatMs >= leaseMs)
    throw new ConfigError(`${where}: failover.heartbeatMs: ${f.heartbeatMs} must be shorter than leaseMs (${leaseMs}), or the lease lapses between renewals`);
  if (f.heartbeatMs >= leaseMs * (1 - f.maxClockDrift))
    throw new ConfigError(
      `${where}: failover.maxClockDrift: ${f.maxClockDrift} shortens the lease the leader holds to ${Math.floor(leaseMs * (1 - f.maxClockDrift))} ms, not longer than heartbeatMs (${f.heartbeatMs}): the lease would lapse between renewals`,
    );
  const full: ClusterSpec = { ...spec, name: spec.name ?? defaultName, leader, failover: { ...f, leaseMs } };
  const direct = directFollowers(full, leader);
  if (full.replication.mode === 'semi-sync' && full.replication.k > Math.max(direct.length, 1)) {
    throw new ConfigError(`${where}: replication.k: ${full.replication.k} exceeds the ${direct.length} direct follower(s) of ${leader}`);
  }
  upstreamsOf(full, where); // rejects cycles
  const named = new Set([...Object.keys(spec.regions), ...Object.values(spec.regions).flatMap((r) => Object.keys(r))]);
  for (const [i, n] of spec.nodes.entries()) {
    if (named.size > 0 && n.region !== undefined && !named.has(n.region))
      throw new ConfigError(`${where}: nodes.${i}.region: "${n.region}" has no entry in regions (${[...named].join(', ')})`);
  }
  return full;
}

/** A cluster spec file, or the name of one shipped with replab (`replab cluster up three-node`). */
export async function loadClusterSpec(arg: string): Promise<ClusterSpec> {
  const shipped = path.join(projectRoot(), 'clusters', `${arg}.yaml`);
  const file = !existsSync(arg) && /^[\w-]+$/.test(arg) && existsSync(shipped) ? shipped : arg;
  const doc = await readConfigFile(file, 'cluster spec');
  return parseClusterSpec(doc, file, path.basename(file).replace(/\.ya?ml$/, ''));
}

/** Each follower's upstream node id, from explicit `upstream` fields and the topology. */
export function upstreamsOf(spec: ClusterSpec, where = spec.name): Map<string, string> {
  const map = new Map<string, string>();
  const order = [spec.leader, ...spec.nodes.map((n) => n.id).filter((id) => id !== spec.leader)];
  order.forEach((id, i) => {
    if (id === spec.leader) return;
    const explicit = spec.nodes.find((n) => n.id === id)?.upstream;
    map.set(id, explicit ?? (spec.topology === 'chain' ? order[i - 1]! : spec.leader));
  });
  for (const start of map.keys()) {
    const seen = new Set<string>();
    let cur: string | undefined = start;
    while (cur !== undefined && cur !== spec.leader) {
      if (seen.has(cur)) throw new ConfigError(`${where}: nodes: upstream links form a cycle through "${cur}"`);
      seen.add(cur);
      cur = map.get(cur);
    }
  }
  return map;
}

export function directFollowers(spec: ClusterSpec, of: string): string[] {
  return [...upstreamsOf(spec).entries()].filter(([, up]) => up === of).map(([id]) => id);
}

/** Node start order: every node after its upstream. */
export function startOrder(spec: ClusterSpec): string[] {
  const ups = upstreamsOf(spec);
  const out = [spec.leader];
  while (out.length < spec.nodes.length) {
    for (const n of spec.nodes) if (!out.includes(n.id) && out.includes(ups.get(n.id)!)) out.push(n.id);
  }
  return out;
}

export function commitSettings(spec: ClusterSpec, modeOverride?: ReplicationMode): CommitSettings {
  const r = spec.replication;
  return {
    mode: modeOverride ?? r.mode,
    k: r.k,
    ackLevel: r.ackLevel,
    syncStandbys: directFollowers(spec, spec.leader),
    syncTimeoutMs: r.syncTimeoutMs,
    onSyncTimeout: r.onSyncTimeout,
    visibility: r.visibility,
  };
}
