/**
 * Suites (suites/*.yaml): a cluster spec × replication modes × a workload × a nemesis schedule ×
 * seeds, with the invariants each mode must keep.
 *
 *   name: quick
 *   cluster: ../clusters/three-node.yaml        # a file (relative to the suite) or an inline spec
 *   clusterOverrides: {failover: {failoverTimeoutMs: 1000}}   # merged onto it
 *   workload: ../workloads/register.yaml        # a file or an inline workload
 *   workloadOverrides: {concurrency: 8}
 *   durationSec: 20                             # per run (overrides the workload's); at most 24 h
 *   seeds: 2                                    # a count (1..n) or a list [7, 11]; at most 100
 *   readyTimeoutSec: 30                         # optional: how long the system may take to start
 *   stopTimeoutSec: 60                          # optional: how long its down() may take
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
 *
 * A suite that could not do what it says is refused here, naming the field, rather than run to a
 * verdict that never saw it: a fault that would start after the run ends, a target or link the
 * mode's cluster does not have, a fault the mode's system cannot inject, a gate invariant its
 * workload cannot measure.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type ClusterSpec, parseClusterSpec } from '../cluster/spec.js';
import type { TargetSelector } from '../faults/nemesis/faults.js';
import { type NemesisStep, parseNemesisSchedule } from '../faults/nemesis/schedule.js';
import { readConfigFile } from '../lib/config-file.js';
import { ConfigError } from '../lib/errors.js';
import { projectRoot } from '../lib/paths.js';
import { isRecord, parseWith } from '../lib/schema.js';
import { isModulePath, loadSystemModule, parseModuleSettings } from '../systems/external.js';
import { describeMode, linkNames, systemCapabilities } from '../systems/index.js';
import { parseWorkloadSpec, type WorkloadSpec } from '../workloads/spec.js';
import { type GateRule, parseGateRule } from './gate.js';
import { type GateMetric, READ_GATE_METRICS } from './gate-metrics.js';

/** The longest run, warm-up or suite duration accepted: a day. Timers overflow far above it, and no suite needs more. */
export const MAX_DURATION_SEC = 24 * 3600;
/** Seeds per mode: each is a full run of every mode. */
export const MAX_SEEDS = 100;
/** What a nemesis `target` may name besides node ids (src/faults/nemesis/faults.ts resolveTargets). */
const TARGET_SELECTORS = ['leader', 'random-follower', 'random-node', 'followers', 'all'];

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

/** The fields a suite and a mode may have (docs/suites.md documents each; a test holds them together). */
export const suiteFields = (): { suite: string[]; mode: string[] } => ({ suite: Object.keys(SuiteSchema.shape), mode: Object.keys(ModeSchema.shape) });

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
  seeds: z.union([z.number().int().min(1), z.array(z.number().int().min(0)).min(1)]).default(1),
  nemesis: z.array(z.unknown()).default([]),
  modes: z.array(ModeSchema).min(1),
  gate: z.record(z.string(), z.array(z.string())).default({}),
  /** Time to let the cluster settle before the workload starts. */
  warmupSec: z.number().nonnegative().default(0),
  /** How long the system may take to start (up(), a data client); default 30 s, PostgreSQL 120 s. */
  readyTimeoutSec: z.number().positive().max(3600, 'at most 3600 (an hour)').optional(),
  /** How long the system's down() and keepArtefacts() may each take; default 60 s, PostgreSQL 120 s. */
  stopTimeoutSec: z.number().positive().max(3600, 'at most 3600 (an hour)').optional(),
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
  /** The mode's settings in its system's words, for the report. */
  settingsText: string;
  /** The unit the system's lag amounts come in (its capabilities), null when it gives none. */
  lagUnit: string | null;
  /** The step its lag times move in (1000: whole seconds), null when it gives none. */
  lagMsStep: number | null;
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
  readyTimeoutSec?: number;
  stopTimeoutSec?: number;
}

const readYaml = (file: string, what: string) => readConfigFile(file, what);

/** Objects merge key by key; anything else replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
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

const secs = (ms: number) => `${ms / 1000} s`;

/**
 * A target the cluster cannot resolve (src/faults/nemesis/faults.ts resolveTargets) would only
 * fail when the fault starts, as a warning beside a verdict that never saw the fault.
 */
