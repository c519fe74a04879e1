/**
 * Everything the report shows, read back from a run folder's files alone (results.json and each
 * run's history.jsonl, lag.jsonl, events.jsonl, check.json, rewound-*.jsonl), so `replab report
 * RUN_DIR` can rebuild the HTML long after the run.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type CheckFile, readCheckFile } from '../checker/check-file.js';
import { SESSION_GUARANTEES, type SessionGuarantee } from '../checker/session.js';
import { isClientProcess, type Op, type OpPair, PairedHistory, WRITE_FS } from '../history/op.js';
import { loadHistory } from '../history/reader.js';
import { parseJsonLines } from '../lib/json-lines.js';
import { isRecord } from '../lib/schema.js';
import { type MonitorEvent, MonitorEventSchema } from '../monitor/state.js';
import { type RunResult, readResults, type SuiteResults } from '../suite/results.js';
import { medianOf, noRunsText } from '../suite/summary.js';
import { readBinlogEvidence, whereWent } from '../systems/mariadb/evidence.js';
import { judgeFailover, type PromotionFacts } from './detection.js';
import type { Anomaly, ModeReads, PlacementCheck, ReadNode, ReportData, RunData, SessionsCheck, StaleFigures, TimelineOp, TimePoint, Window } from './model.js';
import { whatHappened } from './story.js';

const NS = 1e9;

/** A JSON object file, or {} when it is missing or not one (the report shows what there is). */
async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  try {
    const v: unknown = JSON.parse(await fsp.readFile(file, 'utf8'));
    return isRecord(v) ? v : {};
  } catch {
    return {};
  }
}

/** The JSON objects of a .jsonl file (torn or foreign lines skipped: these files are for showing). */
async function readJsonl(file: string): Promise<Array<Record<string, unknown>>> {
  return parseJsonLines(await fsp.readFile(file, 'utf8').catch(() => ''), z.record(z.string(), z.unknown()));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The seconds the clients ran: their first invocation to their last completion (final reads are not the workload). */
export function loadSpan(pairs: readonly OpPair[]): { from: number; to: number } | null {
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const p of pairs) {
    if (!isClientProcess(p.invoke.process) || p.invoke.f === 'final-read') continue;
    from = Math.min(from, p.invoke.time / NS);
    to = Math.max(to, (p.complete ?? p.invoke).time / NS);
  }
  return from <= to ? { from, to } : null;
}

/**
 * Write latency quantiles and ops/s per time bucket, each op counted in the bucket of its
 * completion. A bucket counts only the part of its length the clients were running, so the first
 * and last ones, which the load covers only partly, are not drawn as a drop in throughput; one
 * covered for less than half its length is left out (a rate or a p99 from a few ops is noise). Each
 * point sits in the middle of the part covered.
 */
export function timeBuckets(
  pairs: readonly OpPair[],
  bucketSec: number,
  load: { from: number; to: number } | null,
): { latency: TimePoint[]; throughput: TimePoint[] } {
  const latency: TimePoint[] = [];
  const throughput: TimePoint[] = [];
  if (!load) return { latency, throughput };
  const buckets = new Map<number, { lat: number[]; ok: number; fail: number; info: number }>();
  for (const p of pairs) {
    if (!isClientProcess(p.invoke.process) || p.invoke.f === 'final-read' || !p.complete) continue;
    const b = Math.floor(p.complete.time / NS / bucketSec);
    const e = buckets.get(b) ?? { lat: [], ok: 0, fail: 0, info: 0 };
    e[p.complete.type as 'ok' | 'fail' | 'info']++;
    if (p.complete.type === 'ok' && WRITE_FS.has(p.invoke.f)) e.lat.push((p.complete.time - p.invoke.time) / 1e6);
    buckets.set(b, e);
  }
  // Every bucket the load spans, empty ones too: an outage with no completion is drawn as zero, not bridged.
  for (let b = Math.floor(load.from / bucketSec); b * bucketSec < load.to; b++) {
    const e = buckets.get(b) ?? { lat: [], ok: 0, fail: 0, info: 0 };
    const from = Math.max(b * bucketSec, load.from);
    const to = Math.min((b + 1) * bucketSec, load.to);
    const covered = to - from;
    if (covered < bucketSec / 2) continue;
    const t = (from + to) / 2;
    const s = e.lat.sort((x, y) => x - y);
    // Per bucket only p50 and p99: a bucket holds tens of writes, too few for a meaningful p99.9.
    if (s.length)
      for (const [q, name] of [
        [0.5, 'p50'],
        [0.99, 'p99'],
      ] as const)
        latency.push({ t, quantile: name, ms: quantile(s, q) });
    for (const type of ['ok', 'fail', 'info'] as const) throughput.push({ t, type, opsPerSec: e[type] / covered });
  }
  return { latency, throughput };
}

/**
 * Lag samples (lag.jsonl lines, in time order) as chart points. Lag is what the leader of the
 * moment reports, so each point carries a leader-period number: a line never joins one leader's
 * view of a follower to the next leader's across a failover.
 */
export function lagPoints(lines: Array<Record<string, unknown>>): TimePoint[] {
  let period = 0;
  let lastLeader: unknown;
  return lines.map((l) => {
    if (lastLeader !== undefined && l.leader !== lastLeader) period++;
    lastLeader = l.leader;
    return {
      t: Number(l.time) / NS,
      follower: String(l.follower),
      leader: String(l.leader ?? ''),
      period,
      records: typeof l.lagRecords === 'number' ? l.lagRecords : null,
    };
  });
}

