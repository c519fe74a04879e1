/**
 * The checker contract and its composition (Jepsen's `compose` and `check-safe`): every check
 * takes the whole history and returns data; a check that throws becomes `valid: 'unknown'` with
 * its message instead of crashing the run; the overall verdict is the worst of the parts, by
 * priority false > 'unknown' > true.
 *
 * Models: `register` (read/write/cas; loss from final reads), `kv` (read/write/append, Porcupine's
 * kv), `set` (unique adds + final reads: loss only), `mutex` (Knossos's acquire/release lock), `multi-register` (Knossos's txn of reads and writes).
 */
import { type Op, PairedHistory } from '../history/op.js';
import { toError } from '../lib/errors.js';
import { isRecord } from '../lib/schema.js';
import { type AvailabilityResult, checkAvailability } from './availability.js';
import { applyResolutions, checkEvidence, type EvidenceInput, type EvidenceResult } from './evidence.js';
import { checkLatency, type LatencyResult } from './latency.js';
import { checkLinearizable, type LinearizabilityOptions, type LinearizabilityResult, type Validity } from './linearizable.js';
import { checkLoss, type LossResult } from './loss.js';
import { checkLostReads, type LostReadsResult } from './lost-reads.js';
import { kvModel } from './models/kv.js';
import type { Model } from './models/model.js';
import { multiRegisterStartingAt } from './models/multi-register.js';
import { mutexModel } from './models/mutex.js';
import { registerStartingAt } from './models/register.js';
import { checkLinearizableParallel } from './parallel.js';
import { checkReadPlacement, type ReadPlacement } from './read-placement.js';
import { checkSessions, type SessionCheckResult } from './session.js';
import { checkStaleReads, type StaleReadResult } from './stale.js';

export type CheckModel = 'register' | 'kv' | 'set' | 'mutex' | 'multi-register';
export const CHECK_MODELS: readonly CheckModel[] = ['register', 'kv', 'set', 'mutex', 'multi-register'];

/** A check's result, or the crash that replaced it (then the check counts as 'unknown'). */
export type Safe<T> = (T & { crashed?: false }) | { crashed: true; valid: 'unknown'; error: string };

export interface CheckResult {
  valid: Validity;
  model: CheckModel;
  ops: number;
  linearizable?: Safe<LinearizabilityResult>;
  /** Loss from the nodes' final logs (when the caller has them); `loss` is then the second count. */
  evidence?: Safe<EvidenceResult>;
  loss?: Safe<LossResult>;
  /** Reads that returned a write absent from the final state (no verdict of its own; suites gate on the count). */
  lostReads?: Safe<LostReadsResult>;
  staleReads?: Safe<StaleReadResult>;
  /**
   * Session guarantees (read-your-writes, monotonic reads and writes, writes-follow-reads) per
   * client, and staleness per routing policy and serving node. No verdict of its own: follower
   * reads under round-robin are expected to break them; suites gate on the counts per mode.
   */
  sessions?: Safe<SessionCheckResult>;
  /** How much of the read load the followers took. */
  readPlacement?: Safe<ReadPlacement>;
  availability?: Safe<AvailabilityResult>;
  latency?: Safe<LatencyResult>;
}

export interface CheckOptions {
  model: CheckModel;
  /** @default 10000 */
  budgetMsPerKey?: number;
  /** The nodes' final logs: loss is judged from them, and indeterminate writes they decide are resolved. */
  evidence?: EvidenceInput;
  /** Stop the linearizability search at the first illegal key (Porcupine's behaviour). */
  firstAnomaly?: boolean;
  /** Memory for one key's search memo (MiB). @default 256 */
  memoryMib?: number;
  /** The register's value before the first op (every key alike). @default null */
  initial?: unknown;
}

/** Runs `fn`, turning a crash into an `unknown` result. */
export function safe<T extends object>(fn: () => T): Safe<T> {
  try {
    return fn();
  } catch (e: unknown) {
    return { crashed: true, valid: 'unknown', error: toError(e).message };
  }
}

/** The worst of several verdicts. */
export function mergeValidity(vs: Validity[]): Validity {
  if (vs.includes(false)) return false;
  if (vs.includes('unknown')) return 'unknown';
  return true;
}

