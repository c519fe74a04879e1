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
import { runOne, type RunProgress, type RunResult } from './run-one.js';
import type { Suite } from './spec.js';

export interface SuiteResults {
  suite: string;
  file: string;
  description?: string;
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  workload: string;
  modes: Array<{ name: string; system?: string; replication: Record<string, unknown>; fencing: string; workload: string; nemesis: string; gate: string[]; control: boolean; description?: string }>;
  runs: RunResult[];
  passed: boolean;
}

export const RESULTS_FILE = 'results.json';

export function runFolderName(suite: string, at = new Date()): string {
  return `${at.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19)}-${suite}`;
}

export async function runSuite(suite: Suite, options: { reportsRoot: string; onProgress?: (line: string, final: boolean) => void }): Promise<{ dir: string; results: SuiteResults }> {
  const started = new Date();
  const dir = path.resolve(options.reportsRoot, runFolderName(suite.name, started));
  await fsp.mkdir(dir, { recursive: true });
  const total = suite.modes.length * suite.seeds.length;
  const runs: RunResult[] = [];
  let n = 0;
  const save = async (finished: boolean) => {
    const results: SuiteResults = {
      suite: suite.name,
      file: suite.file,
      description: suite.description,
      startedAt: started.toISOString(),
      finishedAt: finished ? new Date().toISOString() : '',
      durationSec: suite.durationSec,
      workload: `${suite.workload.workload}: ${suite.workload.concurrency} clients, ${suite.workload.keys} keys, reads from ${suite.workload.reads}`,
      modes: suite.modes.map((m) => ({ name: m.name, system: m.cluster.system, replication: { ...m.cluster.replication }, fencing: m.cluster.fencing, workload: m.workload.workload, nemesis: m.nemesisText, gate: m.gate.map((g) => g.text), control: m.control, description: m.description })),
      runs,
      passed: runs.length === total && runs.every((r) => r.passed),
    };
    await fsp.writeFile(path.join(dir, RESULTS_FILE), JSON.stringify(results, null, 2));
    return results;
  };
  for (const mode of suite.modes) {
    for (const seed of suite.seeds) {
      n++;
      const t0 = Date.now();
      const label = `[${n}/${total}] ${mode.name} seed ${seed}`;
      const onProgress = (p: RunProgress) => {
        const secs = ((Date.now() - t0) / 1000).toFixed(0);
        const faults = p.faults && p.faults.length ? ` · faults: ${p.faults.join(', ')}` : '';
        options.onProgress?.(`${label} · ${p.phase} · ${secs} s${p.ops !== undefined ? ` · ${p.ops} history lines` : ''}${faults}`, p.phase === 'done');
      };
      runs.push(await runOne({ suite, mode, seed, reportDir: dir, onProgress }));
      const r = runs[runs.length - 1]!;
      options.onProgress?.(`${label} · ${r.passed ? 'passed' : `FAILED: ${r.violations.map((v) => `${v.invariant} (observed ${JSON.stringify(v.observed)})`).join('; ')}`}`, true);
      await save(false);
    }
  }
  const results = await save(true);
  const latest = path.join(path.resolve(options.reportsRoot), 'latest');
  await fsp.rm(latest, { force: true });
  await fsp.symlink(path.basename(dir), latest).catch(() => {});
  return { dir, results };
}

/** Per-mode aggregation over seeds, for the terminal table and the report. */
export interface ModeSummary {
  mode: string;
  control: boolean;
  runs: number;
  throughput: number;
  p50WriteMs: number | null;
  p99WriteMs: number | null;
  p999WriteMs: number | null;
  acked: number;
  lostAcked: number | null;
  /** The final-read count, for comparison (it misses lost writes that later writes overwrote). */
  lostAckedFinalReads: number | null;
  /** Where lostAcked comes from across the mode's runs. */
  lossEvidence: 'logs' | 'final-reads' | 'mixed';
  /** Acknowledged writes the logs could not classify, over all runs. */
  lossUnknown: number;
  infoResolved: number;
  infoOpen: number;
  linearizable: boolean | 'unknown' | null;
  splitBrainWrites: number;
  outageMs: number;
  staleReads: number;
  maxStaleMs: number;
  passed: boolean;
}

function medianOf(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

export function summarizeModes(results: SuiteResults): ModeSummary[] {
  return results.modes.map((m) => {
    const rs = results.runs.filter((r) => r.mode === m.name);
    const lin = rs.map((r) => r.linearizable);
    return {
      mode: m.name,
      control: m.control,
      runs: rs.length,
      throughput: medianOf(rs.map((r) => r.throughput)) ?? 0,
      p50WriteMs: medianOf(rs.map((r) => r.p50WriteMs)),
      p99WriteMs: medianOf(rs.map((r) => r.p99WriteMs)),
      p999WriteMs: medianOf(rs.map((r) => r.p999WriteMs)),
      acked: rs.reduce((a, r) => a + r.acked, 0),
      lostAcked: rs.some((r) => r.lostAcked !== null) ? rs.reduce((a, r) => a + (r.lostAcked ?? 0), 0) : null,
      lostAckedFinalReads: rs.some((r) => r.lostAckedFinalReads != null) ? rs.reduce((a, r) => a + (r.lostAckedFinalReads ?? 0), 0) : null,
      lossUnknown: rs.reduce((a, r) => a + (r.lossUnknown ?? 0), 0),
      lossEvidence: rs.every((r) => r.lossEvidence === 'final-reads') ? 'final-reads' : rs.every((r) => r.lossEvidence !== 'final-reads') ? 'logs' : 'mixed',
      infoResolved: rs.reduce((a, r) => a + (r.infoResolved ?? 0), 0),
      infoOpen: rs.reduce((a, r) => a + (r.infoOpen ?? 0), 0),
      linearizable: lin.includes(false) ? false : lin.includes('unknown') ? 'unknown' : lin.includes(null) ? null : true,
      splitBrainWrites: rs.reduce((a, r) => a + r.splitBrainWrites, 0),
      outageMs: Math.max(0, ...rs.map((r) => r.outageMs)),
      staleReads: rs.reduce((a, r) => a + r.staleReads, 0),
      maxStaleMs: Math.max(0, ...rs.map((r) => r.maxStaleMs)),
      passed: rs.every((r) => r.passed),
    };
  });
}

export function formatSummaryTable(results: SuiteResults): string {
  const header = ['mode', 'ops/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'acked', 'lost', 'info resolved/open', 'linearizable', 'split-brain', 'outage ms', 'stale reads', 'gate'];
  const fmt = (v: number | null, d = 1) => (v === null ? '-' : v.toFixed(d));
  const rows = summarizeModes(results).map((s) => [
    s.mode + (s.control ? ' (control)' : ''),
    s.throughput.toFixed(0),
    fmt(s.p50WriteMs),
    fmt(s.p99WriteMs),
    fmt(s.p999WriteMs),
    String(s.acked),
    (s.lostAcked === null ? '-' : String(s.lostAcked)) + (s.lossUnknown ? ` (+${s.lossUnknown}?)` : ''),
    `${s.infoResolved}/${s.infoOpen}`,
    String(s.linearizable ?? '-'),
    String(s.splitBrainWrites),
    s.outageMs.toFixed(0),
    s.staleReads ? `${s.staleReads} (max ${s.maxStaleMs.toFixed(0)} ms)` : '0',
    s.passed ? 'pass' : 'FAIL',
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}
