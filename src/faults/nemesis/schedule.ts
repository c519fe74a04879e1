/**
 * Nemesis schedules (YAML, in a suite or on their own): a list of faults, each either once
 * (`at` + `for`) or repeated (`every` + `for`, first at `from`), with seeded target choice:
 *
 *   - fault: partition          # partition | latency | bandwidth | kill | power-loss | pause | restart | disk-full | switchover
 *     target: leader            # leader | random-follower | random-node | followers | all | n2 | [n1, n2]
 *     shape: isolate            # partition: isolate | halves | majority-ring | bridge
 *     mode: blackhole           # partition: blackhole | reset
 *     cut: [repl, monitor]      # partition: which kinds of link to cut (and client)
 *     at: 5s                    # seconds (number) or "500ms" / "5s"
 *     for: 5s                   # omitted with `at`: until the run ends
 *   - fault: latency
 *     links: repl               # repl | leader-repl | monitor | client | all | [repl:n2->n1, ...]
 *     latencyMs: 100
 *     jitterMs: 10
 *     every: 10s
 *     for: 3s
 *   - fault: clock              # the target's clock skewed (libfaketime), put back on time at stop
 *     target: leader
 *     offsetMs: -5000           # wall and monotonic clocks this far ahead (negative: behind)
 *     rate: 0.5                 # running at this many times real time (0.5: half speed)
 *     at: 2s
 *
 * The runner applies each start and stop at its time, records `start-<fault>` / `stop-<fault>`
 * (process "nemesis", type info) in the history, and when the run ends or is aborted stops every
 * fault still active, so the cluster is healed before final reads.
 */
import { z } from 'zod';
import type { HistoryRecorder } from '../../history/recorder.js';
import { ConfigError, toError, UsageError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { Rng } from '../../lib/rng.js';
import { parseWith } from '../../lib/schema.js';
import { type ActiveFault, type FaultSpec, type NemesisCluster, startFault } from './faults.js';

/** "500ms", "5s", "2m" or a number of seconds → milliseconds. */
export function parseDuration(v: string | number, where = 'duration'): number {
  if (typeof v === 'number') return Math.round(v * 1000);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v.trim());
  if (!m) throw new ConfigError(`${where}: "${v}" is not a duration (e.g. 500ms, 5s, 2m, or a number of seconds)`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000);
}

const duration = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, 'must be a duration like 500ms, 5s or 2m')])
  .transform((v) => parseDuration(v));
const target = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const links = z.union([z.enum(['repl', 'leader-repl', 'monitor', 'client', 'all']), z.array(z.string().min(1)).min(1)]);
const timing = { at: duration.optional(), every: duration.optional(), from: duration.optional(), for: duration.default(0) };

const StepSchema = z.discriminatedUnion('fault', [
  z.strictObject({
    fault: z.literal('partition'),
    target: target.default('leader'),
    shape: z.enum(['isolate', 'halves', 'majority-ring', 'bridge']).default('isolate'),
    mode: z.enum(['blackhole', 'reset']).default('blackhole'),
    cut: z
      .array(z.enum(['repl', 'monitor', 'client']))
      .min(1)
      .default(['repl', 'monitor']),
    ...timing,
  }),
  z.strictObject({
    fault: z.literal('latency'),
    links: links.default('repl'),
    latencyMs: z.number().nonnegative(),
    jitterMs: z.number().nonnegative().default(0),
    ...timing,
  }),
  z.strictObject({ fault: z.literal('bandwidth'), links: links.default('repl'), rateKBps: z.number().positive(), ...timing }),
  z.strictObject({
    fault: z.literal('clock'),
    target: target.default('leader'),
    offsetMs: z.number('must be a number of milliseconds').default(0),
    rate: z.number('must be a number (1: real time)').default(1),
    ...timing,
  }),
  z.strictObject({ fault: z.enum(['kill', 'power-loss', 'pause', 'restart', 'disk-full', 'switchover']), target: target.default('leader'), ...timing }),
]);

export const NemesisScheduleSchema = z.array(StepSchema);
/** Every fault a schedule may name (docs/suites.md lists each; a test holds the two together). */
export const NEMESIS_FAULTS: readonly string[] = StepSchema.options.flatMap((o) => {
  const f = o.shape.fault;
  return 'options' in f ? f.options : [...f.values];
});
export type NemesisStep = z.infer<typeof StepSchema>;

export function parseNemesisSchedule(input: unknown, where: string): NemesisStep[] {
  const steps = parseWith(NemesisScheduleSchema, input ?? [], where);
  steps.forEach((s, i) => {
    if ((s.at === undefined) === (s.every === undefined)) throw new ConfigError(`${where}: ${i}: give either "at" (once) or "every" (repeated)`);
    if (s.every !== undefined && s.every <= s.for) throw new ConfigError(`${where}: ${i}: "every" (${s.every} ms) must be longer than "for" (${s.for} ms)`);
  });
  return steps;
}