/** Checks a history with every checker; the history is paired once, here, and shared by all of them. */
export function checkHistory(history: readonly Op[], options: CheckOptions): CheckResult {
  return checkWith(history, options, (searched, model, lin) => checkLinearizable(searched, model, lin));
}

/**
 * The same as `checkHistory`, with keys checked in parallel on worker threads (parallel.ts): for
 * `replab check` on large multi-key histories. `threads` defaults to the number of cores.
 */
export async function checkHistoryParallel(history: readonly Op[], options: CheckOptions & { threads?: number }): Promise<CheckResult> {
  let pending: Promise<LinearizabilityResult> | undefined;
  const r = checkWith(history, options, (searched, model, lin) => {
    pending = checkLinearizableParallel(searched, model, { ...lin, threads: options.threads });
    return undefined;
  });
  if (pending) {
    const linearizable: Safe<LinearizabilityResult> = await pending.catch((e: unknown) => ({ crashed: true, valid: 'unknown', error: toError(e).message }));
    r.linearizable = linearizable;
    const verdicts: Validity[] = [linearizable.valid];
    if (r.evidence) verdicts.push(evidenceVerdict(r.evidence));
    if (r.loss) verdicts.push(r.loss.valid);
    r.valid = mergeValidity(verdicts);
  }
  return r;
}

/** Lost acknowledged writes make it invalid; writes the logs could not classify, unknown. */
function evidenceVerdict(e: Safe<EvidenceResult>): Validity {
  return e.crashed ? 'unknown' : e.lostAcked > 0 ? false : e.unknown.length > 0 ? 'unknown' : true;
}

function modelFor(options: CheckOptions): Model<unknown> {
  switch (options.model) {
    case 'kv':
      return kvModel;
    case 'mutex':
      return mutexModel as Model<unknown>;
    case 'multi-register':
      return multiRegisterStartingAt(isRecord(options.initial) ? options.initial : {}) as Model<unknown>;
    default:
      return registerStartingAt(options.initial ?? null);
  }
}

type Linearize = (searched: PairedHistory, model: Model<unknown>, options: LinearizabilityOptions) => LinearizabilityResult | undefined;

function checkWith(ops: readonly Op[], options: CheckOptions, linearize: Linearize): CheckResult {
  const result: CheckResult = { valid: true, model: options.model, ops: ops.length };
  const verdicts: Validity[] = [];
  const history = PairedHistory.of(ops);
  // The history the logs' resolutions were applied to is another history, paired once in turn.
  let searched = history;
  const ev = options.evidence;
  if (ev) {
    const evidence = safe(() => checkEvidence(history, ev));
    result.evidence = evidence;
    verdicts.push(evidenceVerdict(evidence));
    const leaderLog = ev.nodes.find((n) => n.node === ev.finalLeader)?.log;
    if (!evidence.crashed && leaderLog) searched = PairedHistory.of(applyResolutions(history, evidence.resolutions, leaderLog.records, ev.effect));
  }
  if (options.model !== 'set') {
    const model = modelFor(options);
    const lin = { budgetMsPerKey: options.budgetMsPerKey, memoryMib: options.memoryMib, ...(options.firstAnomaly ? { maxFailures: 1 } : {}) };
    const r = safe(
      () =>
        linearize(searched, model, lin) ?? {
          valid: true,
          model: model.name,
          keys: 0,
          opsChecked: 0,
          failures: [],
          unknown: [],
          memoEvictions: [],
        },
    );
    result.linearizable = r;
    verdicts.push(r.valid);
  }
  const hasFinalReads = ops.some((op) => op.f === 'final-read');
  if (options.model === 'set' || hasFinalReads) {
    result.loss = safe(() => checkLoss(history));
    verdicts.push(result.loss.valid);
    result.lostReads = safe(() => checkLostReads(history));
  }
  result.staleReads = safe(() => checkStaleReads(history));
  // On the history with the log's resolutions applied: writes the logs placed get their position.
  // Session guarantees are about single-key reads and writes: a lock or a transaction has none.
  if (options.model === 'register' || options.model === 'kv') result.sessions = safe(() => checkSessions(searched));
  result.readPlacement = safe(() => checkReadPlacement(history));
  result.availability = safe(() => checkAvailability(history));
  result.latency = safe(() => checkLatency(history));
  result.valid = mergeValidity(verdicts);
  return result;
}