export async function loadReportData(runDir: string): Promise<ReportData> {
  const results = await readResults(runDir);
  const runs: RunData[] = [];
  for (const r of results.runs) runs.push(await loadRun(path.join(runDir, r.dir), r, lagUnitOf(results, r.mode)));
  // Before the report drops passing runs of a many-seed suite: the read side and the story cover every run.
  return {
    results,
    runs,
    reads: modeReads(results, runs),
    story: whatHappened(results.modes, results.runs, runs, noRunsText(results)),
    runWallMs: runWallMs(results, runs),
  };
}

/**
 * How long one run took on the clock, start to checked (cluster start, load, healing, convergence,
 * checks), as the median over runs: each run lasts until the next one starts, the last until the
 * suite finished. Shards merged from several machines overlap in time, so a merged suite has none.
 */
export function runWallMs(results: SuiteResults, runs: Array<Pick<RunData, 'startedAtMs'>>): number | null {
  const end = Date.parse(results.finishedAt);
  if (results.mergedFrom?.length || !Number.isFinite(end)) return null;
  const starts = runs
    .map((r) => r.startedAtMs)
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  if (!starts.length) return null;
  const walls = starts.map((t, i) => (starts[i + 1] ?? end) - t);
  return walls.every((w) => w > 0) ? medianOf(walls) : null;
}

/**
 * The unit a mode's lag amounts are in (the system's: records, bytes, seconds); null when the
 * system gives none. Results written before the unit was kept say records, as those systems did.
 */
export function lagUnitOf(results: SuiteResults, mode: string): string | null {
  const unit = results.modes.find((m) => m.name === mode)?.lagUnit;
  return unit === undefined ? 'records' : unit;
}

async function loadRun(dir: string, result: RunResult, lagUnit: string | null): Promise<RunData> {
  const history = await loadHistory(path.join(dir, 'history.jsonl'));
  const run = await readJsonObject(path.join(dir, 'run.json'));
  const startedAtMs = typeof run.startedAtMs === 'number' ? run.startedAtMs : 0;
  const check: Partial<CheckFile> = (await readCheckFile(path.join(dir, 'check.json'))) ?? {};
  // Paired once, for every view of the run below.
  const paired = PairedHistory.of(history);
  const { pairs } = paired;
  const load = loadSpan(pairs);
  const bucketSec = Math.max(0.5, result.durationSec / 60);
  const { latency, throughput } = timeBuckets(pairs, bucketSec, load);
  const lagLines = await readJsonl(path.join(dir, 'lag.jsonl'));
  const lag = lagPoints(lagLines);
  // One time axis for every chart of the run: from the start to its last recorded moment, history or lag sample.
  const end = Math.max(history.length ? history[history.length - 1]!.time / NS : result.durationSec, ...lag.map((l) => l.t));
  const monitorEvents = parseJsonLines(await fsp.readFile(path.join(dir, 'events.jsonl'), 'utf8').catch(() => ''), MonitorEventSchema);
  const startMs = historyStart(run, monitorEvents) ?? startedAtMs;
  const faults = faultWindows(history, end);
  const { failovers, outages } = failoverOutages(monitorEvents, startMs, pairs, faults, end);
  const ow = check.availability && !check.availability.crashed ? check.availability.outageWindow : null;
  const sessions = check.sessions && !check.sessions.crashed ? check.sessions : undefined;
  const readPlacement = check.readPlacement && !check.readPlacement.crashed ? check.readPlacement : undefined;
  return {
    result,
    timeDomain: [0, end],
    startedAtMs: startedAtMs || null,
    bucketSec,
    load,
    latency,
    throughput,
    lag,
    faults,
    // Events after the last recorded moment (the monitor repointing nodes during teardown) are off the run's axis.
    events: failoverEvents(monitorEvents, startMs).filter((e) => e.t <= end),
    outage: ow ? { from: ow.fromTime / NS, to: ow.toTime / NS } : null,
    outages,
    anomalies: bySeverity([...anomalies(paired, check), ...sessionAnomalies(paired, sessions, lagLookup(lagLines), lagUnit), ...sessionCrash(check)]),
    rewound: await rewoundCounts(dir),
    failovers,
    lostWrites: lostWrites(history, check),
    ...(await binlogWhereabouts(dir, run, check)),
    sessions,
    readPlacement,
  };
}

/** The nemesis' faults as time windows (seconds): each start paired with its stop; one never stopped lasts to `end`. */
function faultWindows(history: Op[], end: number): Window[] {
  const faults: Window[] = [];
  const open = new Map<string, Array<{ t: number; detail: string; nodes: string[]; links: string[] | undefined }>>();
  for (const op of history) {
    if (op.process !== 'nemesis') continue;
    const fault = op.f.replace(/^(start|stop)-/, '');
    if (op.f.startsWith('start-'))
      open.set(fault, [
        ...(open.get(fault) ?? []),
        { t: op.time / NS, detail: describeValue(op.value), nodes: faultNodes(op.value), links: faultLinks(op.value) },
      ]);
    else {
      const started = open.get(fault)?.shift();
      if (started) faults.push({ fault, from: started.t, to: op.time / NS, detail: started.detail, nodes: started.nodes, ...linksOf(started) });
    }
  }
  for (const [fault, rest] of open) for (const s of rest) faults.push({ fault, from: s.t, to: end, detail: s.detail, nodes: s.nodes, ...linksOf(s) });
  return faults.sort((a, b) => a.from - b.from);
}

