/**
 * One run of a suite: one mode, one seed. Starts the cluster (nodes, monitor, proxy), drives the
 * workload while the nemesis runs, samples replication lag, heals, waits for convergence, takes
 * the final reads, keeps every artefact in the run's folder, stops everything, then checks the
 * history and judges the gate.
 *
 * Files in `<report>/<mode>-seed<seed>/`: history.jsonl, lag.jsonl, events.jsonl (the monitor's),
 * rewound-<node>.jsonl, logs/*.log, run.json (timing; and when the run failed, what failed),
 * check.json (the checker's full result).
 *
 * Stopping is not left to the run going well: every teardown step runs even when the run or an
 * earlier step failed, each waits a bounded time (a user's module may never answer), and then any
 * process the system left running is stopped (OwnedProcesses: marked by this run, or naming its
 * state folder). SIGINT/SIGTERM do the same before the process exits. A failed run or teardown is
 * an error once run.json has recorded it.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CheckResult } from '../checker/checker.js';
import { closeKvClients } from '../client/kv-http.js';
import { missingFaultSupport } from '../faults/nemesis/faults.js';
import { runNemesis } from '../faults/nemesis/schedule.js';
import { HistoryRecorder } from '../history/recorder.js';
import { onInterrupt } from '../lib/cleanup.js';
import { ConfigError, EnvironmentError, ExitCode, errnoCode, HarnessError, toError } from '../lib/errors.js';
import { RunEvents } from '../systems/events.js';
import { isModulePath } from '../systems/external.js';
import { type OwnedProcess, OwnedProcesses, startSystem, systemCapabilities } from '../systems/index.js';
import type { SystemCapabilities, SystemUnderTest } from '../systems/system.js';
import type { DataClient } from '../workloads/data-client.js';
import { createWorkload, drive, recordFinalReads } from '../workloads/driver.js';
import type { Workload } from '../workloads/workload.js';
import { checkRunFolder } from './check-run.js';
import { evaluateGate, type GateMetrics } from './gate.js';
import type { RunResult } from './results.js';
import type { Suite, SuiteMode } from './spec.js';

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

/** How long the run waits on the system, in ms. */
export interface RunLimits {
  /** up() (and a data client) ready: the suite's readyTimeoutSec, else 30 s (PostgreSQL 120 s). */
  readyMs: number;
  /** down() and keepArtefacts(), each: the suite's stopTimeoutSec, else 60 s (PostgreSQL 120 s). */
  stopMs: number;
  /** Convergence after healing: a returning PostgreSQL primary may need pg_rewind (or a new base backup) first. */
  convergeMs: number;
}

export function runLimits(suite: Pick<Suite, 'readyTimeoutSec' | 'stopTimeoutSec'>, mode: Pick<SuiteMode, 'cluster'>): RunLimits {
  const pg = mode.cluster.system === 'postgres';
  return {
    readyMs: (suite.readyTimeoutSec ?? (pg ? 120 : 30)) * 1000,
    stopMs: (suite.stopTimeoutSec ?? (pg ? 120 : 60)) * 1000,
    convergeMs: pg ? 90_000 : 30_000,
  };
}

/** An interrupted run has this long to stop its system before lib/cleanup.ts exits (it allows 15 s in all). */
const INTERRUPT_STOP_MS = 8000;

/**
 * What `call` gives, or a rejection with `late()` once `ms` have passed; the timer goes when the
 * call settles first. A call that throws at once (a user's module need not be async) rejects.
 */
