/**
 * Loss and indeterminate ops decided from the servers' own logs, not inferred from final reads.
 *
 * Input: every node's final log (records, checkpoint, epoch history), every record a node rewound,
 * and which node led at the end. A write's *effect* is the (key, value) record it puts in the log;
 * workloads write unique values, so an effect names exactly one write.
 *
 * - An acknowledged write **survived** when its effect is in the final leader's log, **lost** when
 *   it is not (and we say where it went: rewound by a node, left only on a node that never
 *   rejoined, or in no log at all), and **unknown** when the evidence cannot tell (the final
 *   leader's data is unavailable, or the record would lie in a compacted checkpoint).
 * - An `info` (or never-completed) write **happened** when its effect is in the final leader's log;
 *   its LSN then orders it among the key's writes. It **did not happen** when its effect is in no
 *   node's log and no rewound file, every node's log is complete from LSN 1, and no read observed
 *   its value. Anything else stays **open**, with the reason.
 *
 * `applyResolutions` turns the decisions into a history the linearizability search can use: a
 * write that did not happen becomes `fail` (dropped), one that happened becomes `ok` (no longer a
 * branch), and every write in the final log carries its LSN, so the search linearizes logged
 * writes in log order — the order in which they took effect.
 *
 * Pure: no I/O. `src/systems/replab/evidence-files.ts` loads the files of a run folder into this shape.
 */
import { isClientProcess, type Op, type OpPair, type PairedHistory, WRITE_FS } from '../history/op.js';

export interface EvidenceRecord {
  lsn: number;
  epoch: number;
  key: string;
  /** null for a delete */
  value: string | null;
}

export interface NodeEvidence {
  node: string;
  /** The node's final log; absent when its data could not be read (`unavailable` says why). */
  log?: {
    epochHistory: Array<{ epoch: number; startLsn: number }>;
    lastLsn: number;
    checkpointLsn: number;
    checkpointEntries: Array<[string, string]>;
    records: EvidenceRecord[];
  };
  unavailable?: string;
  /** Records this node cut from its log when it rejoined under a newer epoch. */
  rewound: EvidenceRecord[];
}

export interface EvidenceInput {
  nodes: NodeEvidence[];
  /** The node that led at the end of the run (null when none did). */
  finalLeader: string | null;
  /** The log record a write op puts in the log, from its invocation (undefined: not a write). */
  effect: (invoke: Op) => { key: string; value: string } | undefined;
}

export interface LostWrite {
  process: number | string;
  f: string;
  key: string;
  value: string;
  invokeIndex: number;
  completeIndex: number;
  /** Node and epoch that acknowledged it, with the LSN it was given. */
  node: string | null;
  epoch: number | null;
  lsn: number | null;
  /** Where its record went, in words: "rewound by n2 at epoch 2, lsn 4410". */
  where: string;
}

export interface Resolution {
  invokeIndex: number;
  completeIndex: number | null;
  process: number | string;
  f: string;
  key: string;
  value: string;
  outcome: 'happened' | 'not-happened' | 'open';
  /** The final leader's LSN for it (happened only). */
  lsn?: number;
  why: string;
}

export interface EvidenceResult {
  finalLeader: string | null;
  /** Nodes whose logs could be read; the others, with the reason. */
  nodesWithLogs: string[];
  nodesWithoutEvidence: Array<{ node: string; why: string }>;
  acked: number;
  survived: number;
  lostAcked: number;
  lost: LostWrite[];
  unknown: Array<{ invokeIndex: number; key: string; value: string; why: string }>;
  resolutions: Resolution[];
  infoResolved: number;
  infoOpen: number;
  message: string;
}

const effectKey = (key: string, value: string) => `${key}\u0000${value}`;

interface Found {
  node: string;
  record: EvidenceRecord;
}

/** Indexes of where each effect can be found. */
class EvidenceIndex {
  readonly inLog = new Map<string, Found[]>();
  readonly inRewound = new Map<string, Found[]>();
  readonly inCheckpoint = new Map<string, string[]>();

  constructor(nodes: NodeEvidence[]) {
    const add = (m: Map<string, Found[]>, node: string, r: EvidenceRecord) => {
      if (r.value === null) return;
      const k = effectKey(r.key, r.value);
      const list = m.get(k);
      if (list) list.push({ node, record: r });
      else m.set(k, [{ node, record: r }]);
    };
    for (const n of nodes) {
      for (const r of n.log?.records ?? []) add(this.inLog, n.node, r);
      for (const r of n.rewound) add(this.inRewound, n.node, r);
      for (const [key, value] of n.log?.checkpointEntries ?? []) {
        const k = effectKey(key, value);
        this.inCheckpoint.set(k, [...(this.inCheckpoint.get(k) ?? []), n.node]);
      }
    }
  }
}

