/**
 * What a monitor watches and how (`replab monitor --config FILE`): the nodes with the addresses it
 * uses to reach them, who leads at first, each follower's upstream, the commit rule (to know which
 * followers must hold every acknowledged write) and the failover timings. The process backend
 * writes this file from the cluster spec; `links` lets a fault proxy sit on each link later.
 */
import { z } from 'zod';
import { readConfigFile } from '../lib/config-file.js';
import { ConfigError } from '../lib/errors.js';
import { REPLICATION_MODES } from '../lib/modes.js';
import { parseWith } from '../lib/schema.js';

const address = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port');
const id = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a node id');

const MonitorConfigSchema = z.strictObject({
  cluster: z.string().min(1),
  nodes: z.array(z.strictObject({ id, http: address, repl: address })).min(1),
  leader: id,
  /** follower id → id of the node it streams from. */
  upstreams: z.record(z.string(), id),
  /** "n2->n1" → the address n2 dials to reach n1's replication port (default: n1's repl). */
  replLinks: z.record(z.string(), address).default({}),
  /** node id → the address the monitor uses for that node's HTTP API (default: its http). */
  monitorLinks: z.record(z.string(), address).default({}),
  mode: z.enum(REPLICATION_MODES),
  k: z.number().int().min(1),
  syncStandbys: z.array(id).default([]),
  fencing: z.enum(['lease', 'none']),
  heartbeatMs: z.number().int().positive(),
  failoverTimeoutMs: z.number().int().positive(),
  leaseMs: z.number().int().positive(),
  /**
   * ρ: the bound on how far any clock's rate may stray from real time (0.01 = 1%) that the lease
   * holds under (kv/node/lease.ts). 0 turns the safety margin off.
   */
  maxClockDrift: z.number().min(0).max(0.5).default(0.01),
  maxLagOnFailover: z.number().int().nonnegative().nullable(),
});

export type MonitorConfig = z.infer<typeof MonitorConfigSchema>;

export function parseMonitorConfig(input: unknown, where: string): MonitorConfig {
  const c = parseWith(MonitorConfigSchema, input, where);
  const ids = new Set(c.nodes.map((n) => n.id));
  if (!ids.has(c.leader)) throw new ConfigError(`${where}: leader: "${c.leader}" is not one of the nodes`);
  for (const [f, u] of Object.entries(c.upstreams)) {
    if (!ids.has(f) || !ids.has(u)) throw new ConfigError(`${where}: upstreams: "${f}" -> "${u}" names an unknown node`);
  }
  if (c.leaseMs >= c.failoverTimeoutMs) throw new ConfigError(`${where}: leaseMs must be shorter than failoverTimeoutMs`);
  return c;
}

export async function loadMonitorConfig(file: string): Promise<MonitorConfig> {
  return parseMonitorConfig(await readConfigFile(file, 'monitor config', 'json'), file);
}
