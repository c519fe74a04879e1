/**
 * A node's status documents, one schema each, used by the node that writes them and by every
 * reader (monitor, cluster backend, CLI, systems adapter, benches), which parse instead of cast:
 *
 *   GET /status                the full document (NodeStatus)
 *   POST /admin/* answers      the short one the monitor needs (ShortStatus)
 *
 * In the short document `upstream` is the configured replication address; in the full one it is
 * the follower's view of its upstream link (or null on a leader).
 */
import { z } from 'zod';
import { REPLICATION_MODES } from '../../lib/modes.js';

const lsn = z.number().int().nonnegative();

export const ShortStatusSchema = z.object({
  id: z.string(),
  role: z.enum(['leader', 'follower']),
  epoch: z.number().int().nonnegative(),
  lastEpoch: z.number().int().nonnegative(),
  lastLsn: lsn,
  writtenLsn: lsn,
  flushedLsn: lsn,
  commitLsn: lsn,
  appliedLsn: lsn,
  degraded: z.boolean(),
  leaseValid: z.boolean(),
  upstream: z.string().nullable(),
  /** The node's monotonic reading as it answered, for the monitor to echo in a lease grant (kv/node/lease.ts). */
  leaseAnchor: z.object({ boot: z.string(), atMs: z.number().nonnegative() }).optional(),
});
export type ShortStatus = z.infer<typeof ShortStatusSchema>;

export const UpstreamStateSchema = z.object({
  address: z.string().nullable(),
  id: z.string().nullable(),
  connected: z.boolean(),
  streaming: z.boolean(),
  upstreamLastLsn: lsn.nullable(),
  lagRecords: z.number().int().nonnegative().nullable(),
});
export type UpstreamState = z.infer<typeof UpstreamStateSchema>;

export const FollowerStatusSchema = z.object({
  id: z.string(),
  address: z.string(),
  connected: z.boolean(),
  writtenLsn: lsn,
  flushedLsn: lsn,
  appliedLsn: lsn,
  lagRecords: z.number().int().nonnegative(),
  /** -1 when the next record to apply is no longer retained (its time is unknown). */
  lagMs: z.number(),
});
export type FollowerStatus = z.infer<typeof FollowerStatusSchema>;

export const NodeStatusSchema = ShortStatusSchema.extend({
  upstream: UpstreamStateSchema.nullable(),
  epochHistory: z.array(z.object({ epoch: z.number().int().nonnegative(), startLsn: lsn })),
  checkpointLsn: lsn,
  http: z.string(),
  repl: z.string(),
  leader: z.string().nullable(),
  mode: z.enum(REPLICATION_MODES),
  k: z.number().int().nonnegative(),
  ackLevel: z.enum(['write', 'flush', 'apply']),
  applyDelayMs: z.number().nonnegative(),
  syncDelayMs: z.number().nonnegative(),
  simulatePowerLoss: z.boolean(),
  syncStandbys: z.array(z.string()),
  onSyncTimeout: z.enum(['block', 'degrade']),
  syncTimeoutMs: z.number().nonnegative(),
  visibility: z.enum(['after-commit', 'early']),
  /** Why the node refuses writes because its log cannot write (disk full, I/O error), or null. */
  diskStalled: z.object({ since: z.number(), reason: z.string() }).nullable(),
  fencing: z.enum(['lease', 'none']),
  leaseRemainingMs: z.number().nullable(),
  fsyncs: z.number().int().nonnegative(),
  writes: z.number().int().nonnegative(),
  keys: z.number().int().nonnegative(),
  /** How far behind the leader this node knows it is (ms; 0 on the leader; null before its first heartbeat). */
  staleMs: z.number().nonnegative().nullable(),
  /** The leader's commit LSN as this node last heard it (its own on the leader), or null. */
  leaderCommitLsn: lsn.nullable(),
  followers: z.array(FollowerStatusSchema),
});
export type NodeStatus = z.infer<typeof NodeStatusSchema>;

/** The short document a full one contains (its `upstream` reduced to the configured address). */
export function shortOf(s: NodeStatus): ShortStatus {
  const { id, role, epoch, lastEpoch, lastLsn, writtenLsn, flushedLsn, commitLsn, appliedLsn, degraded, leaseValid } = s;
  return { id, role, epoch, lastEpoch, lastLsn, writtenLsn, flushedLsn, commitLsn, appliedLsn, degraded, leaseValid, upstream: s.upstream?.address ?? null };
}

/** Parses a node's /status; a description of the first mismatch when it is not one. */
export function parseNodeStatus(v: unknown): { ok: true; status: NodeStatus } | { ok: false; error: string } {
  return parseOr(NodeStatusSchema, v, 'status');
}

export function parseShortStatus(v: unknown): { ok: true; status: ShortStatus } | { ok: false; error: string } {
  return parseOr(ShortStatusSchema, v, 'admin answer');
}

function parseOr<T>(schema: z.ZodType<T>, v: unknown, what: string): { ok: true; status: T } | { ok: false; error: string } {
  const r = schema.safeParse(v);
  if (r.success) return { ok: true, status: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, error: `malformed ${what}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}` };
}