function checkTarget(target: TargetSelector, cluster: ClusterSpec, field: string, whose: string): void {
  const ids = cluster.nodes.map((n) => n.id);
  if (Array.isArray(target)) {
    for (const id of target) if (!ids.includes(id)) throw new ConfigError(`${field}: "${id}" is not a node of ${whose} (${ids.join(', ')})`);
    return;
  }
  if (!TARGET_SELECTORS.includes(target) && !ids.includes(target))
    throw new ConfigError(`${field}: "${target}" is not a node of ${whose} (${ids.join(', ')}) or a selector (${TARGET_SELECTORS.join(', ')})`);
  if ((target === 'random-follower' || target === 'followers') && ids.length < 2)
    throw new ConfigError(`${field}: "${target}": ${whose} has one node, so no follower`);
}

/**
 * Refuses a schedule that could not do what it says against this mode's cluster: faults that
 * start at or after the end of the run (plan() in schedule.ts silently drops them), targets and
 * links the cluster does not have, and a disk-full fault where one node's disk cannot be filled.
 * `field` is where the schedule sits in the suite, `whose` how messages name the cluster.
 */
const MAX_CLOCK_OFFSET_MS = 365 * 24 * 3600 * 1000;

/** The words a fault's `links` takes alone (a kind of link, or all); in a list they name no link. */
const LINK_SELECTOR_WORDS = new Set(['repl', 'leader-repl', 'monitor', 'client', 'all']);

function checkNemesis(steps: NemesisStep[], cluster: ClusterSpec, durationSec: number, field: string, whose: string): void {
  const durationMs = durationSec * 1000;
  const links = linkNames(cluster);
  steps.forEach((step, i) => {
    const at = `${field}.${i}`;
    if (step.at !== undefined && step.at >= durationMs)
      throw new ConfigError(`${at}.at: ${secs(step.at)} is not before the end of the run (durationSec ${durationSec}), so the fault would never start`);
    if (step.every !== undefined) {
      const first = step.from ?? step.every;
      if (first >= durationMs)
        throw new ConfigError(
          `${at}.${step.from === undefined ? 'every' : 'from'}: the first start (${secs(first)}) is not before the end of the run (durationSec ${durationSec}), so the fault would never start`,
        );
    }
    if ('target' in step) checkTarget(step.target, cluster, `${at}.target`, whose);
    // A list names links; a kind in it ("repl") is a slip for the kind alone, and would match no link.
    if ('links' in step && Array.isArray(step.links))
      for (const l of step.links)
        if (LINK_SELECTOR_WORDS.has(l))
          throw new ConfigError(
            `${at}.links: "${l}" is a kind of link, not a link's name: write links: ${l} for every such link, or list names such as repl:n2->n1`,
          );
    // A user's module names its links itself (links === undefined): nothing to check them against.
    if ('links' in step && Array.isArray(step.links) && links)
      for (const l of step.links) if (!links.includes(l)) throw new ConfigError(`${at}.links: "${l}" is not a link of ${whose} (${links.join(', ')})`);
    // A module's optional methods (fillDisk, setClock, switchover) are on the object its up()
    // returns: the run asks for them once the system is up, before any load (run-one.ts).
    const module = isModulePath(cluster.system);
    if (step.fault === 'power-loss' && !module && cluster.system !== 'replab')
      throw new ConfigError(
        `${at}.fault: power-loss needs nodes that lose unsynced writes when killed; only replab's can (this cluster: system ${cluster.system}), so a kill would lose nothing a power cut would`,
      );
    if (step.fault === 'disk-full' && !module) {
      if (cluster.system !== 'replab' || cluster.backend !== 'process')
        throw new ConfigError(
          `${at}.fault: disk-full needs system replab on the process backend (this cluster: system ${cluster.system}, backend ${cluster.backend}); no other system can fill one node's disk alone`,
        );
      if (cluster.storage.volumeMiB === undefined)
        throw new ConfigError(
          `${at}.fault: disk-full needs each node's data dir on a volume of its own: set storage.volumeMiB in the cluster spec (e.g. clusterOverrides: {storage: {volumeMiB: 64}})`,
        );
    }
    if (step.fault === 'clock') {
      // Past these the run measures libfaketime's arithmetic, not a clock anyone runs.
      if (!(step.rate > 0 && step.rate <= 100)) throw new ConfigError(`${at}.rate: ${step.rate} must be above 0 and at most 100 (1: real time)`);
      if (!(Math.abs(step.offsetMs) <= MAX_CLOCK_OFFSET_MS))
        throw new ConfigError(`${at}.offsetMs: ${step.offsetMs} is absurd; a clock offset must be within ±${MAX_CLOCK_OFFSET_MS} ms (one year)`);
      if (!module && (cluster.system !== 'replab' || cluster.backend !== 'process'))
        throw new ConfigError(
          `${at}.fault: clock needs system replab on the process backend (this cluster: system ${cluster.system}, backend ${cluster.backend}); docs/clocks.md says what skew does to PostgreSQL and Patroni`,
        );
    }
    if (step.fault === 'switchover') {
      if (cluster.system !== 'replab' && !module)
        throw new ConfigError(`${at}.fault: a planned switchover goes through replab's monitor; system ${cluster.system} has none replab can drive`);
      if (Array.isArray(step.target) ? step.target.length !== 1 : step.target !== 'random-follower' && !cluster.nodes.some((n) => n.id === step.target))
        throw new ConfigError(`${at}.target: a switchover goes to one node: a node id or random-follower, got ${JSON.stringify(step.target)}`);
    }
  });
}

