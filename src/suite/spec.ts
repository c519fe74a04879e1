/**
 * Suites (suites/*.yaml): a cluster spec × replication modes × a workload × a nemesis schedule ×
 * seeds, with the invariants each mode must keep.
 *
 *   name: quick
 *   cluster: ../clusters/three-node.yaml        # a file (relative to the suite) or an inline spec
 *   clusterOverrides: {failover: {failoverTimeoutMs: 1000}}   # merged onto it
 *   workload: ../workloads/register.yaml        # a file or an inline workload
 *   workloadOverrides: {concurrency: 8}
 *   durationSec: 20                             # per run (overrides the workload's)
 *   seeds: 2                                    # a count (1..n) or a list [7, 11]
 *   nemesis: [ {fault: kill, target: leader, at: 5s, for: 3s} ]   # src/faults/nemesis/schedule.ts
 *   modes:
 *     - {name: async, replication: {mode: async}}
 *     - {name: semi-sync, replication: {mode: semi-sync, k: 1, onSyncTimeout: block}}
 *     - {name: no-fencing, replication: {mode: async}, fencing: none, nemesis: [...], control: true}
 *   gate:                                       # per mode name; "*" applies to every mode
 *     "*": [splitBrainWrites == 0]
 *     semi-sync: [lostAcked == 0, linearizable]
 *
 * A mode may replace the suite's cluster, nemesis and workload, and add its own gate. `control: true` marks a negative
 * control: a run that must show an anomaly (its gate says which), proving the checker sees it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type ClusterSpec, parseClusterSpec } from '../cluster/spec.js';
import { type NemesisStep, parseNemesisSchedule } from '../faults/nemesis/schedule.js';
import { readConfigFile } from '../lib/config-file.js';
import { ConfigError } from '../lib/errors.js';
import { projectRoot } from '../lib/paths.js';
import { parseWith } from '../lib/schema.js';
import { isModulePath, loadSystemModule } from '../systems/external.js';
import { parseWorkloadSpec, type WorkloadSpec } from '../workloads/spec.js';
import { type GateRule, parseGateRule } from './gate.js';

const ModeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1-40 letters, digits, "_" or "-"'),
  replication: z.record(z.string(), z.unknown()).default({}),
  fencing: z.enum(['lease', 'none']).optional(),
  /** Replaces the suite's cluster spec for this mode (topology comparisons). */
  cluster: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  clusterOverrides: z.record(z.string(), z.unknown()).default({}),
  /** Replaces the suite's workload for this mode (a file or inline), e.g. `set` for a loss control. */
  workload: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  workloadOverrides: z.record(z.string(), z.unknown()).default({}),
  nemesis: z.array(z.unknown()).optional(),
  gate: z.array(z.string()).default([]),
  control: z.boolean().default(false),
  description: z.string().optional(),
});

const SuiteSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/)
    .optional(),
  description: z.string().optional(),
  cluster: z.union([z.string(), z.record(z.string(), z.unknown())]),
  clusterOverrides: z.record(z.string(), z.unknown()).default({}),
  workload: z.union([z.string(), z.record(z.string(), z.unknown())]),
  workloadOverrides: z.record(z.string(), z.unknown()).default({}),
  durationSec: z.number().positive().optional(),
  seeds: z.union([z.number().int().min(1).max(100), z.array(z.number().int().min(0)).min(1)]).default(1),
  nemesis: z.array(z.unknown()).default([]),
  modes: z.array(ModeSchema).min(1),
  gate: z.record(z.string(), z.array(z.string())).default({}),
  /** Time to let the cluster settle before the workload starts. */
  warmupSec: z.number().nonnegative().default(0),
});

export interface SuiteMode {
  name: string;
  cluster: ClusterSpec;
  workload: WorkloadSpec;
  nemesis: NemesisStep[];
  nemesisText: string;
  gate: GateRule[];
  control: boolean;
  description?: string;
}

export interface Suite {
  name: string;
  file: string;
  description?: string;
  workload: WorkloadSpec;
  durationSec: number;
  seeds: number[];
  modes: SuiteMode[];
  warmupSec: number;
}

const readYaml = (file: string, what: string) => readConfigFile(file, what);

/** Objects merge key by key; anything else replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over))
    return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
  return out;
}

/** A short description of a schedule, for tables: "kill leader @5s for 3s; partition …". */
export function describeNemesis(steps: NemesisStep[]): string {
  if (steps.length === 0) return 'none';
  return steps
    .map((s) => {
      const what =
        'target' in s
          ? `${s.fault}${s.fault === 'partition' && s.shape !== 'isolate' ? ` ${s.shape}` : ''} ${Array.isArray(s.target) ? s.target.join(',') : s.target}`
          : `${s.fault} ${Array.isArray(s.links) ? s.links.join(',') : s.links}`;
      const when = s.at !== undefined ? `@${s.at / 1000}s` : `every ${(s.every ?? 0) / 1000}s`;
      return `${what} ${when}${s.for ? ` for ${s.for / 1000}s` : ''}`;
    })
    .join('; ');
}