/** The epoch that wrote `lsn` in a log with this epoch history (0 when none). */
function epochAt(history: Array<{ epoch: number; startLsn: number }>, lsn: number): number {
  let epoch = 0;
  for (const e of history) {
    if (e.startLsn > lsn) break;
    epoch = e.epoch;
  }
  return epoch;
}

export function checkEvidence({ pairs }: PairedHistory, input: EvidenceInput): EvidenceResult {
  const leader = input.nodes.find((n) => n.node === input.finalLeader);
  const ctx: Judging = {
    input,
    index: new EvidenceIndex(input.nodes),
    leader,
    leaderLog: leader?.log ? { node: leader.node, log: leader.log } : undefined,
    allComplete: input.nodes.length > 0 && input.nodes.every((n) => n.log && n.log.checkpointLsn === 0),
    observed: observedValues(pairs),
  };
  const lost: LostWrite[] = [];
  const unknown: UnknownAck[] = [];
  const resolutions: Resolution[] = [];
  let acked = 0;
  let survived = 0;
  for (const p of pairs) {
    if (!isClientProcess(p.invoke.process) || !WRITE_FS.has(p.invoke.f)) continue;
    const e = input.effect(p.invoke);
    if (!e) continue;
    const type = p.complete?.type ?? 'info';
    if (type === 'fail') continue;
    if (type === 'ok') {
      acked++;
      const v = judgeAcked(p, e, ctx);
      if (v.kind === 'survived') survived++;
      else if (v.kind === 'lost') lost.push(v.lost);
      else unknown.push(v.unknown);
    } else resolutions.push(resolveIndeterminate(p, e, ctx));
  }
  return summarize(input, { acked, survived, lost, unknown, resolutions });
}

type UnknownAck = EvidenceResult['unknown'][number];

/** What judging one write needs: the evidence, indexed, and facts about it computed once. */
interface Judging {
  input: EvidenceInput;
  index: EvidenceIndex;
  /** The final leader's evidence (undefined: no node led, or the leader is not in the cluster). */
  leader: NodeEvidence | undefined;
  /** The final leader's log, when there is one. */
  leaderLog: LeaderLog | undefined;
  /** Every node's log is there and complete from LSN 1: an effect in none of them never happened. */
  allComplete: boolean;
  /** Effects some client read. */
  observed: Set<string>;
}

type Effect = { key: string; value: string };
type LeaderLog = { node: string; log: NonNullable<NodeEvidence['log']> };

/**
 * Whether the final leader's log holds the effect: its LSN, 'absent', or 'compacted' when a
 * checkpoint hides what it would be. Below the checkpoint only the epoch history is left, so an
 * (epoch, lsn) pair the acknowledgement carried still names one record.
 */
function inFinalLog(ctx: Judging, leader: LeaderLog, e: Effect, lsn?: number, epoch?: number): { lsn: number } | 'absent' | 'compacted' {
  const log = leader.log;
  const hit = ctx.index.inLog.get(effectKey(e.key, e.value))?.find((f) => f.node === leader.node);
  if (hit) return { lsn: hit.record.lsn };
  if (log.checkpointLsn === 0) return 'absent';
  if (lsn !== undefined && epoch !== undefined && lsn <= log.checkpointLsn) return epochAt(log.epochHistory, lsn) === epoch ? { lsn } : 'absent';
  if (lsn !== undefined && lsn > log.checkpointLsn) return 'absent';
  return 'compacted';
}

/** Why an acknowledged write cannot be judged when the final leader has no log. */
function noLeaderLog(ctx: Judging): string {
  const { leader, input } = ctx;
  if (leader) return `no log evidence for ${leader.node}: ${leader.unavailable ?? 'no log'}`;
  return input.finalLeader ? `no log evidence for ${input.finalLeader} (not in the cluster)` : 'no node led at the end of the run';
}

type AckedVerdict = { kind: 'survived' } | { kind: 'lost'; lost: LostWrite } | { kind: 'unknown'; unknown: UnknownAck };

