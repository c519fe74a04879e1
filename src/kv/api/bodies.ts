/**
 * The JSON request bodies of the node's API, one schema each, shared by the node that reads them
 * (server.ts) and whoever sends them: the cas body (clients) and the admin calls' bodies (the
 * monitor, src/monitor/node-api.ts). Each admin call carries the caller's epoch: older is refused,
 * newer is adopted.
 *
 *   POST /kv/{key}/cas   {"expected": string|null, "value": string}
 *
 *   POST /admin/lease    renew the leader's lease: `leaseMs` (the hold) after `anchor`, the node's
 *                        own monotonic reading from an earlier answer (kv/node/lease.ts)
 *   POST /admin/promote  follower → leader of a newer epoch (optionally naming its sync standbys)
 *   POST /admin/follow   (leader →) follower of the node at a replication address
 *   POST /admin/fence    switchover: stop (or resume) taking writes
 */
import { z } from 'zod';
import { MAX_VALUE_BYTES } from '../wal/record.js';

const count = z.number('must be a non-negative integer').int('must be a non-negative integer').nonnegative('must be a non-negative integer');
/** A node's own monotonic reading from an earlier answer; a grant without one gives no lease. */
const anchor = z.object(
  { boot: z.string('must be a boot id').max(64), atMs: z.number('must be a number').nonnegative('must be non-negative') },
  'must be {boot, atMs}',
);
const nodeId = z.string('must be a node id').regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a node id');

export const AdminBodySchemas = {
  lease: z.object({ epoch: count, leaseMs: count, anchor: anchor.optional() }),
  promote: z.object({ epoch: count, leaseMs: count, anchor: anchor.optional(), syncStandbys: z.array(nodeId, 'must be a list of node ids').optional() }),
  follow: z.object({
    epoch: count,
    upstream: z.string('must be a host:port replication address').regex(/^[^:\s]+:\d{1,5}$/, 'must be a host:port replication address'),
    upstreamId: z.string("must be the upstream's node id").regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be the upstream's node id"),
    leaderHttp: z.string('must be a host:port HTTP address or null').nullable().optional(),
  }),
  fence: z.object({ epoch: count, fenced: z.boolean('must be true or false') }),
} as const;

export type AdminAction = keyof typeof AdminBodySchemas;
export const ADMIN_ACTIONS = Object.keys(AdminBodySchemas) as AdminAction[];
export type AdminBody<A extends AdminAction> = z.infer<(typeof AdminBodySchemas)[A]>;

export function isAdminAction(s: string): s is AdminAction {
  return Object.hasOwn(AdminBodySchemas, s);
}

/** Checks a parsed JSON body against the action's schema; the error names the action, the field and what it got. */
export function parseAdminBody<A extends AdminAction>(action: A, value: unknown): { ok: true; body: AdminBody<A> } | { ok: false; error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'admin body must be a JSON object' };
  const r = AdminBodySchemas[action].safeParse(value);
  if (r.success) return { ok: true, body: r.data as AdminBody<A> };
  const issue = r.error.issues[0]!;
  const field = String(issue.path[0] ?? '');
  const got = (value as Record<string, unknown>)[field];
  return { ok: false, error: `${action}: "${field}" ${issue.message}, got ${JSON.stringify(got ?? null)}` };
}

export const CasBodySchema = z.object({
  expected: z.string('must be a string or null (null: the key is absent)').nullable(),
  value: z.string('must be a string'),
});
export type CasBody = z.infer<typeof CasBodySchema>;

/** Checks a parsed cas body; `tooLarge` when the value exceeds the value limit (a 413, not a 400). */
export function parseCasBody(value: unknown): { ok: true; body: CasBody } | { ok: false; error: string; tooLarge?: true } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'cas body must be a JSON object {"expected", "value"}' };
  if (!('expected' in value)) return { ok: false, error: 'cas body: "expected" is missing (use null for "key absent")' };
  const r = CasBodySchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = String(issue.path[0] ?? '');
    const got = (value as Record<string, unknown>)[field];
    return { ok: false, error: `cas body: "${field}" ${issue.message}, got ${JSON.stringify(got ?? null)}` };
  }
  if (Buffer.byteLength(r.data.value) > MAX_VALUE_BYTES) return { ok: false, error: `cas value exceeds ${MAX_VALUE_BYTES} bytes`, tooLarge: true };
  return { ok: true, body: r.data };
}