function within<T>(call: () => Promise<T> | T, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    new Promise<T>((resolve) => resolve(call())),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(late()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What the run learns as it goes; run.json records it, and teardown closes what it opened. */
interface RunState {
  startedAtMs: number;
  /** What the system measures: a lag amount or time it does not give is left out of lag.jsonl, not written as a number. */
  caps: SystemCapabilities;
  /** Wall-clock ms when the history's clock started (its time 0). */
  historyStartMs?: number;
  converged: boolean;
  /** Faults that could not be started: the history shows them as start events with an error. */
  nemesisErrors: string[];
  finalLeader: string | null;
  logs: Record<string, string | null>;
  workload?: Workload;
  recorder?: HistoryRecorder;
  lagLines: string[];
  /** Data clients not closed yet. */
  clients: Set<DataClient>;
  /** Errors from closing clients (a user's module may throw there). */
  closeErrors: string[];
}

/** A teardown step that failed: which, and why. */
interface TeardownFailure {
  step: string;
  error: Error;
}

function closeClients(run: RunState, which: Iterable<DataClient>): void {
  for (const c of [...which]) {
    run.clients.delete(c);
    try {
      c.close();
    } catch (e: unknown) {
      run.closeErrors.push(`a data client's close() failed: ${toError(e).message.split('\n')[0]}`);
    }
  }
}

export async function runOne(o: RunOneOptions): Promise<RunResult> {
  const { suite, mode, seed } = o;
  const dir = path.join(o.reportDir, `${mode.name}-seed${seed}`);
  await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
  // Cluster state (data dirs, WAL segments) stays out of the report folder; tests point it elsewhere.
  const parent = process.env.REPLAB_RUN_STATE_ROOT ?? os.tmpdir();
  await fsp.mkdir(parent, { recursive: true });
  const stateRoot = await fsp.mkdtemp(path.join(parent, 'replab-run-'));
  const limits = runLimits(suite, mode);
  const who = isModulePath(mode.cluster.system) ? `system module ${mode.cluster.system}` : `system ${mode.cluster.system}`;
  const owned = new OwnedProcesses(stateRoot);
  // The system's failover events (src/systems/events.ts), kept as events.jsonl in the run folder.
  const events = new RunEvents(path.join(dir, 'events.jsonl'), who);
  await fsp.rm(path.join(dir, 'events.jsonl'), { force: true });
  let cluster: SystemUnderTest | undefined;
  // Interrupted: stop the system and whatever else the run started, delete the state, then
  // lib/cleanup.ts exits 130 / 143. Also while up() is still starting (cluster undefined then).
  const forgetInterrupt = onInterrupt(async () => {
    if (cluster)
      await within(
        () => cluster?.down({ clean: true }),
        INTERRUPT_STOP_MS,
        () => new Error('down timed out'),
      ).catch(() => {});
    await owned.stopAll().catch(() => {});
    await removeState(stateRoot).catch(() => {});
  });
  owned.mark();
  const caps = await systemCapabilities(mode.cluster.system);
  const run: RunState = {
    caps,
    startedAtMs: Date.now(),
    converged: true,
    nemesisErrors: [],
    finalLeader: null,
    logs: {},
    lagLines: [],
    clients: new Set(),
    closeErrors: [],
  };
  let failure: Error | undefined;
  try {
    o.onProgress?.({ phase: 'starting' });
    cluster = await startSystem({ ...mode.cluster, name: `r${process.pid % 100000}-${seed}` }, { stateRoot, readyTimeoutMs: limits.readyMs, events });
    await exercise(o, cluster, run, limits, dir);
  } catch (e: unknown) {
    failure = toError(e);
  }
  const { failures, leftRunning } = await tearDown(cluster, run, { dir, stateRoot, owned, limits, who });
  // A bad event is the system's mistake even when its own code caught what emit() threw.
  const badEvent = events.problems()[0];
  if (!failure && badEvent) failure = new ConfigError(badEvent);
  owned.unmark();
  forgetInterrupt();
  const { startedAtMs, converged, finalLeader, logs, nemesisErrors } = run;
  await fsp.writeFile(
    path.join(dir, 'run.json'),
    JSON.stringify(
      {
        mode: mode.name,
        seed,
        startedAtMs,
        ...(run.historyStartMs !== undefined ? { historyStartMs: run.historyStartMs } : {}),
        durationSec: suite.durationSec,
        nemesis: mode.nemesisText,
        converged,
        finalLeader,
        logs,
        workload: { workload: mode.workload.workload, keyPrefix: mode.workload.keyPrefix },
        ...(failure ? { error: failure.message } : {}),
        ...(failures.length ? { teardown: failures.map((f) => ({ step: f.step, error: f.error.message })) } : {}),
        ...(leftRunning.length ? { leftRunning } : {}),
      },
      null,
      2,
    ),
  );
  if (failure) throw failure;
  if (failures.length > 0 || leftRunning.length > 0) throw teardownError(failures, leftRunning, { who, module: isModulePath(mode.cluster.system) }, dir);
  o.onProgress?.({ phase: 'checking', ops: run.recorder?.count });
  const { history, check } = await checkRunFolder(dir, { workload: run.workload!, logs, finalLeader });
  await fsp.writeFile(path.join(dir, 'check.json'), JSON.stringify(check, null, 2));
  // A system whose acknowledgements carry no epoch cannot show a split brain: not measured, not 0.
  const splitBrainWrites = caps.splitBrainWrites ? check.splitBrain.splitBrainWrites : null;
  const result = summarize(o, dir, history.length, check, splitBrainWrites, { converged, nemesisErrors }, logs);
  o.onProgress?.({ phase: 'done', ops: history.length });
  return result;
}

/** The run proper, on a started system: workload, nemesis and lag sampling, healing, final reads. */
async function exercise(o: RunOneOptions, cluster: SystemUnderTest, run: RunState, limits: RunLimits, dir: string): Promise<void> {
  const { suite, mode, seed } = o;
  // Before any load: a fault this system cannot inject is bad input, not a fault that "did not start".
  const missing = missingFaultSupport(
    cluster,
    mode.nemesis.map((s) => s.fault),
  );
  if (missing) throw new ConfigError(`mode ${mode.name}: ${missing} (system ${mode.cluster.system})`);
  const late = (what: string, ms: number) => () => new EnvironmentError(`${what} did not return within ${ms / 1000} s`);
  const newClient = async (options?: { refreshMs?: number }) => {
    const c = await within(() => cluster.dataClient(options), limits.readyMs, late('dataClient()', limits.readyMs));
    run.clients.add(c);
    return c;
  };
  const recorder = new HistoryRecorder(path.join(dir, 'history.jsonl'));
  // The wall clock at the history's zero: the report places the monitor's events on the history's clock with it.
  run.historyStartMs = Date.now();
  run.recorder = recorder;
  if (suite.warmupSec > 0) await new Promise((r) => setTimeout(r, suite.warmupSec * 1000));
  const client = await newClient();
  // Every client slot routes on its own, refreshing from the monitor once a second: during a
  // failover some still write to the old leader while others have moved on (which fencing must
  // make harmless).
  const slotClients: DataClient[] = await Promise.all(Array.from({ length: mode.workload.concurrency }, () => newClient({ refreshMs: 1000 })));
  const workloadSpec = { ...mode.workload, seed: mode.workload.seed * 1000 + seed };
  const workload = createWorkload(workloadSpec);
  run.workload = workload;
  const faults = new Set<string>();
  let sampling = true;
  const sampler = (async () => {
    // Replication lag per follower, as the leader sees it, four times a second; a sample that
    // does not come within 5 s is skipped, so a lag() that never answers cannot hold the run.
    while (sampling) {
      const samples = await within(() => cluster.lag(), 5000, late('lag()', 5000)).catch(() => undefined);
      const t = recorder.now();
      for (const f of samples ?? []) {
        run.lagLines.push(
          JSON.stringify({
            time: t,
            leader: f.leader,
            follower: f.follower,
            ...(run.caps.lagUnit !== null ? { lagRecords: f.lagRecords } : {}),
            ...(run.caps.lagMsStep !== null ? { lagMs: f.lagMs } : {}),
            connected: f.connected,
            ...(f.upstream ? { upstream: f.upstream } : {}),
          }),
        );
      }
      o.onProgress?.({ phase: 'running', ops: recorder.count, faults: [...faults] });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    const durationMs = suite.durationSec * 1000;
    // Should either side fail, the other stops too: a nemesis left running would restart nodes
    // the teardown has just stopped.
    const stopDriving = new AbortController();
    const stopNemesis = new AbortController();
    const [drove, faulted] = await Promise.allSettled([
      drive({
        spec: workloadSpec,
        workload,
        client,
        clientFor: (slot) => slotClients[slot]!,
        recorder,
        durationSec: suite.durationSec,
        signal: stopDriving.signal,
      })
        .catch((e: unknown) => {
          stopNemesis.abort();
          throw e;
        })
        .finally(() => closeClients(run, slotClients)),
      runNemesis({
        cluster,
        steps: mode.nemesis,
        durationMs,
        seed,
        recorder,
        signal: stopNemesis.signal,
        onEvent: (e) => {
          const name = e.f.replace(/^(start|stop)-/, '');
          if (e.f.startsWith('start-')) faults.add(name);
          else faults.delete(name);
        },
      }).catch((e: unknown) => {
        stopDriving.abort();
        throw e;
      }),
    ]);
    if (drove.status === 'rejected') throw drove.reason;
    if (faulted.status === 'rejected') throw faulted.reason;
    const nemesisEvents = faulted.value;
    run.nemesisErrors = nemesisEvents
      .filter((e) => e.f.startsWith('start-') && typeof e.value.error === 'string')
      .map((e) => `${e.f.slice('start-'.length)} at ${(e.atMs / 1000).toFixed(1)} s: ${String(e.value.error)}`);
  } finally {
    sampling = false;
    await sampler;
  }
  o.onProgress?.({ phase: 'healing', ops: recorder.count });
  // The system is given its own timeout, and a little more to honour it.
  await within(() => cluster.waitConverged(limits.convergeMs), limits.convergeMs + 10_000, late('waitConverged()', limits.convergeMs + 10_000)).catch(
    () => (run.converged = false),
  );
  // Each node's final read times out after 5 s; the whole lot gets that per node and a margin.
  const finalMs = cluster.nodeIds().length * 5000 + 30_000;
  await within(() => recordFinalReads(workload, client, recorder), finalMs, late('the final reads', finalMs));
  // The leader the logs are judged against: the one the cluster converged on.
  run.finalLeader = (await within(() => cluster.currentLeaderId(), 10_000, late('currentLeaderId()', 10_000)).catch(() => undefined)) ?? null;
}

/**
 * Stops everything the run started, whatever happened before: each step bounded, each failure
 * kept and the next step taken. Stop first (the docker backend copies container logs into the
 * cluster's logs/ then), keep the artefacts, delete the data, then stop whatever processes the
 * system left running and delete the run's state folder.
 */
async function tearDown(
  cluster: SystemUnderTest | undefined,
  run: RunState,
  t: { dir: string; stateRoot: string; owned: OwnedProcesses; limits: RunLimits; who: string },
): Promise<{ failures: TeardownFailure[]; leftRunning: OwnedProcess[] }> {
  const failures: TeardownFailure[] = [];
  const leftRunning: OwnedProcess[] = [];
  const step = async <T>(name: string, ms: number, what: string, fn: () => Promise<T> | T): Promise<T | undefined> => {
    try {
      return await within(
        fn,
        ms,
        () => new EnvironmentError(`${what} did not return within ${ms / 1000} s${ms === t.limits.stopMs ? ' (stopTimeoutSec)' : ''}`),
      );
    } catch (e: unknown) {
      failures.push({ step: name, error: toError(e) });
      return undefined;
    }
  };
  await step('history', 30_000, 'closing history.jsonl', () => run.recorder?.close());
  await step('lag', 30_000, 'writing lag.jsonl', () => fsp.writeFile(path.join(t.dir, 'lag.jsonl'), run.lagLines.map((l) => `${l}\n`).join('')));
  closeClients(run, run.clients);
  for (const e of run.closeErrors) failures.push({ step: 'clients', error: new ConfigError(`${t.who}: ${e}`) });
  if (cluster) {
    const failedBefore = failures.length;
    await step('down', t.limits.stopMs, `${t.who}: down()`, () => cluster.down());
    const stopped = failures.length === failedBefore;
    // Artefacts are kept from a stopped system; one that did not stop is stopped for it first.
    if (!stopped) leftRunning.push(...(await t.owned.stopAll()));
    run.logs = (await step('keepArtefacts', t.limits.stopMs, `${t.who}: keepArtefacts()`, () => cluster.keepArtefacts(t.dir))) ?? {};
    // A system that did not stop when asked is not asked again: its state goes with the run's folder.
    if (stopped) await step('clean', t.limits.stopMs, `${t.who}: down({clean: true})`, () => cluster.down({ clean: true }));
  }
  leftRunning.push(...(await t.owned.stopAll()));
  await step('state', 30_000, `deleting ${t.stateRoot}`, () => removeState(t.stateRoot));
  closeKvClients();
  return { failures, leftRunning };
}

/** Deletes a run's state folder; a volume still being unmounted (EBUSY) gets a few more tries. */
async function removeState(stateRoot: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.rm(stateRoot, { recursive: true, force: true });
      return;
    } catch (e: unknown) {
      if (errnoCode(e) !== 'EBUSY' || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The one-line error for a run whose teardown did not go cleanly. A user's module that failed its
 * contract is bad input (exit 2) as its other failures are; a timeout or anything else is exit 4.
 */
function teardownError(failures: TeardownFailure[], leftRunning: OwnedProcess[], system: { who: string; module: boolean }, dir: string): HarnessError {
  const { who } = system;
  const first = failures[0];
  const processes = (n: number) => `${n} process${n === 1 ? '' : 'es'}`;
  const stoppedText = leftRunning.length ? `replab stopped the ${processes(leftRunning.length)} it left running` : '';
  const text = first
    ? `${first.error.message}${stoppedText ? `; ${stoppedText}` : ''}`
    : `${who}: down() returned with ${processes(leftRunning.length)} still running (${leftRunning
        .slice(0, 3)
        .map((p) => `${p.pid} ${p.command.slice(0, 100)}`)
        .join('; ')}${leftRunning.length > 3 ? '; …' : ''}); ${stoppedText}`;
  const usage = first ? first.error instanceof HarnessError && first.error.exitCode === ExitCode.usage : system.module;
  const message = `${text} (run folder: ${dir})`;
  return usage ? new ConfigError(message) : new EnvironmentError(message);
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
  splitBrainWrites: number | null,
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
  const metrics: Omit<GateMetrics, keyof ReturnType<typeof readMetrics>> = {
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
  const reads = readMetrics(check);
  const violations = evaluateGate(o.mode.gate, { ...metrics, ...reads });
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
    ...reads,
    converged,
    nemesisErrors,
    gate: o.mode.gate.map((g) => g.text),
    passed: violations.length === 0,
    violations,
  };
}

/** The read side's gate metrics: session guarantees, staleness in versions, read latency, follower share (null: not measured). */
function readMetrics(
  check: CheckResult,
): Pick<
  GateMetrics,
  | 'readYourWritesViolations'
  | 'monotonicReadViolations'
  | 'monotonicWriteViolations'
  | 'writesFollowReadsViolations'
  | 'sessionViolations'
  | 'followerReadShare'
  | 'readP99Ms'
  | 'maxStaleVersions'
  | 'p99StaleMs'
  | 'readsOfLostWrites'
> & { readP50Ms: number | null } {
  const se = check.sessions && !check.sessions.crashed && check.sessions.readsJudged + check.sessions.writesJudged > 0 ? check.sessions : undefined;
  const v = se?.violations;
  const reads = check.latency && !check.latency.crashed ? check.latency.byF.read : undefined;
  const placement = check.readPlacement && !check.readPlacement.crashed ? check.readPlacement : undefined;
  return {
    readYourWritesViolations: v ? v['read-your-writes'] : null,
    monotonicReadViolations: v ? v['monotonic-reads'] : null,
    monotonicWriteViolations: v ? v['monotonic-writes'] : null,
    writesFollowReadsViolations: v ? v['writes-follow-reads'] : null,
    sessionViolations: v ? v['read-your-writes'] + v['monotonic-reads'] + v['monotonic-writes'] + v['writes-follow-reads'] : null,
    followerReadShare: placement?.followerShare ?? null,
    readP50Ms: reads?.p50Ms ?? null,
    readP99Ms: reads?.p99Ms ?? null,
    maxStaleVersions: se && se.staleness.judged > 0 ? se.staleness.versionsBehind.max : null,
    p99StaleMs: se && se.staleness.judged > 0 ? se.staleness.msBehind.p99 : null,
    readsOfLostWrites: check.lostReads && !check.lostReads.crashed && check.lostReads.judged > 0 ? check.lostReads.readsOfLostWrites : null,
  };
}