const READ_METRICS = new Set<GateMetric>(READ_GATE_METRICS);

/**
 * Why a workload can never produce a gate metric (the gate would then fail every run with
 * "observed null", or pass every run on a constant 0), or undefined when it can. The set workload
 * only adds and reads everything at the end (checked for loss, not linearizability); stale reads
 * need reads; write latency is taken from plain writes.
 */
function unmeasurable(metric: GateMetric, w: WorkloadSpec): string | undefined {
  if (metric === 'linearizable' && w.workload === 'set') return 'it records unique adds and final reads, which are checked for loss, not linearizability';
  if (READ_METRICS.has(metric) && (w.workload === 'set' ? w.readShare === 0 : w.mix.read === 0)) return 'it makes no reads';
  // A set workload's readShare reads are judged for reads of lost writes alone.
  if (READ_METRICS.has(metric) && w.workload === 'set' && metric !== 'readsOfLostWrites') return 'its reads (readShare) are judged for readsOfLostWrites only';
  if ((metric === 'p50WriteMs' || metric === 'p99WriteMs' || metric === 'p999WriteMs') && w.workload === 'register' && w.mix.write === 0)
    return 'write latency is taken from plain writes, and its mix.write is 0';
  return undefined;
}

/** Refuses a duration no run should have (setTimeout overflows past 24.8 days; 1e12 s spun on warnings). */
function checkDuration(sec: number, field: string): void {
  if (sec > MAX_DURATION_SEC)
    throw new ConfigError(
      `${field}: ${sec} s is longer than 24 h (${MAX_DURATION_SEC} s), the longest run replab accepts; split it into shorter runs or more seeds`,
    );
}

