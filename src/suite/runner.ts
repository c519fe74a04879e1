/**
 * `replab run SUITE`: every mode × seed of a suite, one after another (a 2-core machine cannot
 * run two clusters fairly side by side), into `reports/<timestamp>-<suite>/`, then results.json,
 * the HTML report, and `reports/latest` pointing at the folder.
 *
 * results.json (stable field names, read by the report and by CI):
 *   {"suite", "file", "startedAt", "finishedAt", "passed", "modes": [...],
 *    "runs": [{"mode", "seed", "nemesis", "acked", "lostAcked", "recovered", "linearizable",
 *              "splitBrainWrites", "p50WriteMs", "p99WriteMs", "outageMs", "passed", "violations", ...}]}
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { explainVerdict } from './gate.js';
import { gitInfo, machineFingerprint } from './provenance.js';
import type { RunResult } from './results.js';
import { measuredText, RESULTS_FILE, type SuiteResults } from './results.js';
import { type RunProgress, runOne } from './run-one.js';
import { type Shard, shardPairs, suiteDigest } from './shard.js';
import type { Suite } from './spec.js';
import { explainMode, type ModeSummary, noRunsText, summarizeModes, verdictCell } from './summary.js';

export type { SuiteResults };
export { type ModeSummary, RESULTS_FILE, summarizeModes };

export function runFolderName(suite: string, at = new Date()): string {
  return `${at.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19)}-${suite}`;
}

export async function runSuite(
  suite: Suite,
  options: {
    reportsRoot: string;
    shard?: Shard;
    /** `step` names the run and phase the line is about: it changes when the line says something new, not when only the clock moved. */
    onProgress?: (line: string, final: boolean, step: string) => void;
  },
): Promise<{ dir: string; results: SuiteResults }> {
  const started = new Date();
  const shard = options.shard;
  const dir = path.resolve(options.reportsRoot, `${runFolderName(suite.name, started)}${shard ? `-shard-${shard.index}of${shard.count}` : ''}`);
  await fsp.mkdir(dir, { recursive: true });
  const pairs = shardPairs(suite, shard);
  const total = pairs.length;
  const runs: RunResult[] = [];
  let n = 0;
  const machine = machineFingerprint();
  const git = gitInfo();
  const save = async (finished: boolean) => {
    const results: SuiteResults = {
      suite: suite.name,
      file: suite.file,
      description: suite.description,
      startedAt: started.toISOString(),
      finishedAt: finished ? new Date().toISOString() : '',
      durationSec: suite.durationSec,
      workload: `${suite.workload.workload}: ${suite.workload.concurrency} clients, ${suite.workload.keys} keys, ${readsText(suite)}`,
      modes: suite.modes.map((m) => ({
        name: m.name,
        system: m.cluster.system,
        replication: { ...m.cluster.replication },
        fencing: m.cluster.fencing,
        workload: m.workload.workload,
        reads: m.workload.reads,
        nemesis: m.nemesisText,
        gate: m.gate.map((g) => g.text),
        control: m.control,
        description: m.description,
        settingsText: m.settingsText,
        lagUnit: m.lagUnit,
        lagMsStep: m.lagMsStep,
      })),
      runs,
      passed: runs.length === total && runs.every((r) => r.passed),
      machine,
      git,
      suiteDigest: suiteDigest(suite),
      shard: shard ? { ...shard, pairs: suite.modes.length * suite.seeds.length, seeds: suite.seeds } : undefined,
    };
    await fsp.writeFile(path.join(dir, RESULTS_FILE), JSON.stringify(results, null, 2));
    return results;
  };
  const suiteStart = Date.now();
  for (const { mode, seed } of pairs) {
    n++;
    const t0 = Date.now();
    let runningAt: number | undefined;
    let last: RunProgress = { phase: 'starting' };
    const finished = n - 1;
    const label = () => {
      const eta = estimateRemainingMs({
        now: Date.now(),
        suiteStartMs: suiteStart,
        runStartMs: t0,
        runningAtMs: runningAt,
        finished,
        total,
        durationSec: suite.durationSec,
      });
      return `[${n}/${total} · ETA ${formatDuration(eta)}] ${mode.name} seed ${seed}`;
    };
    const emit = (p: RunProgress) => {
      last = p;
      if (p.phase !== 'starting' && runningAt === undefined) runningAt = Date.now();
      const secs = ((Date.now() - t0) / 1000).toFixed(0);
      const faults = p.faults?.length ? ` · faults: ${p.faults.join(', ')}` : '';
      options.onProgress?.(
        `${label()} · ${p.phase} · ${secs} s${p.ops !== undefined ? ` · ${p.ops} history lines` : ''}${faults}`,
        p.phase === 'done',
        `${n} ${p.phase}${faults}`,
      );
    };
    // Phases like starting and checking report nothing for seconds: the line is redrawn every
    // second anyway so the elapsed time and the ETA move with the clock.
    const tick = setInterval(() => {
      if (last.phase !== 'done') emit(last);
    }, 1000);
    tick.unref();
    try {
      runs.push(await runOne({ suite, mode, seed, reportDir: dir, onProgress: emit }));
    } catch (e: unknown) {
      // The folder still says what it holds: the runs so far, unfinished (the failed run's
      // run.json says what failed).
      await save(false).catch(() => {});
      throw e;
    } finally {
      clearInterval(tick);
    }
    const r = runs[runs.length - 1]!;
    options.onProgress?.(`[${n}/${total}] ${mode.name} seed ${seed} · ${runVerdictLine(r)}`, true, `${n} verdict`);
    await save(false);
  }
  const results = await save(true);
  const latest = path.join(path.resolve(options.reportsRoot), 'latest');
  await fsp.rm(latest, { force: true });
  await fsp.symlink(path.basename(dir), latest).catch(() => {});
  return { dir, results };
}