/** An acknowledged write: survived in the final leader's log, lost (and where it went), or unknown. */
function judgeAcked(p: OpPair, e: Effect, ctx: Judging): AckedVerdict {
  const c = p.complete;
  const unknown = (why: string): AckedVerdict => ({ kind: 'unknown', unknown: { invokeIndex: p.invoke.index, key: e.key, value: e.value, why } });
  const leader = ctx.leaderLog;
  if (!leader) return unknown(noLeaderLog(ctx));
  const where = inFinalLog(ctx, leader, e, c?.lsn, c?.epoch);
  if (where === 'compacted') return unknown(`${leader.node}'s log is compacted through lsn ${leader.log.checkpointLsn} and the write carries no lsn`);
  if (where !== 'absent') return { kind: 'survived' };
  return {
    kind: 'lost',
    lost: {
      process: p.invoke.process,
      f: p.invoke.f,
      key: e.key,
      value: e.value,
      invokeIndex: p.invoke.index,
      completeIndex: c!.index,
      node: c?.node ?? null,
      epoch: c?.epoch ?? null,
      lsn: c?.lsn ?? null,
      where: whereItWent(ctx.index, ctx.input.nodes, e, c?.node ?? null, leader.node),
    },
  };
}

/** An `info` or never-completed write: happened (with its LSN), did not happen, or open (and why). */
function resolveIndeterminate(p: OpPair, e: Effect, ctx: Judging): Resolution {
  const c = p.complete;
  const base = { invokeIndex: p.invoke.index, completeIndex: c?.index ?? null, process: p.invoke.process, f: p.invoke.f, key: e.key, value: e.value };
  const leader = ctx.leaderLog;
  if (!leader) return { ...base, outcome: 'open', why: ctx.leader ? `no log evidence for ${ctx.leader.node}` : 'no node led at the end of the run' };
  const where = inFinalLog(ctx, leader, e);
  if (typeof where === 'object') return { ...base, outcome: 'happened', lsn: where.lsn, why: `in ${leader.node}'s final log at lsn ${where.lsn}` };
  const k = effectKey(e.key, e.value);
  const elsewhere = [
    ...(ctx.index.inLog.get(k) ?? []).map((f) => `${f.node}'s log`),
    ...(ctx.index.inRewound.get(k) ?? []).map((f) => `${f.node}'s rewound records`),
    ...(ctx.index.inCheckpoint.get(k) ?? []).map((n) => `${n}'s checkpoint`),
  ];
  if (elsewhere.length > 0) return { ...base, outcome: 'open', why: `written, but not on the final leader: only in ${elsewhere.join(', ')}` };
  if (!ctx.allComplete) {
    const gaps = ctx.input.nodes
      .filter((n) => !n.log || n.log.checkpointLsn > 0)
      .map((n) => (n.log ? `${n.node}'s log is compacted through lsn ${n.log.checkpointLsn}` : `no log evidence for ${n.node}`));
    return { ...base, outcome: 'open', why: `in no log, but ${gaps.join('; ')}` };
  }
  if (ctx.observed.has(k)) return { ...base, outcome: 'open', why: 'a read observed its value, yet it is in no log' };
  return { ...base, outcome: 'not-happened', why: 'in no node’s log and no rewound file' };
}

/** The result, with its one-line message, from the writes judged. */
function summarize(
  input: EvidenceInput,
  judged: { acked: number; survived: number; lost: LostWrite[]; unknown: UnknownAck[]; resolutions: Resolution[] },
): EvidenceResult {
  const { acked, survived, lost, unknown, resolutions } = judged;
  const nodesWithoutEvidence = input.nodes.filter((n) => !n.log).map((n) => ({ node: n.node, why: n.unavailable ?? 'no log' }));
  const infoResolved = resolutions.filter((r) => r.outcome !== 'open').length;
  const infoOpen = resolutions.length - infoResolved;
  const gaps = nodesWithoutEvidence.length ? `; no log evidence for ${nodesWithoutEvidence.map((n) => n.node).join(', ')}` : '';
  return {
    finalLeader: input.finalLeader,
    nodesWithLogs: input.nodes.filter((n) => n.log).map((n) => n.node),
    nodesWithoutEvidence,
    acked,
    survived,
    lostAcked: lost.length,
    lost,
    unknown,
    resolutions,
    infoResolved,
    infoOpen,
    message: `${acked} acknowledged write(s): ${survived} in ${input.finalLeader ?? 'the final leader'}'s log, ${lost.length} lost, ${unknown.length} unknown; ${infoResolved} of ${resolutions.length} indeterminate write(s) resolved from the logs${gaps}`,
  };
}

/** Values a client read (ok reads, and a cas's expected value): an unlogged write that was seen cannot be "never". */
function observedValues(pairs: readonly OpPair[]): Set<string> {
  const out = new Set<string>();
  for (const p of pairs) {
    if (p.complete?.type !== 'ok' || p.invoke.key === undefined) continue;
    if (p.invoke.f === 'read' && typeof p.complete.value === 'string') out.add(effectKey(p.invoke.key, p.complete.value));
    if (p.invoke.f === 'cas' && Array.isArray(p.invoke.value) && typeof p.invoke.value[0] === 'string') out.add(effectKey(p.invoke.key, p.invoke.value[0]));
  }
  return out;
}

