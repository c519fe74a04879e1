/**
 * One run of a suite: one mode, one seed. Starts the cluster (nodes, monitor, proxy), drives the
 * workload while the nemesis runs, samples replication lag, heals, waits for convergence, takes
 * the final reads, keeps every artefact in the run's folder, stops everything, then checks the
 * history and judges the gate.
 *
 * Files in `<report>/<mode>-seed<seed>/`: history.jsonl, lag.jsonl, events.jsonl (the monitor's),
 * rewound-<node>.jsonl, logs/*.log, run.json (timing), check.json (the checker's full result).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CheckResult, checkHistory } from '../checker/checker.js';
import { checkSplitBrain } from '../checker/split-brain.js';
import { closeKvClients } from '../client/kv-http.js';
import { runNemesis } from '../faults/nemesis/schedule.js';
import { loadHistory } from '../history/reader.js';
import { HistoryRecorder } from '../history/recorder.js';
import { startSystem } from '../systems/index.js';
import type { DataClient } from '../workloads/data-client.js';
import { createWorkload, drive, recordFinalReads } from '../workloads/driver.js';
import type { Workload } from '../workloads/workload.js';
import { loadNodeEvidence } from './evidence-files.js';
import { evaluateGate, type GateMetrics } from './gate.js';
import type { RunResult } from './results.js';
import type { Suite, SuiteMode } from './spec.js';

export type { RunResult };

export interface RunProgress {
  phase: 'starting' | 'running' | 'healing' | 'checking' | 'done';
  ops?: number;
  faults?: string[];
}

export interface RunOneOptions {
  suite: Suite;
  mode: SuiteMode;
  seed: number;
  reportDir: string;
  onProgress?: (p: RunProgress) => void;
}

export async function runOne(o: RunOneOptions): Promise<RunResult> {
  const { suite, mode, seed } = o;
  const dir = path.join(o.reportDir, `${mode.name}-seed${seed}`);
  await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
  // Cluster state (data dirs, WAL segments) stays out of the report folder; tests point it elsewhere.
  await fsp.mkdir(process.env.REPLAB_RUN_STATE_ROOT ?? os.tmpdir(), { recursive: true });
  const stateRoot = await fsp.mkdtemp(path.join(process.env.REPLAB_RUN_STATE_ROOT ?? os.tmpdir(), 'replab-run-'));
  o.onProgress?.({ phase: 'starting' });
  const cluster = await startSystem(
    { ...mode.cluster, name: `r${process.pid % 100000}-${seed}` },
    { stateRoot, readyTimeoutMs: mode.cluster.system === 'postgres' ? 120_000 : 30_000 },
  );
  let converged = true;
  /** Faults that could not be started: the history shows them as start events with an error. */
  let nemesisErrors: string[] = [];
  const startedAtMs = Date.now();
  const recorder = new HistoryRecorder(path.join(dir, 'history.jsonl'));
  const lagLines: string[] = [];
  let sampling = true;
  let workload: Workload | undefined;
  let finalLeader: string | null = null;
  let logs: Record<string, string | null> = {};
  const clients: DataClient[] = [];
  try {
    if (suite.warmupSec > 0) await new Promise((r) => setTimeout(r, suite.warmupSec * 1000));
    const client = await cluster.dataClient();
    clients.push(client);
    // Every client slot routes on its own, refreshing from the monitor once a second: during a
    // failover some still write to the old leader while others have moved on (which fencing must
    // make harmless).
    const slotClients: DataClient[] = await Promise.all(Array.from({ length: mode.workload.concurrency }, () => cluster.dataClient({ refreshMs: 1000 })));
    clients.push(...slotClients);
    const workloadSpec = { ...mode.workload, seed: mode.workload.seed * 1000 + seed };
    workload = createWorkload(workloadSpec);
    const faults = new Set<string>();
    const sampler = (async () => {
      // Replication lag per follower, as the leader sees it, four times a second.
      while (sampling) {
        const samples = await cluster.lag().catch(() => undefined);
        const t = recorder.now();
        for (const f of samples ?? []) {
          lagLines.push(JSON.stringify({ time: t, leader: f.leader, follower: f.follower, lagRecords: f.lagRecords, lagMs: f.lagMs, connected: f.connected }));
        }
        o.onProgress?.({ phase: 'running', ops: recorder.count, faults: [...faults] });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const durationMs = suite.durationSec * 1000;
    const [, nemesisEvents] = await Promise.all([
      drive({ spec: workloadSpec, workload: workload!, client, clientFor: (slot) => slotClients[slot]!, recorder, durationSec: suite.durationSec }).finally(
        () => {
          for (const c of slotClients) c.close();
        },
      ),
      runNemesis({
        cluster,
        steps: mode.nemesis,
        durationMs,
        seed,
        recorder,
        onEvent: (e) => {
          const name = e.f.replace(/^(start|stop)-/, '');
          if (e.f.startsWith('start-')) faults.add(name);
          else faults.delete(name);
        },
      }),
    ]);
    nemesisErrors = nemesisEvents
      .filter((e) => e.f.startsWith('start-') && typeof e.value.error === 'string')
      .map((e) => `${e.f.slice('start-'.length)} at ${(e.atMs / 1000).toFixed(1)} s: ${String(e.value.error)}`);
    sampling = false;
    await sampler;
    o.onProgress?.({ phase: 'healing', ops: recorder.count });
    // A returning PostgreSQL primary may need pg_rewind (or a new base backup) first.
    const convergeMs = mode.cluster.system === 'postgres' ? 90_000 : 30_000;
    await cluster.waitConverged(convergeMs).catch(() => (converged = false));
    await recordFinalReads(workload!, client, recorder);
    // The leader the logs are judged against: the one the cluster converged on.
    finalLeader = (await cluster.currentLeaderId().catch(() => undefined)) ?? null;
  } finally {
    sampling = false;
    await recorder.close();
    await fsp.writeFile(path.join(dir, 'lag.jsonl'), lagLines.map((l) => `${l}\n`).join(''));
    // Stop first (the docker backend copies container logs into the cluster's logs/ then), keep
    // the artefacts, then delete the data.
    for (const c of clients) c.close();
    await cluster.down();
    logs = await cluster.keepArtefacts(dir);
    await cluster.down({ clean: true });
    await fsp.rm(stateRoot, { recursive: true, force: true });
    closeKvClients();
  }
  await fsp.writeFile(
    path.join(dir, 'run.json'),
    JSON.stringify({ mode: mode.name, seed, startedAtMs, durationSec: suite.durationSec, nemesis: mode.nemesisText, converged, finalLeader, logs }, null, 2),
  );
  o.onProgress?.({ phase: 'checking', ops: recorder.count });
  const history = await loadHistory(path.join(dir, 'history.jsonl'));
  const w = workload!;
  // A system whose logs replab cannot read at all (PostgreSQL) is judged by its final reads alone.
  const anyLog = Object.values(logs).some((why) => why === null);
  const evidence = anyLog
    ? { nodes: await loadNodeEvidence(dir, Object.keys(logs), logs), finalLeader, effect: (inv: { f: string; key?: string; value: unknown }) => w.effect(inv) }
    : undefined;
  const check = checkHistory(history, { model: mode.workload.workload === 'set' ? 'set' : 'register', evidence });
  const splitBrain = checkSplitBrain(history);
  await fsp.writeFile(path.join(dir, 'check.json'), JSON.stringify({ ...check, splitBrain }, null, 2));
  const result = summarize(o, dir, history.length, check, splitBrain.splitBrainWrites, { converged, nemesisErrors }, logs);
  o.onProgress?.({ phase: 'done', ops: history.length });
  return result;
}

/** What summarize reads of a run's options: replab merge rebuilds this from a shard's results.json (reverify.ts). */
export interface RunVerdictOptions {
  suite: Pick<Suite, 'durationSec'>;
  mode: Pick<SuiteMode, 'name' | 'nemesisText' | 'control' | 'gate'> & { cluster: Pick<SuiteMode['cluster'], 'system'> };
  seed: number;
  reportDir: string;
}

/** A run's RunResult from its checked history: the gate metrics, the gate, and the figures beside them. */
export function summarize(
  o: RunVerdictOptions,
  dir: string,
  ops: number,
  check: CheckResult,
  splitBrainWrites: number,
  run: { converged: boolean; nemesisErrors: string[] },
  logs: Record<string, string | null>,
): RunResult {
  const { converged, nemesisErrors } = run;
  const loss = check.loss && !check.loss.crashed ? check.loss : undefined;
  const ev = check.evidence && !check.evidence.crashed ? check.evidence : undefined;
  // The logs decide when the final leader's log could be read; otherwise the final reads do.
  const fromLogs = ev !== undefined && ev.finalLeader !== null && ev.nodesWithLogs.includes(ev.finalLeader);
  const lin = check.linearizable;
  const avail = check.availability && !check.availability.crashed ? check.availability : undefined;
  const lat = check.latency && !check.latency.crashed ? check.latency : undefined;
  const stale = check.staleReads && !check.staleReads.crashed ? check.staleReads : undefined;
  const writes = lat?.byF.write ?? lat?.byF.add;
  const acked = (fromLogs ? ev.acked : loss?.acked) ?? writes?.count ?? 0;
  const metrics: GateMetrics = {
    lostAcked: fromLogs ? ev.lostAcked : loss ? loss.lostAcked : null,
    recovered: loss ? loss.recovered : null,
    linearizable: lin ? lin.valid : null,
    splitBrainWrites,
    maxStaleMs: stale?.maxStaleMs ?? 0,
    staleReads: stale?.stale ?? 0,
    outageMs: avail?.outageMs ?? 0,
    p50WriteMs: writes?.p50Ms ?? null,
    p99WriteMs: writes?.p99Ms ?? null,
    p999WriteMs: writes?.p999Ms ?? null,
    acked,
    failedShare: avail?.failShare ?? 0,
    indeterminateShare: avail?.infoShare ?? 0,
  };
  const violations = evaluateGate(o.mode.gate, metrics);
  if (!converged)
    violations.push({
      invariant: 'the cluster converges after healing',
      metric: 'converged',
      observed: `did not converge within ${o.mode.cluster.system === 'postgres' ? 90 : 30} s`,
    });
  return {
    mode: o.mode.name,
    seed: o.seed,
    nemesis: o.mode.nemesisText,
    control: o.mode.control,
    dir: path.relative(o.reportDir, dir),
    durationSec: o.suite.durationSec,
    ops,
    acked,
    lostAcked: metrics.lostAcked,
    lostAckedFinalReads: loss ? loss.lostAcked : null,
    lossEvidence: fromLogs ? 'logs' : 'final-reads',
    lossUnknown: ev ? ev.unknown.length : 0,
    noLogEvidence: ev
      ? ev.nodesWithoutEvidence.map((n) => `${n.node}: ${n.why}`)
      : Object.entries(logs)
          .filter(([, why]) => why !== null)
          .map(([n, why]) => `${n}: ${why}`),
    infoResolved: ev ? ev.infoResolved : 0,
    infoOpen: ev ? ev.infoOpen : 0,
    recovered: metrics.recovered,
    linearizable: metrics.linearizable,
    splitBrainWrites,
    throughput: (avail?.ok ?? 0) / o.suite.durationSec,
    p50WriteMs: metrics.p50WriteMs,
    p99WriteMs: metrics.p99WriteMs,
    p999WriteMs: metrics.p999WriteMs,
    outageMs: metrics.outageMs,
    maxStaleMs: metrics.maxStaleMs,
    staleReads: metrics.staleReads,
    failedShare: metrics.failedShare,
    indeterminateShare: metrics.indeterminateShare,
    converged,
    nemesisErrors,
    gate: o.mode.gate.map((g) => g.text),
    passed: violations.length === 0,
    violations,
  };
}
