/**
 * The sending side of replication: the replication port of a leader or a relay. Each connected
 * follower gets a `FollowerSession` that streams flushed WAL records from where the follower said
 * it was (HELLO), or first a checkpoint when those records are no longer retained. The server
 * also keeps what each follower last confirmed, connected or not (`progress`): a follower's
 * fdatasync'd records stay durable there whatever happens to the connection, so the commit rule
 * keeps counting them.
 *
 * Only records this node has fdatasync'd are sent, so a follower never holds a record its upstream
 * could lose in a crash (PostgreSQL's walsender does the same).
 */
import { Verifier } from '../../lib/auth.js';
import { toError } from '../../lib/errors.js';
import type { Timer } from '../../lib/io/clock.js';
import type { Connection, Listener, Network } from '../../lib/io/network.js';
import { divergencePoint, epochOf } from '../state/epochs.js';
import { controlFrame, ErrorBodySchema, HelloSchema, parseBody } from './bodies.js';
import { type FollowerPositions, FollowerSession, type UpstreamHost } from './follower-session.js';
import { decodeAck, encodeFrame, type Frame, FrameDecoder, FrameError, FrameType } from './frames.js';

const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
const HELLO_TIMEOUT_MS = 2000;
/**
 * Followers only ever send HELLO, ACK and ERROR frames, all small: nothing bigger is read from
 * them, so an unauthenticated peer cannot make this node buffer more than this per connection.
 */
export const FOLLOWER_FRAME_MAX_BYTES = 16 * 1024;
/** Connections that have not yet proved the token, and connections in all. */
export const MAX_UNAUTHENTICATED = 32;
export const MAX_CONNECTIONS = 256;

/** What a direct follower last confirmed. */
export interface FollowerProgress extends FollowerPositions {
  id: string;
}

/** A direct follower as /status shows it (the node's status schema has the same shape). */
export interface FollowerReport extends FollowerProgress {
  address: string;
  /** Connected and acking within ten heartbeats. */
  connected: boolean;
  lagRecords: number;
  /** Age of the oldest record it has yet to apply; -1 when that record is no longer retained. */
  lagMs: number;
}

export class ReplicationServer {
  private listener: Listener | undefined;
  private readonly sessions = new Set<FollowerSession>();
  private readonly progress = new Map<string, { positions: FollowerPositions; session: FollowerSession }>();
  private connections = 0;
  private unauthenticated = 0;
  private refusedCount = 0;
  private readonly verifier: Verifier;
  private heartbeat: Timer | undefined;
  private readonly onFlushed = () => this.pumpAll();

  constructor(
    private readonly host: UpstreamHost,
    private readonly network: Network,
    private readonly heartbeatMs: number,
  ) {
    // HELLOs must be signed for this node and cluster: one captured on its way to another upstream
    // (the proxy's API can redirect any link) is refused here.
    this.verifier = new Verifier(host.token, { self: { cluster: host.cluster, id: host.id }, now: () => host.clock.now() });
  }

  /** Connections refused at the caps (exposed in /metrics). */
  get refused(): number {
    return this.refusedCount;
  }

  async listen(hostname: string, port: number): Promise<number> {
    this.listener = await this.network.listen(hostname, port, (c) => this.accept(c));
    // Whatever the log flushes is streamed at once.
    this.host.wal.on('flushed', this.onFlushed);
    this.heartbeat = this.host.clock.every(this.heartbeatMs, () => this.sendHeartbeats());
    return this.listener.port;
  }

  /** Streams what the log flushed to every follower. */
  private pumpAll(): void {
    for (const s of this.sessions) s.pump();
  }

  /** The lowest LSN a connected, streaming follower still needs (so a checkpoint keeps it). */
  lowestNeededLsn(): number {
    let min = Infinity;
    for (const s of this.sessions) if (s.streaming && !s.closed) min = Math.min(min, s.nextLsn);
    return min;
  }

  /** What every direct follower last confirmed (the commit rule's input). */
  followerProgress(): FollowerProgress[] {
    return [...this.progress].map(([id, p]) => ({ id, ...p.positions }));
  }