const CHARTED_EVENTS = ['leader-declared-dead', 'promoted', 'failover-blocked', 'switchover', 'repointed'];

/** The monitor's failover events from the history's zero on, in seconds on the history's axis (none without a zero). */
function failoverEvents(monitorEvents: MonitorEvent[], startMs: number): RunData['events'] {
  return monitorEvents
    .filter((e) => startMs && e.timeMs >= startMs && CHARTED_EVENTS.includes(e.event))
    .map((e) => ({
      t: (e.timeMs - startMs) / 1000,
      event: e.event,
      detail: e.node ? `${String(e.node)}${e.epoch ? ` epoch ${String(e.epoch)}` : ''}` : String(e.why ?? e.leader ?? ''),
    }));
}

/** A figure an event gave, or null (never NaN) when it did not. */
const given = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Each promotion's figures, its write outage (the gap between acknowledged writes that spans the
 * promotion), and whether it was needed (detection.ts), with how long the old leader was
 * unreachable when the event records it.
 */
function failoverOutages(
  monitorEvents: MonitorEvent[],
  startMs: number,
  pairs: readonly OpPair[],
  faults: readonly Window[],
  end: number,
): Pick<RunData, 'failovers' | 'outages'> {
  const okClient = pairs.filter((p) => isClientProcess(p.invoke.process) && p.complete?.type === 'ok');
  const okWrites = okClient
    .filter((p) => WRITE_FS.has(p.invoke.f))
    .map((p) => p.complete!.time / NS)
    .sort((a, b) => a - b);
  const served = okClient.flatMap((p) => (p.complete!.node ? [{ t: p.complete!.time / NS, node: p.complete!.node }] : []));
  const outages: RunData['outages'] = [];
  const failovers = monitorEvents
    .filter((e) => e.event === 'promoted' && startMs && e.timeMs >= startMs)
    .map((e) => {
      const at = (e.timeMs - startMs) / 1000;
      const after = okWrites.findIndex((w) => w >= at);
      let outageMs: number | null = null;
      if (after > 0) {
        outages.push({ from: okWrites[after - 1]!, to: okWrites[after]!, node: String(e.node) });
        outageMs = Math.round((okWrites[after]! - okWrites[after - 1]!) * 1000);
      }
      const facts = promotionFacts(e, at);
      const { need, why } = judgeFailover(facts, faults, served, end);
      return {
        node: String(e.node),
        epoch: given(e.epoch),
        detectionMs: given(e.detectionMs),
        promotionMs: given(e.promotionMs),
        outageMs,
        at,
        from: facts.from ?? null,
        unreachableMs: facts.unreachableMs ?? null,
        need,
        why,
      };
    });
  return { failovers, outages };
}

/** The `promoted` event's fields the judgement reads, each kept only when it has the right type. */
function promotionFacts(e: MonitorEvent, at: number): PromotionFacts {
  const old = isRecord(e.oldLeader) && typeof e.oldLeader.answered === 'boolean' ? { answered: e.oldLeader.answered } : undefined;
  return {
    at,
    ...(typeof e.from === 'string' ? { from: e.from } : {}),
    ...(typeof e.unreachableMs === 'number' ? { unreachableMs: e.unreachableMs } : {}),
    ...(typeof e.promotionMs === 'number' ? { promotionMs: e.promotionMs } : {}),
    ...(old ? { oldLeader: old } : {}),
  };
}

/** Per node, how many records its rewind set aside (the run folder's rewound-<node>.jsonl files). */
async function rewoundCounts(dir: string): Promise<Record<string, number>> {
  const rewound: Record<string, number> = {};
  for (const f of await fsp.readdir(dir)) if (f.startsWith('rewound-')) rewound[f.slice(8, -6)] = (await readJsonl(path.join(dir, f))).length;
  return rewound;
}

/** The lost writes the log evidence found, placed at their acknowledgement (seconds). */
function lostWrites(history: Op[], check: Partial<CheckFile>): RunData['lostWrites'] {
  const ev = check.evidence && !check.evidence.crashed ? check.evidence : undefined;
  const byIndex = new Map(history.map((op) => [op.index, op]));
  return (ev?.lost ?? []).map((l) => ({
    at: (byIndex.get(l.completeIndex)?.time ?? 0) / NS,
    node: l.node,
    epoch: l.epoch,
    where: l.where,
  }));
}

/** The links a nemesis event names (partitions and link faults record them), undefined when it names none. */
function faultLinks(v: unknown): string[] | undefined {
  return isRecord(v) && Array.isArray(v.links) ? v.links.map(String) : undefined;
}

const linksOf = (s: { links: string[] | undefined }) => (s.links ? { links: s.links } : {});

/** The nodes a nemesis event names (`nodes` for kill and pause, `isolate` for a partition). */
function faultNodes(v: unknown): string[] {
  if (!isRecord(v)) return [];
  const list = (x: unknown) => (Array.isArray(x) ? x.map(String) : typeof x === 'string' ? [x] : []);
  return [...new Set([...list(v.nodes), ...list(v.isolate)])];
}

/**
 * The wall-clock moment (ms) of the history's time zero, to place the monitor's events (wall
 * clock) on the history's axis. run.json's startedAtMs is taken before the system starts, seconds
 * earlier than the history's zero on a loaded machine (7 s here), which drew failovers seconds late.
 * A run.json that records `historyStartMs` says it; otherwise the monitor's start stands in for it:
 * the history begins as soon as the started system answers, a few hundred ms after the monitor.
 */
