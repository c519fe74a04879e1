/**
 * Everything the report shows, read back from a run folder's files alone (results.json and each
 * run's history.jsonl, lag.jsonl, events.jsonl, check.json, rewound-*.jsonl), so `replab report
 * RUN_DIR` can rebuild the HTML long after the run.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type CheckFile, readCheckFile } from '../checker/check-file.js';
import { isClientProcess, type Op, pairOps, WRITE_FS } from '../history/op.js';
import { loadHistory } from '../history/reader.js';
import { parseJsonLines } from '../lib/json-lines.js';
import { isRecord } from '../lib/schema.js';
import type { SuiteResults } from '../suite/results.js';
import { readResults } from '../suite/results.js';
import type { RunResult } from '../suite/run-one.js';

export interface TimePoint {
  t: number;
  [series: string]: number | string | null;
}

export interface Window {
  fault: string;
  from: number;
  to: number;
  detail: string;
}

export interface TimelineOp {
  /** The op's own row on the timeline (unique within an anomaly), so labels never overlap. */
  row: string;
  process: string;
  from: number;
  to: number;
  type: string;
  label: string;
  focus: boolean;
  /** Colour group (e.g. which node and epoch acknowledged it). */
  group?: string;
  /** Where its record went, for lost and split-brain writes. */
  where?: string;
}

export interface Anomaly {
  kind: 'non-linearizable' | 'lost' | 'split-brain';
  title: string;
  text: string;
  /** Ops on a timeline (seconds since start), one row each. */
  ops: TimelineOp[];
  /** The same ops as a table (every one, also those the timeline leaves out). */
  table?: { header: string[]; rows: string[][] };
}

export interface RunData {
  result: RunResult;
  latency: TimePoint[];
  throughput: TimePoint[];
  lag: TimePoint[];
  faults: Window[];
  events: Array<{ t: number; event: string; detail: string }>;
  outage: { from: number; to: number } | null;
  /** Per failover: the gap between acknowledged writes around the promotion (seconds). */
  outages: Array<{ from: number; to: number; node: string }>;
  anomalies: Anomaly[];
  rewound: Record<string, number>;
  failovers: Array<{ node: string; epoch: number; detectionMs: number; promotionMs: number; outageMs: number | null }>;
}

export interface ReportData {
  results: SuiteResults;
  runs: RunData[];
}

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
    return { t: (l.time as number) / NS, follower: String(l.follower), leader: String(l.leader ?? ''), period, records: l.lagRecords as number };
  });
}

export async function loadReportData(runDir: string): Promise<ReportData> {
  const results = await readResults(runDir);
  const runs: RunData[] = [];
  for (const r of results.runs) runs.push(await loadRun(path.join(runDir, r.dir), r));
  return { results, runs };
}