/**
 * A file a suite names, relative to the suite; a bare name (`three-node`, `register`) with no such
 * file there is one shipped with replab (clusters/, workloads/), so a user's own suite can use them.
 */
function shipped(dir: string, ref: string, folder: 'clusters' | 'workloads'): string {
  const local = path.resolve(dir, ref);
  if (existsSync(local) || !/^[\w-]+$/.test(ref)) return local;
  const builtIn = path.join(projectRoot(), folder, `${ref}.yaml`);
  return existsSync(builtIn) ? builtIn : local;
}

export async function loadSuite(file: string): Promise<Suite> {
  const where = file;
  const s = parseWith(SuiteSchema, await readYaml(file, 'suite'), where);
  const dir = path.dirname(file);
  const clusterFile = typeof s.cluster === 'string' ? shipped(dir, s.cluster, 'clusters') : undefined;
  const clusterDoc = clusterFile ? await readYaml(clusterFile, 'cluster spec') : s.cluster;
  const workloadFile = typeof s.workload === 'string' ? shipped(dir, s.workload, 'workloads') : undefined;
  const workloadDoc = workloadFile ? await readYaml(workloadFile, 'workload') : s.workload;
  const name = s.name ?? path.basename(file).replace(/\.ya?ml$/, '');
  const workload = parseWorkloadSpec(
    deepMerge(workloadDoc, { ...s.workloadOverrides, ...(s.durationSec ? { durationSec: s.durationSec } : {}) }),
    `${where}: workload`,
    'workload',
  );
  const seeds = Array.isArray(s.seeds) ? s.seeds : Array.from({ length: s.seeds }, (_, i) => i + 1);
  const names = new Set<string>();
  const common = (s.gate['*'] ?? []).map((g) => parseGateRule(g, `${where}: gate.*`));
  for (const k of Object.keys(s.gate))
    if (k !== '*' && !s.modes.some((m) => m.name === k))
      throw new ConfigError(`${where}: gate.${k}: no mode is named "${k}" (modes: ${s.modes.map((m) => m.name).join(', ')})`);
  const modes: SuiteMode[] = [];
  for (const [i, m] of s.modes.entries()) {
    if (names.has(m.name)) throw new ConfigError(`${where}: modes.${i}.name: "${m.name}" appears twice`);
    names.add(m.name);
    const modeClusterFile = typeof m.cluster === 'string' ? shipped(dir, m.cluster, 'clusters') : undefined;
    const base = m.cluster === undefined ? clusterDoc : modeClusterFile ? await readYaml(modeClusterFile, 'cluster spec') : m.cluster;
    const doc = deepMerge(deepMerge(deepMerge(base, s.clusterOverrides), m.clusterOverrides), {
      replication: m.replication,
      ...(m.fencing ? { fencing: m.fencing } : {}),
    });
    const cluster = parseClusterSpec(doc, `${where}: modes.${i} (${m.name}) cluster`, `${name}-${m.name}`);
    if (isModulePath(cluster.system)) {
      // A system module of the user's: relative to the cluster file that names it, checked now.
      const specDir = path.dirname(modeClusterFile ?? (m.cluster === undefined ? (clusterFile ?? file) : file));
      cluster.system = path.resolve(specDir, cluster.system);
      await loadSystemModule(cluster.system);
    }
    const nemesis = parseNemesisSchedule(m.nemesis ?? s.nemesis, `${where}: ${m.nemesis ? `modes.${i}.nemesis` : 'nemesis'}`);
    // Only a run whose nemesis cuts power keeps unsynced bytes where a kill loses them.
    if (nemesis.some((step) => step.fault === 'power-loss')) cluster.storage = { ...cluster.storage, simulatePowerLoss: true };
    const gate = [
      ...common,
      ...(s.gate[m.name] ?? []).map((g) => parseGateRule(g, `${where}: gate.${m.name}`)),
      ...m.gate.map((g) => parseGateRule(g, `${where}: modes.${i}.gate`)),
    ];
    let modeWorkload = workload;
    if (m.workload !== undefined || Object.keys(m.workloadOverrides).length > 0) {
      const doc =
        m.workload === undefined
          ? workloadDoc
          : typeof m.workload === 'string'
            ? await readYaml(shipped(dir, m.workload, 'workloads'), 'workload')
            : m.workload;
      modeWorkload = parseWorkloadSpec(
        deepMerge(doc, { ...s.workloadOverrides, ...m.workloadOverrides, durationSec: workload.durationSec }),
        `${where}: modes.${i}.workload`,
        'workload',
      );
    }
    modes.push({
      name: m.name,
      cluster: { ...cluster, name: `${name}-${m.name}`.slice(0, 32) },
      workload: modeWorkload,
      nemesis,
      nemesisText: describeNemesis(nemesis),
      gate,
      control: m.control,
      description: m.description,
    });
  }
  return { name, file, description: s.description, workload, durationSec: workload.durationSec, seeds, modes, warmupSec: s.warmupSec };
}