/**
 * The line printed when a run finishes: its verdict with what the gate checked and what it left
 * unjudged ("gate: split-brain writes == 0 ✓ — not gated: lost writes 106, linearizable false").
 */
export function runVerdictLine(r: RunResult): string {
  return explainVerdict(r).line;
}

/**
 * Milliseconds left in the suite, from what is known at `now`. Once a run has finished, every run
 * is taken to last as long as the finished ones did on average; before that, as long as the
 * suite's durationSec plus the current run's start-up (until its workload began, or until now
 * while it is still starting) taken twice, for the start before and the heal, final reads and
 * check after. The current run's share shrinks with the clock and never goes below zero, so the
 * figure counts down during a run instead of waiting for it to finish.
 */
export function estimateRemainingMs(o: {
  now: number;
  suiteStartMs: number;
  /** When the current run started. */
  runStartMs: number;
  /** When the current run's workload began, if it has. */
  runningAtMs?: number;
  /** Runs finished before the current one. */
  finished: number;
  total: number;
  durationSec: number;
}): number {
  const elapsed = Math.max(0, o.now - o.runStartMs);
  let perRun: number;
  if (o.finished > 0) perRun = (o.runStartMs - o.suiteStartMs) / o.finished;
  else {
    const startup = o.runningAtMs !== undefined ? o.runningAtMs - o.runStartMs : elapsed;
    perRun = o.durationSec * 1000 + 2 * startup;
  }
  const after = Math.max(0, o.total - o.finished - 1);
  return Math.max(0, perRun - elapsed) + perRun * after;
}

