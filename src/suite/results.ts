/**
 * results.json, the one record of a suite run that the report, `replab check`'s callers, CI
 * summaries and later comparisons read back: one schema, one type, one parser. A run folder
 * whose results.json is missing or does not parse is named in the error (exit 4).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EnvironmentError, errnoCode, toError } from '../lib/errors.js';
import { GATE_METRICS } from './gate-metrics.js';
import { GitSchema, MachineSchema } from './provenance.js';

/** A count a system may be unable to measure, as every table shows it: "not measured", never 0. */
export const measuredText = (v: number | null | undefined): string => (v === null || v === undefined ? 'not measured' : String(v));

export const RESULTS_FILE = 'results.json';

export const ViolationSchema = z.object({
  invariant: z.string(),
  metric: z.enum([...GATE_METRICS, 'converged']),
  observed: z.unknown(),
});

export const RunResultSchema = z.object({
  mode: z.string(),
  seed: z.number().int(),
  nemesis: z.string(),
  control: z.boolean(),
  dir: z.string(),
  durationSec: z.number(),
  ops: z.number().int(),
  acked: z.number().int(),
  /** Acknowledged writes absent from the final leader's log (final reads when no log evidence). */
  lostAcked: z.number().int().nullable(),
  /** The second, independent count: acknowledged writes missing from some node's final read. */
  lostAckedFinalReads: z.number().int().nullable(),
  /** Where lostAcked comes from. */
  lossEvidence: z.enum(['logs', 'final-reads']),
  /** Acknowledged writes the logs could not classify (and nodes without log evidence). */
  lossUnknown: z.number().int(),
  noLogEvidence: z.array(z.string()),
  /** Indeterminate writes decided from the logs, and those still open. */
  infoResolved: z.number().int(),
  infoOpen: z.number().int(),
  recovered: z.number().int().nullable(),
  linearizable: z.union([z.boolean(), z.literal('unknown')]).nullable(),
  /** null: the system cannot measure it (its acknowledgements carry no epoch or term). */
  splitBrainWrites: z.number().int().nullable(),
  throughput: z.number(),
  p50WriteMs: z.number().nullable(),
  p99WriteMs: z.number().nullable(),
  p999WriteMs: z.number().nullable(),
  outageMs: z.number(),
  maxStaleMs: z.number(),
  staleReads: z.number().int(),
  /**
   * Session guarantees broken by reads and writes of one client (src/checker/session.ts); null
   * when not measured (a set workload, or a history without positions).
   */
  readYourWritesViolations: z.number().int().nullable().default(null),
  monotonicReadViolations: z.number().int().nullable().default(null),
  monotonicWriteViolations: z.number().int().nullable().default(null),
  writesFollowReadsViolations: z.number().int().nullable().default(null),
  /** The four above added up. */
  sessionViolations: z.number().int().nullable().default(null),
  /** Share of ok reads served by a node other than the leader of the moment (0-1), null without reads. */
  followerReadShare: z.number().nullable().default(null),
  /** Read latency (ms), null without ok reads. */
  readP50Ms: z.number().nullable().default(null),
  readP99Ms: z.number().nullable().default(null),
  /** How many acknowledged versions of its key the stalest read missed, and its p99. */
  maxStaleVersions: z.number().int().nullable().default(null),
  p99StaleMs: z.number().nullable().default(null),
  /** Reads that returned a write absent from the final state (src/checker/lost-reads.ts); null without reads. */
  readsOfLostWrites: z.number().int().nullable().default(null),
  failedShare: z.number(),
  indeterminateShare: z.number(),
  converged: z.boolean(),
  /** Faults of the nemesis that could not be started ("kill at 4.0 s: no leader"): the run did not see them. */
  nemesisErrors: z.array(z.string()).default([]),
  gate: z.array(z.string()),
  passed: z.boolean(),
  violations: z.array(ViolationSchema),
});
export type RunResult = z.infer<typeof RunResultSchema>;

export const ModeSummarySchema = z.object({
  name: z.string(),
  system: z.string().optional(),
  replication: z.record(z.string(), z.unknown()),
  fencing: z.string(),
  workload: z.string(),
  /** The mode's read routing (the workload's `reads:`), absent in results written before it was recorded. */
  reads: z.string().optional(),
  nemesis: z.string(),
  gate: z.array(z.string()),
  control: z.boolean(),
  description: z.string().optional(),
  /** The mode's settings in its system's words (src/systems/describe.ts, or a module's describeMode). */
  settingsText: z.string().optional(),
  /** The unit of the mode's lag amounts (records, bytes, seconds), null when its system gives none. */
  lagUnit: z.string().nullable().optional(),
  /** The step of the mode's lag times in lag.jsonl (1: ms; 1000: whole seconds), null when its system gives none. */
  lagMsStep: z.number().nullable().optional(),
});

export const SuiteResultsSchema = z.object({
  suite: z.string(),
  file: z.string(),
  description: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationSec: z.number(),
  workload: z.string(),
  modes: z.array(ModeSummarySchema),
  runs: z.array(RunResultSchema),
  passed: z.boolean(),
  /** The machine the suite ran on (absent in results written before it was recorded). */
  machine: MachineSchema.optional(),
  /** The git commit of the directory it ran from, null when there was none. */
  git: GitSchema.nullable().optional(),
  /** A digest of the parsed suite: shards of one suite version share it (replab merge checks). */
  suiteDigest: z.string().optional(),
  /** Set when this run is one shard of the suite's (mode × seed) matrix; `pairs` is the matrix size. */
  shard: z
    .object({
      index: z.number().int().positive(),
      count: z.number().int().positive(),
      pairs: z.number().int().nonnegative(),
      /** The suite's seeds (absent in shards written before they were recorded). */
      seeds: z.array(z.number().int()).optional(),
    })
    .optional(),
  /** Set by replab merge: the shard folders this run was merged from. */
  mergedFrom: z.array(z.string()).optional(),
});
export type SuiteResults = z.infer<typeof SuiteResultsSchema>;

/** Reads and parses `<runDir>/results.json`. */
export async function readResults(runDir: string): Promise<SuiteResults> {
  const file = path.join(runDir, RESULTS_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e: unknown) {
    throw new EnvironmentError(`${runDir}: no readable ${RESULTS_FILE} (${errnoCode(e) ?? toError(e).message}); is this a run folder?`);
  }
  return parseResults(text, file);
}

export function parseResults(text: string, file: string): SuiteResults {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EnvironmentError(`${file}: not valid JSON (a run still writing it, or a damaged file)`);
  }
  const r = SuiteResultsSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new EnvironmentError(`${file}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`);
}