export function historyStart(run: Record<string, unknown>, events: MonitorEvent[]): number | undefined {
  if (typeof run.historyStartMs === 'number') return run.historyStartMs;
  return events.find((e) => e.event === 'monitor-started')?.timeMs;
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  // An array names none of the fields below.
  const o: Record<string, unknown> = isRecord(v) ? v : {};
  const parts: string[] = [];
  if (o.isolate) parts.push(`isolate ${String(o.isolate)}`);
  if (o.shape && o.shape !== 'isolate') parts.push(String(o.shape));
  if (o.nodes) parts.push(String(o.nodes));
  if (o.latency !== undefined) parts.push(`${String(o.latency)} ms`);
  if (o.rate !== undefined) parts.push(`${String(o.rate)} KB/s`);
  if (o.mode) parts.push(String(o.mode));
  return parts.join(', ');
}

/**
 * The order anomalies are told in, worst first: acknowledged writes lost, then two leaders
 * acknowledging at once (which is how they get lost), then reads no order of the writes explains
 * (often the lost writes seen before they vanished), then what a client session saw go backwards.
 */
export const SEVERITY: readonly Anomaly['kind'][] = ['lost', 'split-brain', 'non-linearizable', 'session'];

/** Anomalies worst first (stable within a kind). */
export function bySeverity(xs: Anomaly[]): Anomaly[] {
  return xs
    .map((a, i) => ({ a, i }))
    .sort((x, y) => SEVERITY.indexOf(x.a.kind) - SEVERITY.indexOf(y.a.kind) || x.i - y.i)
    .map((x) => x.a);
}

/** A timeline shows at most this many rows; the table beside it lists every op. */
export const TIMELINE_ROWS = 150;

/** A run's history looked up by op index, shared by the anomaly sections. */
interface HistoryIndex {
  byIndex: Map<number, Op>;
  /** An op's time (seconds) by its index; undefined for no index. */
  time: (i: number | null | undefined) => number | undefined;
  /** The history's last moment (seconds): where an op that never completed is drawn to. */
  end: number;
  pairByInvoke: Map<number, OpPair>;
  pairByComplete: Map<number, OpPair>;
}

function indexHistory(paired: PairedHistory): HistoryIndex {
  const history = paired.ops;
  const byIndex = new Map(history.map((op) => [op.index, op]));
  const pairs = paired.pairs;
  return {
    byIndex,
    time: (i) => (i === null || i === undefined ? undefined : byIndex.get(i)!.time / NS),
    end: history.length ? history[history.length - 1]!.time / NS : 0,
    pairByInvoke: new Map(pairs.map((p) => [p.invoke.index, p])),
    pairByComplete: new Map(pairs.filter((p) => p.complete).map((p) => [p.complete!.index, p])),
  };
}

/** The anomalies the history checks found: non-linearizable keys, lost writes, split-brain writes. */
function anomalies(paired: PairedHistory, check: Partial<CheckFile>): Anomaly[] {
  const h = indexHistory(paired);
  const ev = check.evidence && !check.evidence.crashed ? check.evidence : undefined;
  const lost = lossAnomaly(h, check, ev);
  const splitBrain = splitBrainAnomaly(h, check, ev);
  return [...nonLinearizableAnomalies(h, check, ev), ...(lost ? [lost] : []), ...(splitBrain ? [splitBrain] : [])];
}

type Evidence = Exclude<NonNullable<CheckFile['evidence']>, { crashed: true }>;

/** The first five keys the linearizability check failed on, each with the ops around the one it could not place. */
function nonLinearizableAnomalies(h: HistoryIndex, check: Partial<CheckFile>, ev: Evidence | undefined): Anomaly[] {
  const lin = check.linearizable && !check.linearizable.crashed ? check.linearizable : undefined;
  const lostInvokes = new Set((ev?.lost ?? []).map((l) => l.invokeIndex));
  return (lin?.failures ?? []).slice(0, 5).map((f): Anomaly => {
    const ops = [...f.prefixTail, ...f.concurrent, f.op];
    const seen = new Set<number>();
    return {
      kind: 'non-linearizable',
      title: `key ${f.key}: not linearizable`,
      text: `${linearizabilityText(f.message, f.concurrent.length)} The rows are the last operations the search could order before it and those overlapping it in time, each with the node that answered.`,
      ops: ops
        .filter((o) => !seen.has(o.invokeIndex) && seen.add(o.invokeIndex))
        .sort((a, b) => a.invokeIndex - b.invokeIndex)
        .map((o) => {
          const node = o.completeIndex === null ? undefined : h.byIndex.get(o.completeIndex)?.node;
          const focus = o.invokeIndex === f.op.invokeIndex;
          const lost = lostInvokes.has(o.invokeIndex);
          return {
            row: `#${o.invokeIndex} p${String(o.process)} ${o.f} ${short(valueText(o.value))}${node ? ` @${node}` : ''}`,
            process: String(o.process),
            from: h.time(o.invokeIndex)!,
            to: h.time(o.completeIndex) ?? h.end,
            type: o.type,
            label: `${o.f} ${JSON.stringify(o.value)}`,
            focus,
            group: focus ? NONLIN_GROUPS.focus : lost ? NONLIN_GROUPS.lost : o.type,
            where: node ? `answered by ${node}` : '',
          };
        }),
      tooltipTitles: { group: 'outcome', where: 'node' },
      groupColors: NONLIN_COLORS,
    };
  });
}