  /**
   * A promoted leader keeps the confirmations of followers still connected to it and forgets the
   * others': they confirmed records of another leader's stream.
   */
  forgetDisconnected(): void {
    for (const [id, p] of this.progress) if (p.session.closed) this.progress.delete(id);
  }

  /** Ends every follower session and forgets their confirmations (a leader that stepped down). */
  closeAll(reason: string): void {
    for (const s of this.sessions) s.close(reason);
    this.progress.clear();
  }

  /** Each direct follower's confirmed positions and lag, for /status and /metrics. */
  followerStatuses(): FollowerReport[] {
    const wal = this.host.wal;
    const now = this.host.clock.now();
    const out: FollowerReport[] = [];
    for (const [id, { positions, session: s }] of this.progress) {
      const connected = !s.closed && now - s.lastAckMs < Math.max(10 * this.heartbeatMs, 1000);
      const lagRecords = Math.max(0, wal.lastLsn - positions.appliedLsn);
      const next = wal.recordAt(positions.appliedLsn + 1);
      const lagMs = lagRecords === 0 ? 0 : next ? now - next.timeMs : -1;
      out.push({ id, address: s.address, connected, ...positions, lagRecords, lagMs });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async close(): Promise<void> {
    this.heartbeat?.cancel();
    this.host.wal.off('flushed', this.onFlushed);
    for (const s of this.sessions) s.connection.destroy();
    this.sessions.clear();
    await this.listener?.close();
  }

  private sendHeartbeats(): void {
    if (this.sessions.size === 0) return;
    const frame = controlFrame.heartbeat(this.host.epoch(), this.host.heartbeatBody());
    for (const s of this.sessions) if (s.streaming) s.send(frame);
  }

  private accept(connection: Connection): void {
    if (this.connections >= MAX_CONNECTIONS || this.unauthenticated >= MAX_UNAUTHENTICATED) {
      // Over the cap: refuse at once, reading nothing.
      this.refusedCount++;
      connection.destroy();
      return;
    }
    this.connections++;
    this.unauthenticated++;
    let authenticated = false;
    const session = new FollowerSession(connection, this.host);
    const decoder = new FrameDecoder(FOLLOWER_FRAME_MAX_BYTES);
    const helloTimer = this.host.clock.after(HELLO_TIMEOUT_MS, () => session.close(`no HELLO within ${HELLO_TIMEOUT_MS} ms`));
    let chain = Promise.resolve();
    const handle = async (f: Frame) => {
      if (session.closed) return;
      if (session.id) return this.onFrame(session, f);
      if (f.type !== FrameType.hello) throw new FrameError(`expected HELLO, got frame type ${f.type}`);
      helloTimer.cancel();
      await this.onHello(session, f);
      if (session.id && !session.closed && !authenticated) {
        authenticated = true;
        this.unauthenticated--;
      }
    };
    const onData = (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e: unknown) {
        // Stop reading before anything else arrives: a stream that lost framing is dropped.
        connection.off('data', onData);
        connection.pause();
        session.close(`bad frame from ${session.address}: ${toError(e).message}`);
        return;
      }
      for (const f of frames) {
        chain = chain
          .then(() => handle(f))
          .catch((e: unknown) => {
            session.close(e instanceof FrameError ? `bad frame from ${session.address}: ${e.message}` : `replication error: ${toError(e).message}`);
          });
      }
    };
    connection.on('data', onData);
    connection.on('error', () => {});
    connection.on('close', () => {
      this.connections--;
      if (!authenticated) this.unauthenticated--;
      helloTimer.cancel();
      session.noteClosed();
      if (this.sessions.delete(session)) this.host.log.info({ follower: session.id }, 'follower left');
    });
  }

  private onFrame(session: FollowerSession, frame: Frame): void {
    if (frame.type === FrameType.ack) {
      session.noteAck(decodeAck(frame.body), this.host.clock.now());
      this.progress.set(session.id, { positions: session.positions, session });
      this.host.onFollowerProgress();
      return;
    }
    if (frame.type === FrameType.error) {
      session.close(`follower ${session.id} reported: ${parseBody(frame, ErrorBodySchema).error}`);
      return;
    }
    throw new FrameError(`unexpected frame type ${frame.type} from follower ${session.id}`);
  }

  private async onHello(session: FollowerSession, frame: Frame): Promise<void> {
    const hello = parseBody(frame, HelloSchema);
    const { nodeId, lastLsn, lastEpoch } = hello;
    const proof = this.verifier.verifyHello(hello);
    if (!proof.ok) {
      session.close(`HELLO from ${nodeId} refused: ${proof.why}`);
      return;
    }
    const host = this.host;
    if (frame.epoch > host.epoch()) {
      host.onNewerEpoch(frame.epoch, `HELLO from ${nodeId}`);
      session.close(`HELLO from ${nodeId} carries epoch ${frame.epoch}, newer than this node's ${host.epoch()}`);
      return;
    }
    if (!host.canServe()) {
      session.close(`${host.id} is not streaming from an upstream yet; retrying later`);
      return;
    }
    for (const other of this.sessions) if (other.id === nodeId) other.close(`replaced by a new connection from ${nodeId}`);
    session.identify(nodeId);
    this.sessions.add(session);
    const wal = host.wal;
    const history = host.epochHistory();
    // ackLevel tells the follower when to confirm: after writing, fdatasync or applying.
    const welcome = { leaderHttp: host.leaderHttp(), upstreamId: host.id, epochHistory: [...history], ackLevel: host.ackLevel };
    // Does the follower's log agree with ours? Where it ends in an epoch ours ended earlier (a
    // returning leader's unreplicated tail, or a follower of a deposed leader), it must cut back.
    const agrees = lastLsn <= wal.lastLsn && epochOf(history, lastLsn) === lastEpoch;
    if (!agrees) {
      const cutTo = divergencePoint(history, wal.lastLsn, lastLsn, lastEpoch);
      if (cutTo < lastLsn && (host.isLeader() || lastEpoch !== epochOf(history, wal.lastLsn))) {
        session.send(controlFrame.welcome(host.epoch(), { ...welcome, mode: 'truncate', truncateTo: cutTo }));
        host.log.warn(
          { follower: nodeId, followerLsn: lastLsn, followerEpoch: lastEpoch, truncateTo: cutTo },
          'replication: follower log diverges; it must rewind',
        );
        session.close(`rewind to lsn ${cutTo}, then reconnect`);
        return;
      }
      if (lastLsn > wal.lastLsn) {
        // Same history, this relay is just behind: the follower waits for it to catch up.
        session.close(`upstream ${host.id} is behind (lsn ${wal.lastLsn} < ${lastLsn}); retrying later`);
        return;
      }
    }
    let startLsn = lastLsn + 1;
    if (lastLsn < wal.baseLsn || !agrees) {
      const snap = await host.latestCheckpoint();
      startLsn = snap.lsn + 1;
      session.send(controlFrame.welcome(host.epoch(), { ...welcome, mode: 'snapshot', startLsn }));
      this.sendSnapshot(session, snap);
      host.log.info(
        { follower: nodeId, followerLsn: lastLsn, snapshotLsn: snap.lsn, bytes: snap.bytes.length },
        'replication: follower bootstraps from snapshot',
      );
    } else {
      session.send(controlFrame.welcome(host.epoch(), { ...welcome, mode: 'stream', startLsn }));
      host.log.info({ follower: nodeId, from: startLsn }, 'replication: follower streams');
    }
    session.startStream(startLsn, host.clock.now());
    // Its entry now holds zeros: what it confirmed to an earlier session may predate a rewind.
    this.progress.set(nodeId, { positions: session.positions, session });
    host.log.info({ follower: nodeId, address: session.address }, 'follower joined');
    session.pump();
  }

  private sendSnapshot(session: FollowerSession, snap: { lsn: number; epoch: number; bytes: Buffer }): void {
    const epoch = this.host.epoch();
    session.send(controlFrame.snapshotBegin(epoch, { lsn: snap.lsn, epoch: snap.epoch, bytes: snap.bytes.length }));
    for (let o = 0; o < snap.bytes.length; o += SNAPSHOT_CHUNK_BYTES) {
      session.send(encodeFrame(FrameType.snapshotChunk, epoch, snap.bytes.subarray(o, o + SNAPSHOT_CHUNK_BYTES)));
    }
    session.send(controlFrame.snapshotEnd(epoch));
  }
}