/** " (append-order 3, reads-from 5, search 2)": how many keys each method decided. */
function decidedBy(by: Partial<Record<string, number>> | undefined): string {
  const parts = Object.entries(by ?? {}).map(([method, n]) => `${method} ${n}`);
  return parts.length ? ` (decided by ${parts.join(', ')})` : '';
}

/** A few lines for a terminal. */
export function describeCheck(r: CheckResult): string {
  const lines: string[] = [];
  const verdict = r.valid === true ? 'valid' : r.valid === false ? 'INVALID' : 'unknown';
  lines.push(`${verdict} (${r.model} model, ${r.ops} history lines)`);
  const lin = r.linearizable;
  if (lin) {
    if (lin.crashed) lines.push(`  linearizable: unknown — checker error: ${lin.error}`);
    else {
      lines.push(`  linearizable: ${lin.valid} — ${lin.keys} key(s)${decidedBy(lin.decidedBy)}, ${lin.opsChecked} ops checked`);
      for (const m of lin.memoEvictions ?? [])
        lines.push(`    key ${JSON.stringify(m.key)}: the search memo filled up ${m.evictions} time(s) and was cleared (raise --memory-mib for speed)`);
      for (const f of lin.failures) lines.push(`    ${f.message}`);
      for (const u of lin.unknown) lines.push(`    key ${JSON.stringify(u.key)}: unknown — ${u.reason}`);
    }
  }
  const ev = r.evidence;
  if (ev) lines.push(ev.crashed ? `  log evidence: unknown — checker error: ${ev.error}` : `  log evidence: ${ev.message}`);
  if (ev && !ev.crashed)
    for (const l of ev.lost.slice(0, 10))
      lines.push(
        `    lost ${l.f} ${JSON.stringify(l.key)} = ${JSON.stringify(l.value)}${l.node ? ` (acknowledged by ${l.node}${l.epoch !== null ? ` at epoch ${l.epoch}` : ''}${l.lsn !== null ? `, lsn ${l.lsn}` : ''})` : ''}: ${l.where}`,
      );
  const loss = r.loss;
  if (loss) lines.push(loss.crashed ? `  loss: unknown — checker error: ${loss.error}` : `  loss: ${loss.valid} — ${loss.message}`);
  const lr = r.lostReads;
  if (lr && !lr.crashed && lr.readsOfLostWrites > 0) lines.push(`  reads of lost writes: ${lr.message}`);
  const st = r.staleReads;
  if (st && !st.crashed && st.judged > 0)
    lines.push(`  stale reads: ${st.stale} of ${st.judged} reads behind; max ${st.maxStaleMs.toFixed(1)} ms / ${st.maxStaleLsn} LSNs`);
  const se = r.sessions;
  if (se && !se.crashed && se.readsJudged > 0) {
    const v = se.violations;
    lines.push(
      `  sessions: ${se.sessions} session(s), ${se.readsJudged} reads judged; violations: read-your-writes ${v['read-your-writes']}, monotonic reads ${v['monotonic-reads']}, monotonic writes ${v['monotonic-writes']}, writes-follow-reads ${v['writes-follow-reads']}`,
    );
  } else if (se?.crashed) lines.push(`  sessions: unknown — checker error: ${se.error}`);
  const av = r.availability;
  if (av && !av.crashed && av.ops > 0)
    lines.push(
      `  availability: ${(av.okShare * 100).toFixed(1)}% ok, ${(av.failShare * 100).toFixed(1)}% fail, ${(av.infoShare * 100).toFixed(1)}% info; longest write outage ${av.outageMs.toFixed(0)} ms`,
    );
  const lat = r.latency;
  if (lat && !lat.crashed)
    for (const [f, s] of Object.entries(lat.byF))
      lines.push(`  latency ${f}: p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms, max ${s.maxMs.toFixed(2)} ms (${s.count} ok)`);
  return lines.join('\n');
}