/** The acknowledged writes lost: from the nodes' logs when there is evidence, else the final reads' count alone. */
function lossAnomaly(h: HistoryIndex, check: Partial<CheckFile>, ev: Evidence | undefined): Anomaly | undefined {
  if (ev && ev.lost.length > 0) {
    const rows = ev.lost.map((l): TimelineOp => {
      const p = h.pairByInvoke.get(l.invokeIndex);
      const acked = `${l.node ?? '?'} @ epoch ${l.epoch ?? '?'}`;
      return {
        row: `${l.key} = ${short(l.value)} (p${String(l.process)} ${l.f})`,
        process: String(l.process),
        from: p ? p.invoke.time / NS : 0,
        to: p?.complete ? p.complete.time / NS : h.end,
        type: 'ok',
        label: `${l.f} ${l.key} = ${l.value}`,
        focus: true,
        group: `acknowledged by ${acked}`,
        where: l.where,
      };
    });
    return {
      kind: 'lost',
      title: `${ev.lostAcked} acknowledged write(s) lost: absent from ${ev.finalLeader}'s final log`,
      text: `${ev.message}. Each lost write below: the client's operation, the node and epoch that acknowledged it, and where its record went.${lossFinalReadsNote(check)}`,
      ops: rows.slice(0, TIMELINE_ROWS),
      table: {
        header: ['client op', 'key', 'value', 'acknowledged by', 'lsn', 'latency ms', 'where it went'],
        rows: ev.lost.map((l) => {
          const p = h.pairByInvoke.get(l.invokeIndex);
          const ms = p?.complete ? ((p.complete.time - p.invoke.time) / 1e6).toFixed(1) : '–';
          return [`p${String(l.process)} ${l.f}`, l.key, l.value, `${l.node ?? '?'} at epoch ${l.epoch ?? '?'}`, String(l.lsn ?? '–'), ms, l.where];
        }),
      },
    };
  }
  if (check.loss && !check.loss.crashed && check.loss.lostAcked > 0 && !ev) {
    const loss = check.loss;
    return {
      kind: 'lost',
      title: `${loss.lostAcked} acknowledged write(s) lost (final reads; no log evidence)`,
      text: `${loss.message} Examples: ${JSON.stringify(loss.lostSamples.slice(0, 10))}.`,
      ops: [],
    };
  }
  return undefined;
}

/** Writes a superseded leader acknowledged, with where each record went when the logs say. */
function splitBrainAnomaly(h: HistoryIndex, check: Partial<CheckFile>, ev: Evidence | undefined): Anomaly | undefined {
  const sb = check.splitBrain;
  if (!sb || sb.splitBrainWrites <= 0) return undefined;
  const lostByInvoke = new Map((ev?.lost ?? []).map((l) => [l.invokeIndex, l]));
  const writes = sb.writes ?? sb.samples;
  const rows = writes.map((w): TimelineOp => {
    const p = h.pairByComplete.get(w.index);
    const lost = p ? lostByInvoke.get(p.invoke.index) : undefined;
    const where = !ev ? 'no log evidence' : lost ? lost.where : `kept: in ${ev.finalLeader}'s final log`;
    const value = p ? JSON.stringify(p.invoke.f === 'cas' && Array.isArray(p.invoke.value) ? p.invoke.value[1] : p.invoke.value) : '?';
    return {
      row: `#${w.index} ${w.key ?? ''} = ${short(value)} (${w.node ?? '?'})`,
      process: String(p?.invoke.process ?? '?'),
      from: p ? p.invoke.time / NS : (h.time(w.index) ?? 0),
      to: h.time(w.index) ?? h.end,
      type: 'ok',
      label: `${p?.invoke.f ?? 'write'} ${w.key ?? ''} = ${value}`,
      focus: true,
      group: `acknowledged by ${w.node ?? '?'} @ epoch ${w.epoch}`,
      where,
    };
  });
  return {
    kind: 'split-brain',
    title: `${sb.splitBrainWrites} write(s) acknowledged by a superseded leader`,
    text: `Each was acknowledged at an older epoch after a write of a newer epoch had already been acknowledged: two leaders accepted writes at once. Below: the client's operation, the node and epoch that acknowledged it, and where its record went.`,
    ops: rows.slice(0, TIMELINE_ROWS),
    table: {
      header: ['client op', 'acknowledged by', 'newer epoch already acknowledging', 'where it went'],
      rows: rows.map((r, i) => [r.label, `${writes[i]!.node ?? '?'} at epoch ${writes[i]!.epoch}`, String(writes[i]!.newerEpoch), r.where ?? '']),
    },
  };
}

function lossFinalReadsNote(check: Partial<CheckFile>): string {
  const loss = check.loss && !check.loss.crashed ? check.loss : undefined;
  if (!loss) return '';
  return ` The final reads, a second and independent count, see ${loss.lostAcked} lost (they cannot see a lost write that a later write overwrote).`;
}

/** What a non-linearizable timeline's colours mean (the legend's words). */
const NONLIN_GROUPS = { focus: 'the op that cannot be placed', lost: 'acknowledged, later lost' } as const;
const NONLIN_COLORS: Record<string, string> = {
  ok: '#2a9d8f',
  fail: '#e9c46a',
  info: '#e76f51',
  [NONLIN_GROUPS.lost]: '#4c78a8',
  [NONLIN_GROUPS.focus]: '#c1121f',
};

/**
 * The checker's sentence on an op that cannot be linearized, with its ending said for the count of
 * overlapping ops: "its 0 concurrent op(s)" read as if there were some whose order mattered
 * (check.json files written before the checker said it itself).
 */