function whereItWent(index: EvidenceIndex, nodes: NodeEvidence[], e: { key: string; value: string }, ackedBy: string | null, leader: string): string {
  const k = effectKey(e.key, e.value);
  const rewound = index.inRewound.get(k) ?? [];
  const logs = (index.inLog.get(k) ?? []).filter((f) => f.node !== leader);
  const parts: string[] = [];
  for (const f of rewound) parts.push(`rewound by ${f.node} at epoch ${f.record.epoch}, lsn ${f.record.lsn}`);
  for (const f of logs) parts.push(`only in ${f.node}'s log (epoch ${f.record.epoch}, lsn ${f.record.lsn}), not ${leader}'s`);
  const holders = new Set([...rewound, ...logs].map((f) => f.node));
  if (parts.length === 0) {
    const blind = nodes.filter((n) => !n.log).map((n) => n.node);
    return `in no node's log and no rewound file${ackedBy ? ` (acknowledged by ${ackedBy}; never made durable anywhere that kept it)` : ''}${blind.length ? `; no log evidence for ${blind.join(', ')}` : ''}`;
  }
  if (ackedBy && holders.size === 1 && holders.has(ackedBy)) parts.push(`it never left ${ackedBy} (not in any other node's log)`);
  return parts.join('; ');
}

/**
 * The history the linearizability search checks, with what the final leader's log says:
 * - every write whose effect is in that log carries `logLsn` on its invocation, and the search
 *   linearizes such writes only in LSN order (the log is the order writes took effect);
 * - a write resolved as `not-happened` gets a `fail` completion (dropped by the search);
 * - one resolved as `happened` gets an `ok` completion at the end of the history: it must take
 *   effect after its invocation, and its LSN places it among the other writes. (Where a process
 *   went on to invoke more ops, the completion cannot move past them; it stays `info`, still
 *   ordered by its `logLsn`.)
 * Ops keep their `index`; completions changed here carry `resolved: "log"`. The input is not
 * modified.
 */
export function applyResolutions(
  { ops: history, pairs }: PairedHistory,
  resolutions: readonly Resolution[],
  finalLog: ReadonlyArray<{ lsn: number; key: string; value: string | null }>,
  effect: EvidenceInput['effect'],
): Op[] {
  const lsnOf = new Map<string, number>();
  for (const r of finalLog) if (r.value !== null) lsnOf.set(effectKey(r.key, r.value), r.lsn);
  const decided = new Map(resolutions.filter((r) => r.outcome !== 'open').map((r) => [r.invokeIndex, r]));
  // A completion may only move within its process's turn: pairing is "the next completion of the
  // same process". Jepsen retires a process after `info`, so this only matters for other histories.
  const hasLaterInvoke = new Set<OpPair>();
  const lastInvoke = new Map<unknown, OpPair>();
  for (const p of pairs) {
    const prev = lastInvoke.get(p.invoke.process);
    if (prev) hasLaterInvoke.add(prev);
    lastInvoke.set(p.invoke.process, p);
  }
  const replace = new Map<number, Op | null>(); // history position → new op (null: remove)
  const append: Op[] = [];
  for (const p of pairs) {
    if (!isClientProcess(p.invoke.process) || !WRITE_FS.has(p.invoke.f)) continue;
    const e = effect(p.invoke);
    const lsn = e ? lsnOf.get(effectKey(e.key, e.value)) : undefined;
    if (lsn !== undefined && p.complete?.type !== 'fail') replace.set(p.invokePos, { ...p.invoke, logLsn: lsn });
    const r = decided.get(p.invoke.index);
    if (!r || hasLaterInvoke.has(p)) continue;
    const template = p.complete ?? p.invoke;
    if (r.outcome === 'not-happened') {
      const op: Op = { ...template, type: 'fail', value: p.invoke.value, resolved: 'log', error: 'resolved from the logs: did not happen' };
      if (p.completePos !== undefined) replace.set(p.completePos, op);
      else append.push(op);
    } else {
      const op: Op = { ...template, type: 'ok', value: p.invoke.value, resolved: 'log' };
      if (r.lsn !== undefined) op.lsn = r.lsn;
      delete op.error;
      if (p.completePos !== undefined) replace.set(p.completePos, null);
      append.push(op);
    }
  }
  const out: Op[] = [];
  for (let i = 0; i < history.length; i++) {
    const r = replace.get(i);
    if (r === undefined) out.push(history[i]!);
    else if (r !== null) out.push(r);
  }
  return out.concat(append);
}
