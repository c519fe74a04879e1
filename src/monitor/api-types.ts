/**
 * The monitor's HTTP answers, one schema each, parsed by every reader (client, router, cluster
 * backend, CLI) instead of cast:
 *
 *   GET /status       MonitorView: leader, epoch, failover state, every node as last probed, events
 *   POST /switchover  SwitchoverAnswer
 */
import { z } from 'zod';
import { REPLICATION_MODES } from '../lib/modes.js';

export const FailoverStateSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('healthy') }),
  z.object({ state: z.literal('leader-down'), sinceMs: z.number() }),
  z.object({ state: z.literal('blocked'), why: z.string(), sinceMs: z.number() }),
  z.object({ state: z.literal('switching-over'), to: z.string() }),
]);
export type FailoverState = z.infer<typeof FailoverStateSchema>;

export const MonitorNodeViewSchema = z.object({
  id: z.string(),
  http: z.string(),
  repl: z.string(),
  reachable: z.boolean(),
  role: z.enum(['leader', 'follower']).nullable(),
  epoch: z.number().nullable(),
  lastLsn: z.number().nullable(),
  flushedLsn: z.number().nullable(),
  upstream: z.string().nullable(),
  error: z.string().optional(),
});

export const MonitorViewSchema = z.object({
  cluster: z.string(),
  leader: z.string(),
  leaderHttp: z.string(),
  epoch: z.number().int().nonnegative(),
  fencing: z.enum(['lease', 'none']),
  failover: FailoverStateSchema,
  settings: z.object({
    heartbeatMs: z.number(),
    failoverTimeoutMs: z.number(),
    leaseMs: z.number(),
    maxClockDrift: z.number().optional(),
    maxLagOnFailover: z.number().nullable(),
    mode: z.enum(REPLICATION_MODES),
    k: z.number(),
  }),
  nodes: z.array(MonitorNodeViewSchema),
  events: z.array(z.looseObject({ timeMs: z.number(), event: z.string() })),
});
export type MonitorView = z.infer<typeof MonitorViewSchema>;

export const SwitchoverAnswerSchema = z.object({
  from: z.string(),
  to: z.string(),
  epoch: z.number().int().nonnegative(),
  durationMs: z.number(),
  lastLsn: z.number().int().nonnegative(),
});
export type SwitchoverAnswer = z.infer<typeof SwitchoverAnswerSchema>;

/** The monitor's /status, or undefined when it does not answer in time or answers something else. */
export async function fetchMonitorView(address: string, timeoutMs: number): Promise<MonitorView | undefined> {
  try {
    const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    const r = MonitorViewSchema.safeParse(await res.json());
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