export function linearizabilityText(message: string, concurrent: number): string {
  const ending = /,? whatever order its \d+ concurrent op\(s\) take effect in\.?$/;
  if (!ending.test(message)) return message;
  const tail =
    concurrent === 0
      ? ': no other operation overlaps it in time, so nothing can take effect between the ones before it and it.'
      : concurrent === 1
        ? ', whichever of it and the one operation overlapping it takes effect first.'
        : `, whatever order it and the ${concurrent} operations overlapping it take effect in.`;
  return message.replace(ending, tail);
}

/** A register value for a row label: strings bare, a cas's [expected, new] as "expected → new". */
function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 2) return `${valueText(v[0])} → ${valueText(v[1])}`;
  return JSON.stringify(v);
}

/** A value shortened for a timeline row label. */
function short(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 32 ? `${s.slice(0, 31)}…` : s;
}

/** A follower's replication lag at some moment, from the run's lag.jsonl (sampled four times a second). */
export interface LagAt {
  /** The node was the leader in the nearest sample: it has no lag of its own. */
  leader: boolean;
  records: number | null;
  /** null: the node did not know (it reports -1 before its first heartbeat from the leader). */
  ms: number | null;
  /** How far the sample was taken from the moment asked about (ms; negative: before it). */
  offsetMs: number;
}

/**
 * Nearest lag sample for a node at a time (ns since start). Who led comes from the nearest sample
 * of any follower (the lag is what the leader of the moment answered for); a node that was not the
 * leader then gets its own nearest sample, however far, with the distance given so a reader can
 * judge it.
 */
export function lagLookup(lines: Array<Record<string, unknown>>): (node: string | null, timeNs: number) => LagAt | undefined {
  const samples = lines
    .flatMap(({ time, follower, leader, lagRecords, lagMs }) =>
      typeof time === 'number' && typeof follower === 'string'
        ? [
            {
              time,
              leader: typeof leader === 'string' ? leader : undefined,
              follower,
              records: typeof lagRecords === 'number' ? lagRecords : null,
              ms: typeof lagMs === 'number' && lagMs >= 0 ? lagMs : null,
            },
          ]
        : [],
    )
    .sort((a, b) => a.time - b.time);
  const byFollower = new Map<string, typeof samples>();
  for (const x of samples) {
    const list = byFollower.get(x.follower);
    if (list) list.push(x);
    else byFollower.set(x.follower, [x]);
  }
  const nearest = <T extends { time: number }>(xs: T[], t: number): T | undefined => {
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid]!.time < t) lo = mid + 1;
      else hi = mid;
    }
    const after = xs[lo];
    const before = xs[lo - 1];
    if (!before) return after;
    if (!after) return before;
    return t - before.time <= after.time - t ? before : after;
  };
  return (node, timeNs) => {
    if (node === null) return undefined;
    const any = nearest(samples, timeNs);
    if (any && any.leader === node) return { leader: true, records: 0, ms: 0, offsetMs: (any.time - timeNs) / 1e6 };
    const own = nearest(byFollower.get(node) ?? [], timeNs);
    return own ? { leader: false, records: own.records, ms: own.ms, offsetMs: (own.time - timeNs) / 1e6 } : undefined;
  };
}

/**
 * "n2: 34 records, 120 ms behind (sampled 40 ms later)", "n1, the leader", "n2: no lag sample";
 * the amount in the system's lag unit ("bytes" for PostgreSQL and Redis).
 */
export function describeLag(node: string | null, lag: LagAt | undefined, unit: string | null = 'records'): string {
  if (node === null) return 'serving node not recorded';
  if (!lag) return `${node}: no lag sample`;
  const when = Math.abs(lag.offsetMs) < 0.5 ? 'sampled then' : `sampled ${Math.abs(lag.offsetMs).toFixed(0)} ms ${lag.offsetMs > 0 ? 'later' : 'earlier'}`;
  if (lag.leader) return `${node}, the leader (${when})`;
  return `${node}: ${amount(lag.records, unit)}, ${lag.ms === null ? '? ms' : `${lag.ms.toFixed(0)} ms`} behind (${when})`;
}

/** "34 records", "1 byte", "? bytes"; without a unit (the system gives no amount) "amount not measured". */
function amount(n: number | null, unit: string | null): string {
  if (unit === null) return 'amount not measured';
  const one = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  return n === null ? `? ${unit}` : `${n} ${n === 1 ? one : unit}`;
}

const GUARANTEE_TEXT: Record<SessionGuarantee, string> = {
  'read-your-writes': 'read-your-writes',
  'monotonic-reads': 'monotonic reads',
  'monotonic-writes': 'monotonic writes',
  'writes-follow-reads': 'writes-follow-reads',
};

/** Short names for timeline rows (the chart's caption spells them out). */
export const GUARANTEE_ABBR: Record<SessionGuarantee, string> = {
  'read-your-writes': 'RYW',
  'monotonic-reads': 'MR',
  'monotonic-writes': 'MW',
  'writes-follow-reads': 'WFR',
};

/** What the violating op fell short of, as the legend says it. */
const REQUIRED_ROLE: Record<SessionGuarantee, string> = {
  'read-your-writes': "the session's own write",
  'monotonic-reads': "the session's earlier read",
  'monotonic-writes': "the session's earlier write",
  'writes-follow-reads': "the session's earlier read",
};
const FELL_SHORT = { read: 'the read that fell behind it', write: 'the write ordered before it' };
/** Blues for what the session had been promised, reds for the op that broke it (and clear of the orange fault shading). */
const SESSION_ROLE_COLORS: Record<string, string> = {
  "the session's own write": '#1d6fa5',
  "the session's earlier read": '#5e9ccf',
  "the session's earlier write": '#264653',
  [FELL_SHORT.read]: '#c1121f',
  [FELL_SHORT.write]: '#7b2cbf',
};