export function faultSpec(step: NemesisStep): FaultSpec {
  const { at: _at, every: _every, from: _from, for: _for, ...rest } = step;
  return rest as FaultSpec;
}

interface Planned {
  atMs: number;
  untilMs: number;
  step: NemesisStep;
}

/** Every start in [0, durationMs), in time order. */
export function plan(steps: NemesisStep[], durationMs: number): Planned[] {
  const out: Planned[] = [];
  for (const step of steps) {
    if (step.at !== undefined) {
      // A one-off fault without `for` lasts until the run ends.
      if (step.at < durationMs) out.push({ atMs: step.at, untilMs: step.for > 0 ? step.at + step.for : Infinity, step });
      continue;
    }
    for (let t = step.from ?? step.every!; t < durationMs; t += step.every!) out.push({ atMs: t, untilMs: t + step.for, step });
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

export interface NemesisRunOptions {
  cluster: NemesisCluster;
  steps: NemesisStep[];
  durationMs: number;
  seed: number;
  recorder?: HistoryRecorder;
  log?: Logger;
  signal?: AbortSignal;
  /** Longest a fault may take to start or stop. @default 90000 */
  stepTimeoutMs?: number;
  /** Called on every start and stop (progress display). */
  onEvent?: (e: { f: string; value: Record<string, unknown> }) => void;
}

/** Runs a schedule against a cluster; resolves when the duration is over and every fault is stopped. */
export async function runNemesis(o: NemesisRunOptions): Promise<Array<{ f: string; atMs: number; value: Record<string, unknown> }>> {
  const rng = new Rng(o.seed);
  const t0 = Date.now();
  const events: Array<{ f: string; atMs: number; value: Record<string, unknown> }> = [];
  const active = new Set<{ fault: ActiveFault; untilMs: number }>();
  const emit = (f: string, value: Record<string, unknown>) => {
    events.push({ f, atMs: Date.now() - t0, value });
    o.recorder?.record({ process: 'nemesis', type: 'info', f, value });
    o.log?.info({ f, value }, 'nemesis');
    o.onEvent?.({ f, value });
  };
  const stop = async (a: { fault: ActiveFault; untilMs: number }) => {
    active.delete(a);
    try {
      emit(`stop-${a.fault.fault}`, await bounded(a.fault.stop(), `stopping ${a.fault.fault}`, o.stepTimeoutMs));
    } catch (e: unknown) {
      emit(`stop-${a.fault.fault}`, { error: toError(e).message });
    }
  };
  const timeline = plan(o.steps, o.durationMs);
  const wait = (untilMs: number) =>
    new Promise<void>((resolve) => {
      const ms = untilMs - (Date.now() - t0);
      if (ms <= 0 || o.signal?.aborted) return resolve();
      const t = setTimeout(resolve, ms);
      o.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  try {
    let i = 0;
    while (!o.signal?.aborted && Date.now() - t0 < o.durationMs) {
      const nextStop = [...active].sort((a, b) => a.untilMs - b.untilMs)[0];
      const nextStart = timeline[i];
      const nextAt = Math.min(nextStop?.untilMs ?? Infinity, nextStart?.atMs ?? Infinity, o.durationMs);
      await wait(nextAt);
      if (o.signal?.aborted || Date.now() - t0 >= o.durationMs) break;
      const now = Date.now() - t0;
      for (const a of [...active]) if (a.untilMs <= now) await stop(a);
      while (timeline[i] && timeline[i]!.atMs <= now) {
        const p = timeline[i++]!;
        try {
          const fault = await bounded(startFault(o.cluster, faultSpec(p.step), rng), `starting ${p.step.fault}`, o.stepTimeoutMs);
          emit(`start-${fault.fault}`, fault.value);
          active.add({ fault, untilMs: p.untilMs });
        } catch (e: unknown) {
          emit(`start-${p.step.fault}`, { error: toError(e).message });
          // A fault the suite asks for that cannot be made (a link or node the system does not
          // have) is bad input: the run stops rather than pass its gate without the fault.
          if (e instanceof UsageError) throw e;
        }
      }
    }
  } finally {
    for (const a of [...active].reverse()) await stop(a);
  }
  return events;
}

/**
 * Longest a fault may take to start or stop (a kill and restart waits up to 15 s for the node, a
 * switchover up to a minute): a system whose kill or restart never returns must not hold the run
 * forever. Past it the step is recorded as failed; the operation itself may still finish.
 */
const FAULT_STEP_TIMEOUT_MS = 90_000;

function bounded<T>(p: Promise<T>, what: string, ms = FAULT_STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
