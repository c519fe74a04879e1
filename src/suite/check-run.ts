/**
 * A run folder's history checked against its nodes' kept logs: what `replab run` writes into
 * check.json and judges (run-one.ts), and what `replab merge` judges again (reverify.ts).
 */
import path from 'node:path';
import { type CheckResult, checkHistory } from '../checker/checker.js';
import { checkSplitBrain, type SplitBrainResult } from '../checker/split-brain.js';
import type { Op } from '../history/op.js';
import { loadHistory } from '../history/reader.js';
import { loadNodeEvidence } from '../systems/replab/evidence-files.js';
import type { Workload } from '../workloads/workload.js';

export const HISTORY_FILE = 'history.jsonl';

/** The history of `dir` checked; a system whose logs replab cannot read at all (PostgreSQL) is judged by its final reads alone. */
export async function checkRunFolder(
  dir: string,
  o: { workload: Workload; logs: Record<string, string | null>; finalLeader: string | null },
): Promise<{ history: Op[]; check: CheckResult & { splitBrain: SplitBrainResult } }> {
  const history = await loadHistory(path.join(dir, HISTORY_FILE));
  const anyLog = Object.values(o.logs).some((why) => why === null);
  const evidence = anyLog
    ? { nodes: await loadNodeEvidence(dir, Object.keys(o.logs), o.logs), finalLeader: o.finalLeader, effect: (inv: Op) => o.workload.effect(inv) }
    : undefined;
  const check = checkHistory(history, { model: o.workload.model, evidence });
  return { history, check: { ...check, splitBrain: checkSplitBrain(history) } };
}