/** A version as a cell: `"3-41" (lsn 310)`, or the key's initial state. */
function versionText(v: { value: unknown; lsn: number | null }): string {
  if (v.value === null && v.lsn === null) return 'initial (absent)';
  return `${JSON.stringify(v.value)}${v.lsn === null ? '' : ` (lsn ${v.lsn})`}`;
}

/**
 * Session-guarantee violations on the run's timeline: one row per violation holding the op that
 * set the bar (the session's own write, or its earlier read) and the op that fell below it, named
 * with the node that served it and that node's replication lag at the moment; and every listed
 * violation in a table (the checker lists the first 50; the title gives the whole count).
 */
function sessionAnomalies(paired: PairedHistory, sessions: SessionsCheck | undefined, lagAt: ReturnType<typeof lagLookup>, lagUnit: string | null): Anomaly[] {
  const history = paired.ops;
  if (!sessions) return [];
  const counts = SESSION_GUARANTEES.map((g) => [g, sessions.violations[g] ?? 0] as const);
  const total = counts.reduce((a, [, n]) => a + n, 0);
  if (total === 0) return [];
  const end = history.length ? history[history.length - 1]!.time / NS : 0;
  const pairByInvoke = new Map(paired.pairs.map((p) => [p.invoke.index, p]));
  const span = (index: number) => {
    const p = pairByInvoke.get(index);
    return { from: p ? p.invoke.time / NS : 0, to: p?.complete ? p.complete.time / NS : end, p };
  };
  const listed = sessions.violationList;
  const ops: TimelineOp[] = [];
  const rows: string[][] = [];
  listed.forEach((v, i) => {
    const before = span(v.requiredBy);
    const after = span(v.index);
    const done = after.p?.complete;
    const lagTime = done ? done.time : v.time;
    const lagged = lagAt(v.node, lagTime);
    const lag = describeLag(v.node, lagged, lagUnit);
    const earlierOp = before.p?.invoke;
    const earlierText = earlierOp
      ? earlierOp.f === 'read'
        ? `read ${earlierOp.key ?? ''} → ${versionText(v.expected)}`
        : `write ${earlierOp.key ?? ''} = ${versionText(v.expected)}`
      : `#${v.requiredBy}`;
    const laterText = v.f === 'read' ? `read ${v.key} → ${versionText(v.got)}` : `write ${v.key} = ${versionText(v.got)}`;
    const lagShort = !lagged
      ? 'no lag sample'
      : lagged.leader
        ? 'the leader'
        : `${amount(lagged.records, lagUnit)}, ${lagged.ms === null ? '?' : lagged.ms.toFixed(0)} ms behind`;
    // Short enough for the axis; the node and its lag are written beside the read itself.
    const row = `${i + 1}. ${GUARANTEE_ABBR[v.kind]} s${v.session} ${v.key}`;
    ops.push({
      row,
      process: String(v.session),
      from: before.from,
      to: before.to,
      type: 'ok',
      label: `#${v.requiredBy} ${earlierText}`,
      focus: false,
      group: REQUIRED_ROLE[v.kind],
      where: before.p?.complete?.node ? `${earlierOp?.f === 'read' ? 'served' : 'acknowledged'} by ${before.p.complete.node}` : '',
    });
    ops.push({
      row,
      process: String(v.session),
      from: after.from,
      to: after.to,
      type: done?.type ?? 'info',
      label: `#${v.index} ${laterText}`,
      focus: true,
      group: FELL_SHORT[v.f],
      where: lag,
      note: `${v.node ?? '?'}: ${lagShort}`,
    });
    rows.push([
      GUARANTEE_TEXT[v.kind],
      `s${v.session}`,
      v.key,
      `#${v.requiredBy} ${earlierText}`,
      `#${v.index} ${laterText}`,
      (after.from - before.to >= 0 ? (after.from - before.to) * 1000 : 0).toFixed(1),
      v.policy ?? '–',
      v.token === null ? '–' : String(v.token),
      v.servedLsn === null ? '–' : String(v.servedLsn),
      lag,
    ]);
  });
  const byKind = counts
    .filter(([, n]) => n > 0)
    .map(([g, n]) => `${GUARANTEE_TEXT[g]} ${n}`)
    .join(', ');
  const more = total > listed.length ? ` The checker lists the first ${listed.length} of the ${total}; they are all below.` : '';
  return [
    {
      kind: 'session',
      title: `${total} session-guarantee violation(s): ${byKind}`,
      text: `A client session saw less than it had already seen or written. Each row is one violation: the session's earlier op that set the bar (its own acknowledged write, or a version it read), then the op that fell below it, with the node that served it and that node's replication lag at the moment (the nearest sample of lag.jsonl). In the table, "ms after" is how long after the earlier op completed the later one was sent.${more}`,
      ops: ops.slice(0, 2 * Math.floor(TIMELINE_ROWS / 2)),
      table: {
        header: ['guarantee', 'session', 'key', 'required by', 'violating op', 'ms after', 'policy', 'token', 'served lsn', 'serving node and its lag'],
        rows,
      },
      tableNote: total > listed.length ? `the first ${listed.length} of ${total}, as the checker lists them` : undefined,
      tooltipTitles: { group: 'role', where: 'node (and its lag)' },
      groupColors: SESSION_ROLE_COLORS,
    },
  ];
}