async function loadRun(dir: string, result: RunResult): Promise<RunData> {
  const history = await loadHistory(path.join(dir, 'history.jsonl'));
  const run = await readJsonObject(path.join(dir, 'run.json'));
  const startedAtMs = typeof run.startedAtMs === 'number' ? run.startedAtMs : 0;
  const check: Partial<CheckFile> = (await readCheckFile(path.join(dir, 'check.json'))) ?? {};
  const { pairs } = pairOps(history);
  const bucketSec = Math.max(0.5, result.durationSec / 60);
  const buckets = new Map<number, { lat: number[]; ok: number; fail: number; info: number }>();
  for (const p of pairs) {
    if (!isClientProcess(p.invoke.process) || p.invoke.f === 'final-read' || !p.complete) continue;
    const b = Math.floor(p.complete.time / NS / bucketSec);
    const e = buckets.get(b) ?? { lat: [], ok: 0, fail: 0, info: 0 };
    e[p.complete.type as 'ok' | 'fail' | 'info']++;
    if (p.complete.type === 'ok' && WRITE_FS.has(p.invoke.f)) e.lat.push((p.complete.time - p.invoke.time) / 1e6);
    buckets.set(b, e);
  }
  const latency: TimePoint[] = [];
  const throughput: TimePoint[] = [];
  for (const [b, e] of [...buckets].sort((x, y) => x[0] - y[0])) {
    const t = b * bucketSec;
    const s = e.lat.sort((x, y) => x - y);
    // Per bucket only p50 and p99: a bucket holds tens of writes, too few for a meaningful p99.9.
    if (s.length)
      for (const [q, name] of [
        [0.5, 'p50'],
        [0.99, 'p99'],
      ] as const)
        latency.push({ t, quantile: name, ms: quantile(s, q) });
    for (const type of ['ok', 'fail', 'info'] as const) throughput.push({ t, type, opsPerSec: e[type] / bucketSec });
  }
  const lag = lagPoints(await readJsonl(path.join(dir, 'lag.jsonl')));
  const faults: Window[] = [];
  const open = new Map<string, { t: number; detail: string }[]>();
  const end = history.length ? history[history.length - 1]!.time / NS : result.durationSec;
  for (const op of history) {
    if (op.process !== 'nemesis') continue;
    const fault = op.f.replace(/^(start|stop)-/, '');
    if (op.f.startsWith('start-')) open.set(fault, [...(open.get(fault) ?? []), { t: op.time / NS, detail: describeValue(op.value) }]);
    else {
      const started = open.get(fault)?.shift();
      if (started) faults.push({ fault, from: started.t, to: op.time / NS, detail: started.detail });
    }
  }
  for (const [fault, rest] of open) for (const s of rest) faults.push({ fault, from: s.t, to: end, detail: s.detail });
  const startMs = startedAtMs;
  const monitorEvents = await readJsonl(path.join(dir, 'events.jsonl'));
  const events = monitorEvents
    .filter(
      (e) =>
        startMs &&
        (e.timeMs as number) >= startMs &&
        ['leader-declared-dead', 'promoted', 'failover-blocked', 'switchover', 'repointed'].includes(String(e.event)),
    )
    .map((e) => ({
      t: ((e.timeMs as number) - startMs) / 1000,
      event: String(e.event),
      detail: e.node ? `${String(e.node)}${e.epoch ? ` epoch ${String(e.epoch)}` : ''}` : String(e.why ?? e.leader ?? ''),
    }));
  // Each failover's write outage: the gap between acknowledged writes that spans its promotion.
  const okWrites = pairs
    .filter((p) => isClientProcess(p.invoke.process) && WRITE_FS.has(p.invoke.f) && p.complete?.type === 'ok')
    .map((p) => p.complete!.time / NS)
    .sort((a, b) => a - b);
  const outages: RunData['outages'] = [];
  const failovers = monitorEvents
    .filter((e) => e.event === 'promoted' && startMs && (e.timeMs as number) >= startMs)
    .map((e) => {
      const at = ((e.timeMs as number) - startMs) / 1000;
      const after = okWrites.findIndex((w) => w >= at);
      let outageMs: number | null = null;
      if (after > 0) {
        outages.push({ from: okWrites[after - 1]!, to: okWrites[after]!, node: String(e.node) });
        outageMs = Math.round((okWrites[after]! - okWrites[after - 1]!) * 1000);
      }
      return { node: String(e.node), epoch: e.epoch as number, detectionMs: e.detectionMs as number, promotionMs: e.promotionMs as number, outageMs };
    });
  const ow = check.availability && !check.availability.crashed ? check.availability.outageWindow : null;
  const rewound: Record<string, number> = {};
  for (const f of await fsp.readdir(dir)) if (f.startsWith('rewound-')) rewound[f.slice(8, -6)] = (await readJsonl(path.join(dir, f))).length;
  return {
    result,
    latency,
    throughput,
    lag,
    faults,
    events,
    outage: ow ? { from: ow.fromTime / NS, to: ow.toTime / NS } : null,
    outages,
    anomalies: anomalies(history, check),
    rewound,
    failovers,
  };
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  if (o.isolate) parts.push(`isolate ${String(o.isolate)}`);
  if (o.shape && o.shape !== 'isolate') parts.push(String(o.shape));
  if (o.nodes) parts.push(String(o.nodes));
  if (o.latency !== undefined) parts.push(`${String(o.latency)} ms`);
  if (o.rate !== undefined) parts.push(`${String(o.rate)} KB/s`);
  if (o.mode) parts.push(String(o.mode));
  return parts.join(', ');
}

/** A timeline shows at most this many rows; the table beside it lists every op. */
export const TIMELINE_ROWS = 150;

