/**
 * A run's result judged again from its own folder, the way `replab run` judged it: the history
 * and the nodes' kept logs checked (checkHistory with loadNodeEvidence, checkSplitBrain), then
 * the same summarize and gate as run-one.ts. replab merge uses this so that what a shard's
 * results.json says about a run (passed, lostAcked, the figures) is replaced by what the run's
 * files show.
 *
 * What it reads in `<shard>/<mode>-seed<seed>/`: run.json (convergence, the final leader, which
 * nodes' logs were kept and why not), history.jsonl, log-<node>.jsonl, rewound-<node>.jsonl. The
 * mode's gate, workload kind, system and nemesis text come from results.json's `modes`, which
 * merge requires every shard to agree on. Anything missing or malformed is bad input (exit 2)
 * naming the file.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CheckResult } from '../checker/checker.js';
import type { SplitBrainResult } from '../checker/split-brain.js';
import type { Op } from '../history/op.js';
import { ConfigError, errnoCode, toError } from '../lib/errors.js';
import { isRecord, parseWith } from '../lib/schema.js';
import { createWorkload, WORKLOADS } from '../workloads/driver.js';
import { parseWorkloadSpec } from '../workloads/spec.js';
import { checkRunFolder, HISTORY_FILE } from './check-run.js';
import { parseGateRule } from './gate.js';
import type { RunResult, SuiteResults } from './results.js';
import { summarize } from './run-one.js';

export const RUN_FILE = 'run.json';

/** The folder run-one.ts gives a run: merge accepts no other name for it. */
export const runDirName = (mode: string, seed: number) => `${mode}-seed${seed}`;

/**
 * run.json as run-one.ts writes it (the fields the verdict needs). Node ids name the evidence
 * files (`log-<node>.jsonl`), so they are held to the cluster spec's form: nothing that could
 * lead out of the folder.
 */
const RunFileSchema = z.object({
  mode: z.string(),
  seed: z.number().int(),
  converged: z.boolean(),
  finalLeader: z.string().nullable(),
  logs: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'node ids are 1-32 letters, digits, "_" or "-"'), z.string().nullable()),
  /** What a write's record in the logs depends on (written since runs record it; older runs use the defaults). */
  workload: z.object({ workload: z.string(), keyPrefix: z.string() }).optional(),
});

export interface Reverified {
  result: RunResult;
  /** check.json's contents, as run-one.ts writes them. */
  check: CheckResult & { splitBrain: SplitBrainResult };
}

/**
 * The result of run `seed` of `mode` from the files in `<reportDir>/<mode>-seed<seed>/`.
 * `claimed` is the shard's own entry for the run: only its nemesis errors are used, and only
 * when the history shows the same faults failing (see nemesisErrorsFrom).
 */
export async function reverifyRun(o: {
  reportDir: string;
  mode: SuiteResults['modes'][number];
  seed: number;
  durationSec: number;
  claimed: RunResult;
  /** Names the results.json the mode came from, for errors about it. */
  resultsFile: string;
}): Promise<Reverified> {
  const { mode, seed } = o;
  const dir = path.join(o.reportDir, runDirName(mode.name, seed));
  const runFile = path.join(dir, RUN_FILE);
  const run = parseWith(RunFileSchema, await readJson(runFile), runFile);
  if (run.mode !== mode.name || run.seed !== seed)
    throw new ConfigError(`${runFile}: the folder of ${run.mode} seed ${run.seed}, not of ${mode.name} seed ${seed}`);
  const historyFile = path.join(dir, HISTORY_FILE);
  if (!existsSync(historyFile)) throw new ConfigError(`${historyFile}: missing (the run's history is what its verdict is judged from)`);
  // The record a write leaves in a node's log depends on the workload and its key prefix: run.json
  // names both; a run folder from before it did used the defaults.
  const kind = run.workload?.workload ?? mode.workload;
  if (!(kind in WORKLOADS))
    throw new ConfigError(`${o.resultsFile}: mode ${mode.name}: workload "${kind}" is not one replab knows (${Object.keys(WORKLOADS).join(', ')})`);
  const workload = createWorkload(
    parseWorkloadSpec({ workload: kind, ...(run.workload ? { keyPrefix: run.workload.keyPrefix } : {}) }, `${runFile}: workload`),
  );
  const gate = mode.gate.map((text, i) => parseGateRule(text, `${o.resultsFile}: modes (${mode.name}).gate.${i}`));
  const { history, check } = await checkRunFolder(dir, { workload, logs: run.logs, finalLeader: run.finalLeader });
  const { splitBrain } = check;
  const result = summarize(
    {
      suite: { durationSec: o.durationSec },
      mode: { name: mode.name, nemesisText: mode.nemesis, control: mode.control, gate, cluster: { system: mode.system ?? 'replab' } },
      seed,
      reportDir: o.reportDir,
    },
    dir,
    history.length,
    check,
    splitBrain.splitBrainWrites,
    { converged: run.converged, nemesisErrors: nemesisErrorsFrom(history, o.claimed.nemesisErrors) },
    run.logs,
  );
  return { result, check };
}

/**
 * Faults that could not start, from the history's nemesis events. run-one.ts timed each from the
 * nemesis' own start, which the history does not record (its clock starts before the warm-up);
 * when the shard's claim names the same faults with the same errors, its times are kept,
 * otherwise the history's times stand.
 */
function nemesisErrorsFrom(history: readonly Op[], claimed: readonly string[]): string[] {
  const failed = history.flatMap((op) =>
    op.process === 'nemesis' && op.f.startsWith('start-') && isRecord(op.value) && typeof op.value.error === 'string'
      ? [{ fault: op.f.slice('start-'.length), error: op.value.error, atSec: op.time / 1e9 }]
      : [],
  );
  const matches = (c: string, f: (typeof failed)[number]) => c.startsWith(`${f.fault} at `) && c.endsWith(` s: ${f.error}`);
  if (claimed.length === failed.length && failed.every((f, i) => matches(claimed[i]!, f))) return [...claimed];
  return failed.map((f) => `${f.fault} at ${f.atSec.toFixed(1)} s: ${f.error}`);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e: unknown) {
    throw new ConfigError(`${file}: cannot read it (${errnoCode(e) ?? toError(e).message})`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed;
  } catch {
    throw new ConfigError(`${file}: not valid JSON`);
  }
}