/** A session check that crashed is said so in its run, not shown as a run without violations. */
function sessionCrash(check: Partial<CheckFile>): Anomaly[] {
  const se = check.sessions;
  if (!se?.crashed) return [];
  return [{ kind: 'session', title: 'Session guarantees not judged: the checker failed', text: se.error, ops: [] }];
}

const EMPTY_STALE: StaleFigures = { judged: 0, versions: { p50: 0, p99: 0, max: 0 }, ms: { p50: 0, p99: 0, max: 0 } };

/** Staleness figures over several runs: medians of their quantiles, the max of their maxima. */
function mergeStale(
  xs: Array<{ judged: number; versionsBehind: { p50: number; p99: number; max: number }; msBehind: { p50: number; p99: number; max: number } }>,
): StaleFigures {
  const judged = xs.filter((x) => x.judged > 0);
  if (!judged.length) return { ...EMPTY_STALE, judged: 0 };
  const med = (f: (x: (typeof judged)[number]) => number) => medianOf(judged.map(f)) ?? 0;
  return {
    judged: judged.reduce((a, x) => a + x.judged, 0),
    versions: { p50: med((x) => x.versionsBehind.p50), p99: med((x) => x.versionsBehind.p99), max: Math.max(...judged.map((x) => x.versionsBehind.max)) },
    ms: { p50: med((x) => x.msBehind.p50), p99: med((x) => x.msBehind.p99), max: Math.max(...judged.map((x) => x.msBehind.max)) },
  };
}

/** The read side per mode, for modes with ok reads the session checker looked at. */
function modeReads(results: SuiteResults, runs: RunData[]): ModeReads[] {
  const out: ModeReads[] = [];
  for (const m of results.modes) {
    const all = runs.filter((r) => r.result.mode === m.name);
    const rs = all.filter((r) => r.sessions && r.sessions.okReads > 0);
    if (!rs.length) continue;
    const se = rs.map((r) => r.sessions!);
    const okReads = se.reduce((a, s) => a + s.okReads, 0);
    // Follower share over all the mode's reads: the checker's counts where it has them, else each run's share.
    const placed = rs.map((r) => r.readPlacement).filter((p): p is PlacementCheck => !!p && p.okReads > 0);
    const followerShare = placed.length
      ? placed.reduce((a, p) => a + p.followerReads, 0) / placed.reduce((a, p) => a + p.okReads, 0)
      : medianOf(rs.map((r) => r.result.followerReadShare));
    const violations = Object.fromEntries(SESSION_GUARANTEES.map((g) => [g, se.reduce((a, s) => a + (s.violations[g] ?? 0), 0)])) as Record<
      SessionGuarantee,
      number
    >;
    const nodeNames = [...new Set(se.flatMap((s) => Object.keys(s.perNode)))].sort();
    const nodes = nodeNames.map((node): ReadNode => {
      const per = se.map((s) => s.perNode[node]).filter((x) => x !== undefined);
      const reads = per.reduce((a, x) => a + x.okReads, 0);
      return { node, okReads: reads, share: okReads > 0 ? reads / okReads : 0, stale: mergeStale(per) };
    });
    out.push({
      mode: m.name,
      runs: rs.length,
      seeds: all.length,
      policies: [...new Set(se.flatMap((s) => Object.keys(s.perPolicy)))].sort(),
      okReads,
      followerShare,
      readP50Ms: medianOf(rs.map((r) => r.result.readP50Ms)),
      readP99Ms: medianOf(rs.map((r) => r.result.readP99Ms)),
      violations,
      stale: mergeStale(se.map((s) => s.staleness)),
      nodes,
    });
  }
  return out;
}

/**
 * The run's reads of lost writes and, where the system kept binlog evidence (MariaDB), where each
 * write they read went, and where the sampled lost acknowledged writes went. A set element is
 * stored under the workload's key prefix with the value "1"; a register value under its key.
 */
async function binlogWhereabouts(
  dir: string,
  run: Record<string, unknown>,
  check: Partial<CheckFile>,
): Promise<Pick<RunData, 'lostReads' | 'lostWritesWhere'>> {
  const reads = check.lostReads && !check.lostReads.crashed ? check.lostReads.reads : [];
  const ev = await readBinlogEvidence(dir);
  if (!ev) return { lostReads: reads };
  const w = isRecord(run.workload) ? run.workload : {};
  const isSet = w.workload === 'set';
  const prefix = typeof w.keyPrefix === 'string' ? w.keyPrefix : '';
  const stored = (key: string, value: unknown): [string, string] => (isSet ? [`${prefix}${String(value)}`, '1'] : [key, String(value)]);
  const samples = check.loss && !check.loss.crashed ? check.loss.lostSamples : [];
  const where: Record<string, number> = {};
  for (const s of samples) {
    const [k, v] = isSet ? stored('', s) : isRecord(s) ? [String(s.key), String(s.value)] : ['', ''];
    const text = whereWent(ev, k, v, { gtids: false });
    where[text] = (where[text] ?? 0) + 1;
  }
  return {
    lostReads: reads.map((r) => ({ ...r, where: whereWent(ev, ...stored(r.key, r.value)) })),
    ...(samples.length ? { lostWritesWhere: { sampled: samples.length, where } } : {}),
  };
}
