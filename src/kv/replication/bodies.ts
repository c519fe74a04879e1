/**
 * The JSON bodies of the replication control frames, one schema each, shared by the side that
 * writes a frame and the side that reads it. A body that does not match is a FrameError naming
 * the frame and the field, and the connection is dropped (frames.ts says why).
 *
 *   HELLO           follower → upstream  where its log ends, and a proof of the cluster token
 *   WELCOME         upstream → follower  how the stream starts: stream, snapshot first, or truncate
 *   HEARTBEAT       upstream → follower  the leader's clock and commit LSN (forwarded by relays)
 *   SNAPSHOT_BEGIN  upstream → follower  the checkpoint that follows in chunks
 *   SNAPSHOT_END    upstream → follower  (empty)
 *   ERROR           either way           why the sender closes
 */
import { z } from 'zod';
import { ACK_LEVELS } from '../config.js';
import { encodeJsonFrame, type Frame, FrameError, FrameType } from './frames.js';

const lsn = z.number().int('must be a non-negative integer').nonnegative('must be a non-negative integer');
/** Heartbeat numbers (LSNs, a clock reading): absent or null means not known. */
const known = z
  .number('must be a non-negative number')
  .nonnegative('must be a non-negative number')
  .nullish()
  .transform((v) => v ?? undefined);

const EpochStartSchema = z.object({ epoch: lsn, startLsn: lsn });

export const HelloSchema = z.object({
  nodeId: z.string('must be a short identifier').regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a short identifier'),
  lastLsn: lsn,
  lastEpoch: lsn,
  // The proof (src/lib/auth.ts): checked by the verifier, which names what is missing or wrong.
  ts: z.unknown().optional(),
  nonce: z.unknown().optional(),
  mac: z.unknown().optional(),
  to: z.unknown().optional(),
  cluster: z.unknown().optional(),
});
export type Hello = z.infer<typeof HelloSchema>;

const welcomeCommon = {
  leaderHttp: z.string('must be a string or null').nullable(),
  upstreamId: z.string('must be the upstream node id'),
  epochHistory: z.array(EpochStartSchema, 'must be a list of {epoch, startLsn}'),
  ackLevel: z.enum(ACK_LEVELS, 'must be write, flush or apply'),
};
export const WelcomeSchema = z.discriminatedUnion('mode', [
  z.object({ ...welcomeCommon, mode: z.literal('stream'), startLsn: lsn }),
  z.object({ ...welcomeCommon, mode: z.literal('snapshot'), startLsn: lsn }),
  z.object({ ...welcomeCommon, mode: z.literal('truncate'), truncateTo: lsn }),
]);
export type Welcome = z.infer<typeof WelcomeSchema>;

export const HeartbeatSchema = z.object({
  leaderHttp: z
    .string('must be a string or null')
    .nullish()
    .transform((v) => v ?? null),
  lastLsn: known,
  commitLsn: known,
  timeMs: known,
});
export type Heartbeat = z.input<typeof HeartbeatSchema>;

export const SnapshotBeginSchema = z.object({ lsn, epoch: lsn, bytes: lsn });
export type SnapshotBegin = z.infer<typeof SnapshotBeginSchema>;

export const ErrorBodySchema = z.object({ error: z.string('must be a string') });

const NAMES: Record<number, string> = {
  [FrameType.hello]: 'HELLO',
  [FrameType.welcome]: 'WELCOME',
  [FrameType.heartbeat]: 'HEARTBEAT',
  [FrameType.snapshotBegin]: 'SNAPSHOT_BEGIN',
  [FrameType.snapshotEnd]: 'SNAPSHOT_END',
  [FrameType.error]: 'ERROR',
};

/** Parses a control frame's JSON body with its schema; a FrameError naming the frame and field when it does not match. */
export function parseBody<S extends z.ZodType>(frame: Frame, schema: S): z.output<S> {
  const name = NAMES[frame.type] ?? `frame type ${frame.type}`;
  let v: unknown;
  try {
    v = JSON.parse(frame.body.toString('utf8'));
  } catch {
    throw new FrameError(`${name}: body is not JSON`);
  }
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.map(String).join('.');
  throw new FrameError(`${name}: ${field ? `${field} ` : 'body '}${issue.message}`);
}

/** The frames with JSON bodies, written only through their schema's type. */
export const controlFrame = {
  hello: (epoch: number, body: z.input<typeof HelloSchema>) => encodeJsonFrame(FrameType.hello, epoch, body),
  welcome: (epoch: number, body: Welcome) => encodeJsonFrame(FrameType.welcome, epoch, body),
  heartbeat: (epoch: number, body: Heartbeat) => encodeJsonFrame(FrameType.heartbeat, epoch, body),
  snapshotBegin: (epoch: number, body: SnapshotBegin) => encodeJsonFrame(FrameType.snapshotBegin, epoch, body),
  snapshotEnd: (epoch: number) => encodeJsonFrame(FrameType.snapshotEnd, epoch, {}),
  error: (epoch: number, reason: string) => encodeJsonFrame(FrameType.error, epoch, { error: reason }),
};