export async function loadSuite(file: string): Promise<Suite> {
  const where = file;
  const s = parseWith(SuiteSchema, await readYaml(file, 'suite'), where);
  const dir = path.dirname(file);
  const clusterFile = typeof s.cluster === 'string' ? shipped(dir, s.cluster, 'clusters') : undefined;
  const clusterDoc = clusterFile ? await readYaml(clusterFile, 'cluster spec') : s.cluster;
  const workloadFile = typeof s.workload === 'string' ? shipped(dir, s.workload, 'workloads') : undefined;
  const workloadDoc = workloadFile ? await readYaml(workloadFile, 'workload') : s.workload;
  if (s.durationSec !== undefined) checkDuration(s.durationSec, `${where}: durationSec`);
  checkDuration(s.warmupSec, `${where}: warmupSec`);
  const name = s.name ?? path.basename(file).replace(/\.ya?ml$/, '');
  const workload = parseWorkloadSpec(
    deepMerge(workloadDoc, { ...s.workloadOverrides, ...(s.durationSec ? { durationSec: s.durationSec } : {}) }),
    `${where}: workload`,
    'workload',
  );
  if (s.durationSec === undefined) checkDuration(workload.durationSec, `${where}: workload durationSec`);
  const seeds = Array.isArray(s.seeds) ? s.seeds : Array.from({ length: s.seeds }, (_, i) => i + 1);
  if (seeds.length > MAX_SEEDS)
    throw new ConfigError(`${where}: seeds: ${seeds.length} seeds is more than the cap of ${MAX_SEEDS} (each seed is a run of every mode)`);
  // Two runs of one seed would share a run folder (<mode>-seed<n>) and repeat each other exactly.
  seeds.forEach((seed, i) => {
    if (seeds.indexOf(seed) !== i) throw new ConfigError(`${where}: seeds.${i}: seed ${seed} appears twice`);
  });
  const names = new Set<string>();
  /** Each gate rule with the field it came from, to name when the mode's workload cannot measure it. */
  const rules = (texts: string[], field: string) => texts.map((g) => ({ rule: parseGateRule(g, field), field }));
  const common = rules(s.gate['*'] ?? [], `${where}: gate.*`);
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
      const mod = await loadSystemModule(cluster.system);
      cluster.settings = parseModuleSettings(mod, cluster.system, cluster.settings, `${where}: modes.${i} (${m.name}) cluster`);
    }
    const nemesis = parseNemesisSchedule(m.nemesis ?? s.nemesis, `${where}: ${m.nemesis ? `modes.${i}.nemesis` : 'nemesis'}`);
    // A mode's own schedule is named by the mode; the suite's is checked against every mode's cluster.
    if (m.nemesis) checkNemesis(nemesis, cluster, workload.durationSec, `${where}: modes.${i} (${m.name}) nemesis`, 'the cluster');
    else checkNemesis(nemesis, cluster, workload.durationSec, `${where}: nemesis`, `mode ${m.name}'s cluster`);
    // Only a run whose nemesis cuts power keeps unsynced bytes where a kill loses them.
    if (nemesis.some((step) => step.fault === 'power-loss')) cluster.storage = { ...cluster.storage, simulatePowerLoss: true };
    // Only a run whose nemesis skews clocks starts its nodes under libfaketime.
    if (nemesis.some((step) => step.fault === 'clock')) cluster.clockControl = true;
    const gate = [...common, ...rules(s.gate[m.name] ?? [], `${where}: gate.${m.name}`), ...rules(m.gate, `${where}: modes.${i}.gate`)];
    // A gate on what the system cannot measure would pass or fail on a 0 nobody measured.
    const caps = await systemCapabilities(cluster.system);
    const unmeasured = caps.splitBrainWrites ? undefined : gate.find((r) => r.rule.metric === 'splitBrainWrites');
    if (unmeasured)
      throw new ConfigError(
        `${where}: mode ${m.name}: gate "${unmeasured.rule.text}" (${unmeasured.field}) tests splitBrainWrites, which system ${cluster.system} cannot measure (its acknowledgements carry no epoch or term)`,
      );
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
    for (const { rule, field } of gate) {
      const why = unmeasurable(rule.metric, modeWorkload);
      if (why) throw new ConfigError(`${field}: "${rule.text}" cannot be measured on mode ${m.name}'s workload (${modeWorkload.workload}): ${why}`);
    }
    modes.push({
      name: m.name,
      cluster: { ...cluster, name: `${name}-${m.name}`.slice(0, 32) },
      workload: modeWorkload,
      nemesis,
      nemesisText: describeNemesis(nemesis),
      gate: gate.map((g) => g.rule),
      control: m.control,
      description: m.description,
      settingsText: await describeMode(cluster),
      lagUnit: caps.lagUnit,
      lagMsStep: caps.lagMsStep,
    });
  }
  return {
    name,
    file,
    description: s.description,
    workload,
    durationSec: workload.durationSec,
    seeds,
    modes,
    warmupSec: s.warmupSec,
    readyTimeoutSec: s.readyTimeoutSec,
    stopTimeoutSec: s.stopTimeoutSec,
  };
}