export function formatSummaryTable(results: SuiteResults): string {
  const header = [
    'mode',
    'ops/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'acked',
    'lost',
    'info resolved/open',
    'linearizable',
    'split-brain',
    'outage ms',
    'stale reads',
    'max stale ms',
    'gate',
  ];
  const fmt = (v: number | null, d = 1) => (v === null ? '-' : v.toFixed(d));
  const rows = summarizeModes(results).map((s) => {
    const e = explainMode(results, s.mode);
    // No figure for a mode that did not run here (0 ops/s and "0 lost" would read as measured).
    if (s.runs === 0) return [s.mode + (s.control ? ' (control)' : ''), ...header.slice(1, -1).map(() => '-'), noRunsText(results)];
    return [
      s.mode + (s.control ? ' (control)' : ''),
      s.throughput.toFixed(0),
      fmt(s.p50WriteMs),
      fmt(s.p99WriteMs),
      fmt(s.p999WriteMs),
      String(s.acked),
      (s.lostAcked === null ? '-' : String(s.lostAcked)) + (s.lossUnknown ? ` (+${s.lossUnknown}?)` : ''),
      `${s.infoResolved}/${s.infoOpen}`,
      String(s.linearizable ?? '-'),
      measuredText(s.splitBrainWrites),
      s.outageMs.toFixed(0),
      String(s.staleReads),
      s.staleReads ? s.maxStaleMs.toFixed(0) : '-',
      e ? verdictCell(e) : noRunsText(results),
    ];
  });
  // The gate cell is text, not a figure: it reads better ragged-right.
  return alignTable([header, ...rows], new Set([header.length - 1]));
}

/**
 * One line per mode under the table: the mode's verdict sentence, so "all invariants hold" is
 * never read without the invariants it means ("  async  gate: split-brain writes == 0 ✓ — not
 * gated: lost writes 106, linearizable false").
 */
export function formatGateLines(results: SuiteResults): string {
  const rows = results.modes.flatMap((m) => {
    const e = explainMode(results, m.name);
    return e ? [[m.name, e.line]] : [];
  });
  const width = Math.max(0, ...rows.map((r) => r[0]!.length));
  return rows.map(([name, line]) => `  ${name!.padEnd(width)}  ${line}`).join('\n');
}

/**
 * The read side per mode, when some run measured it (a session workload, or reads on followers):
 * the policy, the followers' share of reads, read p99, staleness p99, and the session guarantees
 * broken. Counts add up over seeds; shares and quantiles are the median of the seeds'.
 */
export function formatReadTable(results: SuiteResults): string | undefined {
  const measured = results.runs.filter((r) => r.sessionViolations !== null || r.followerReadShare !== null);
  if (!measured.some((r) => (r.followerReadShare ?? 0) > 0 || (r.sessionViolations ?? 0) > 0 || r.readYourWritesViolations !== null)) return undefined;
  const header = ['mode', 'reads', 'from followers', 'read p99 ms', 'stale p99 ms', 'read-your-writes', 'monotonic reads', 'other session'];
  const mid = (xs: Array<number | null>) => {
    const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)]! : null;
  };
  const sum = (xs: Array<number | null>) => (xs.every((x) => x === null) ? null : xs.reduce<number>((a, x) => a + (x ?? 0), 0));
  const fmt = (v: number | null, d = 0, suffix = '') => (v === null ? '-' : `${v.toFixed(d)}${suffix}`);
  const rows = results.modes.map((m) => {
    const runs = measured.filter((r) => r.mode === m.name);
    const share = mid(runs.map((r) => r.followerReadShare));
    return [
      m.name + (m.control ? ' (control)' : ''),
      m.reads ?? '-',
      share === null ? '-' : `${(share * 100).toFixed(0)}%`,
      fmt(mid(runs.map((r) => r.readP99Ms)), 1),
      fmt(mid(runs.map((r) => r.p99StaleMs)), 0),
      fmt(sum(runs.map((r) => r.readYourWritesViolations))),
      fmt(sum(runs.map((r) => r.monotonicReadViolations))),
      fmt(sum(runs.map((r) => (r.monotonicWriteViolations === null ? null : r.monotonicWriteViolations + (r.writesFollowReadsViolations ?? 0))))),
    ];
  });
  return alignTable([header, ...rows]);
}

/** "reads: session", or "reads per mode" when the modes route reads differently. */
function readsText(suite: Suite): string {
  const policies = new Set(suite.modes.map((m) => m.workload.reads));
  return policies.size === 1 ? `reads: ${[...policies][0]}` : `reads per mode (${[...policies].join(', ')})`;
}

/** Columns right-aligned (figures) except the first and those in `left`; trailing spaces dropped. */
function alignTable(all: string[][], left: ReadonlySet<number> = new Set()): string {
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === 0 || left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