function anomalies(history: Op[], check: Partial<CheckFile>): Anomaly[] {
  const out: Anomaly[] = [];
  const byIndex = new Map(history.map((op) => [op.index, op]));
  const t = (i: number | null | undefined) => (i === null || i === undefined ? undefined : byIndex.get(i)!.time / NS);
  const end = history.length ? history[history.length - 1]!.time / NS : 0;
  const lin = check.linearizable && !check.linearizable.crashed ? check.linearizable : undefined;
  for (const f of (lin?.failures ?? []).slice(0, 5)) {
    const ops = [...f.prefixTail, ...f.concurrent, f.op];
    const seen = new Set<number>();
    out.push({
      kind: 'non-linearizable',
      title: `key ${f.key}: not linearizable`,
      text: f.message,
      ops: ops
        .filter((o) => !seen.has(o.invokeIndex) && seen.add(o.invokeIndex))
        .sort((a, b) => a.invokeIndex - b.invokeIndex)
        .map((o) => ({
          row: `#${o.invokeIndex} p${String(o.process)} ${o.f} ${short(o.value)}`,
          process: String(o.process),
          from: t(o.invokeIndex)!,
          to: t(o.completeIndex) ?? end,
          type: o.type,
          label: `${o.f} ${JSON.stringify(o.value)}`,
          focus: o.invokeIndex === f.op.invokeIndex,
        })),
    });
  }
  const ev = check.evidence && !check.evidence.crashed ? check.evidence : undefined;
  const pairs = pairOps(history).pairs;
  const pairByInvoke = new Map(pairs.map((p) => [p.invoke.index, p]));
  const pairByComplete = new Map(pairs.filter((p) => p.complete).map((p) => [p.complete!.index, p]));
  const lostByInvoke = new Map((ev?.lost ?? []).map((l) => [l.invokeIndex, l]));
  if (ev && ev.lost.length > 0) {
    const rows = ev.lost.map((l): TimelineOp => {
      const p = pairByInvoke.get(l.invokeIndex);
      const acked = `${l.node ?? '?'} @ epoch ${l.epoch ?? '?'}`;
      return {
        row: `${l.key} = ${short(l.value)} (p${String(l.process)} ${l.f})`,
        process: String(l.process),
        from: p ? p.invoke.time / NS : 0,
        to: p?.complete ? p.complete.time / NS : end,
        type: 'ok',
        label: `${l.f} ${l.key} = ${l.value}`,
        focus: true,
        group: `acknowledged by ${acked}`,
        where: l.where,
      };
    });
    out.push({
      kind: 'lost',
      title: `${ev.lostAcked} acknowledged write(s) lost: absent from ${ev.finalLeader}'s final log`,
      text: `${ev.message}. Each lost write below: the client's operation, the node and epoch that acknowledged it, and where its record went.${lossFinalReadsNote(check)}`,
      ops: rows.slice(0, TIMELINE_ROWS),
      table: {
        header: ['client op', 'key', 'value', 'acknowledged by', 'lsn', 'latency ms', 'where it went'],
        rows: ev.lost.map((l) => {
          const p = pairByInvoke.get(l.invokeIndex);
          const ms = p?.complete ? ((p.complete.time - p.invoke.time) / 1e6).toFixed(1) : '–';
          return [`p${String(l.process)} ${l.f}`, l.key, l.value, `${l.node ?? '?'} at epoch ${l.epoch ?? '?'}`, String(l.lsn ?? '–'), ms, l.where];
        }),
      },
    });
  } else if (check.loss && !check.loss.crashed && check.loss.lostAcked > 0 && !ev) {
    const loss = check.loss;
    out.push({
      kind: 'lost',
      title: `${loss.lostAcked} acknowledged write(s) lost (final reads; no log evidence)`,
      text: `${loss.message} Examples: ${JSON.stringify(loss.lostSamples.slice(0, 10))}.`,
      ops: [],
    });
  }
  const sb = check.splitBrain;
  if (sb && sb.splitBrainWrites > 0) {
    const writes = sb.writes ?? sb.samples;
    const rows = writes.map((w): TimelineOp => {
      const p = pairByComplete.get(w.index);
      const lost = p ? lostByInvoke.get(p.invoke.index) : undefined;
      const where = !ev ? 'no log evidence' : lost ? lost.where : `kept: in ${ev.finalLeader}'s final log`;
      const value = p ? JSON.stringify(p.invoke.f === 'cas' && Array.isArray(p.invoke.value) ? p.invoke.value[1] : p.invoke.value) : '?';
      return {
        row: `#${w.index} ${w.key ?? ''} = ${short(value)} (${w.node ?? '?'})`,
        process: String(p?.invoke.process ?? '?'),
        from: p ? p.invoke.time / NS : (t(w.index) ?? 0),
        to: t(w.index) ?? end,
        type: 'ok',
        label: `${p?.invoke.f ?? 'write'} ${w.key ?? ''} = ${value}`,
        focus: true,
        group: `acknowledged by ${w.node ?? '?'} @ epoch ${w.epoch}`,
        where,
      };
    });
    out.push({
      kind: 'split-brain',
      title: `${sb.splitBrainWrites} write(s) acknowledged by a superseded leader`,
      text: `Each was acknowledged at an older epoch after a write of a newer epoch had already been acknowledged: two leaders accepted writes at once. Below: the client's operation, the node and epoch that acknowledged it, and where its record went.`,
      ops: rows.slice(0, TIMELINE_ROWS),
      table: {
        header: ['client op', 'acknowledged by', 'newer epoch already acknowledging', 'where it went'],
        rows: rows.map((r, i) => [r.label, `${writes[i]!.node ?? '?'} at epoch ${writes[i]!.epoch}`, String(writes[i]!.newerEpoch), r.where ?? '']),
      },
    });
  }
  return out;
}

function lossFinalReadsNote(check: Partial<CheckFile>): string {
  const loss = check.loss && !check.loss.crashed ? check.loss : undefined;
  if (!loss) return '';
  return ` The final reads, a second and independent count, see ${loss.lostAcked} lost (they cannot see a lost write that a later write overwrote).`;
}

/** A value shortened for a timeline row label. */
function short(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 24 ? `${s.slice(0, 23)}…` : s;
}
