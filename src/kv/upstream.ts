/**
 * The sending side of replication: the replication TCP port of a leader or a relay. Each connected
 * follower gets a `FollowerSession` that streams flushed WAL records from where the follower said it
 * was (HELLO), or first a checkpoint when those records are no longer retained, and records the
 * follower's ACKs (flushed and applied LSN).
 *
 * Only records this node has fdatasync'd are sent, so a follower never holds a record its upstream
 * could lose in a crash (PostgreSQL's walsender does the same).
 */
import net from 'node:net';
import { Verifier } from '../lib/auth.js';
import { divergencePoint, epochOf } from './epochs.js';
import { FollowerSession, type UpstreamHost } from './follower-session.js';
import { decodeAck, encodeFrame, encodeJsonFrame, type Frame, FrameDecoder, FrameError, FrameType, parseJsonBody } from './frames.js';

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

export class ReplicationServer {
  private server: net.Server | undefined;
  readonly sessions = new Set<FollowerSession>();
  private connections = 0;
  private unauthenticated = 0;
  /** Connections refused at the caps (exposed in /metrics). */
  refused = 0;
  private readonly verifier: Verifier;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: UpstreamHost,
    private readonly heartbeatMs: number,
  ) {
    // HELLOs must be signed for this node and cluster: one captured on its way to another upstream
    // (the proxy's API can redirect any link) is refused here.
    this.verifier = new Verifier(host.token, { self: { cluster: host.cluster, id: host.id } });
  }

  async listen(hostname: string, port: number): Promise<number> {
    this.server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, hostname, () => resolve());
    });
    this.heartbeat = setInterval(() => this.sendHeartbeats(), this.heartbeatMs);
    this.heartbeat.unref();
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Called whenever the WAL flushed more: stream it. */
  pumpAll(): void {
    for (const s of this.sessions) s.pump();
  }

  /** The lowest LSN a connected, streaming follower still needs (so a checkpoint keeps it). */
  lowestNeededLsn(): number {
    let min = Infinity;
    for (const s of this.sessions) if (s.streaming && !s.closed) min = Math.min(min, s.nextLsn);
    return min;
  }

  /** Ends every follower session (a leader that stepped down); followers reconnect by themselves. */
  closeAll(reason: string): void {
    for (const s of this.sessions) s.close(reason);
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private sendHeartbeats(): void {
    if (this.sessions.size === 0) return;
    const frame = encodeJsonFrame(FrameType.heartbeat, this.host.epoch(), this.host.heartbeatBody());
    for (const s of this.sessions) if (s.streaming) s.send(frame);
  }

  private accept(socket: net.Socket): void {
    if (this.connections >= MAX_CONNECTIONS || this.unauthenticated >= MAX_UNAUTHENTICATED) {
      // Over the cap: refuse at once, reading nothing.
      this.refused++;
      socket.destroy();
      return;
    }
    this.connections++;
    this.unauthenticated++;
    socket.setNoDelay(true);
    const session = new FollowerSession(socket, this.host);
    const decoder = new FrameDecoder(FOLLOWER_FRAME_MAX_BYTES);
    const helloTimer = setTimeout(() => session.close(`no HELLO within ${HELLO_TIMEOUT_MS} ms`), HELLO_TIMEOUT_MS);
    helloTimer.unref();
    let chain = Promise.resolve();
    const onData = (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e: unknown) {
        // Stop reading before anything else arrives: a stream that lost framing is dropped.
        socket.off('data', onData);
        socket.pause();
        session.close(`bad frame from ${session.address}: ${(e as Error).message}`);
        return;
      }
      for (const f of frames) {
        chain = chain
          .then(() => this.handle(session, f, helloTimer))
          .catch((e: unknown) => {
            session.close(e instanceof FrameError ? `bad frame from ${session.address}: ${e.message}` : `replication error: ${(e as Error).message}`);
          });
      }
    };
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.connections--;
      if (!session.authenticated) this.unauthenticated--;
      clearTimeout(helloTimer);
      session.closed = true;
      if (this.sessions.delete(session)) this.host.onFollowerLeft(session);
    });
  }

  private async handle(session: FollowerSession, frame: Frame, helloTimer: NodeJS.Timeout): Promise<void> {
    if (session.closed) return;
    if (!session.id) {
      if (frame.type !== FrameType.hello) throw new FrameError(`expected HELLO, got frame type ${frame.type}`);
      clearTimeout(helloTimer);
      await this.onHello(session, frame);
      if (session.id && !session.authenticated && !session.closed) {
        session.authenticated = true;
        this.unauthenticated--;
      }
      return;
    }
    if (frame.type === FrameType.ack) {
      const ack = decodeAck(frame.body);
      session.writtenLsn = ack.writtenLsn;
      session.flushedLsn = ack.flushedLsn;
      session.appliedLsn = ack.appliedLsn;
      session.lastAckMs = Date.now();
      this.host.onFollowerProgress(session);
      return;
    }
    if (frame.type === FrameType.error) {
      session.close(`follower ${session.id} reported: ${String(parseJsonBody(frame).error)}`);
      return;
    }
    throw new FrameError(`unexpected frame type ${frame.type} from follower ${session.id}`);
  }

  private async onHello(session: FollowerSession, frame: Frame): Promise<void> {
    const hello = parseJsonBody(frame);
    const { nodeId, lastLsn, lastEpoch } = hello;
    if (typeof nodeId !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(nodeId)) throw new FrameError('HELLO: nodeId must be a short identifier');
    if (!isLsn(lastLsn) || !isLsn(lastEpoch)) throw new FrameError('HELLO: lastLsn and lastEpoch must be non-negative integers');
    const proof = this.verifier.verifyHello({
      nodeId,
      lastLsn,
      lastEpoch,
      ts: hello.ts,
      nonce: hello.nonce,
      mac: hello.mac,
      to: hello.to,
      cluster: hello.cluster,
    });
    if (!proof.ok) {
      session.close(`HELLO from ${nodeId} refused: ${proof.why}`);
      return;
    }
    if (frame.epoch > this.host.epoch()) {
      this.host.onNewerEpoch(frame.epoch, `HELLO from ${nodeId}`);
      session.close(`HELLO from ${nodeId} carries epoch ${frame.epoch}, newer than this node's ${this.host.epoch()}`);
      return;
    }
    if (!this.host.canServe()) {
      session.close(`${this.host.id} is not streaming from an upstream yet; retrying later`);
      return;
    }
    for (const other of this.sessions) if (other.id === nodeId) other.close(`replaced by a new connection from ${nodeId}`);
    session.id = nodeId;
    this.sessions.add(session);
    const wal = this.host.wal;
    const history = this.host.epochHistory();
    // ackLevel tells the follower when to confirm: after writing, fdatasync or applying.
    const welcome = { leaderHttp: this.host.leaderHttp(), upstreamId: this.host.id, epochHistory: history, ackLevel: this.host.ackLevel };
    // Does the follower's log agree with ours? Where it ends in an epoch ours ended earlier (a
    // returning leader's unreplicated tail, or a follower of a deposed leader), it must cut back.
    const agrees = lastLsn <= wal.lastLsn && epochOf(history, lastLsn) === lastEpoch;
    if (!agrees) {
      const cutTo = divergencePoint(history, wal.lastLsn, lastLsn, lastEpoch);
      if (cutTo < lastLsn && (this.host.isLeader() || lastEpoch !== epochOf(history, wal.lastLsn))) {
        session.send(encodeJsonFrame(FrameType.welcome, this.host.epoch(), { ...welcome, mode: 'truncate', truncateTo: cutTo }));
        this.host.log.warn(
          { follower: nodeId, followerLsn: lastLsn, followerEpoch: lastEpoch, truncateTo: cutTo },
          'replication: follower log diverges; it must rewind',
        );
        session.close(`rewind to lsn ${cutTo}, then reconnect`);
        return;
      }
      if (lastLsn > wal.lastLsn) {
        // Same history, this relay is just behind: the follower waits for it to catch up.
        session.close(`upstream ${this.host.id} is behind (lsn ${wal.lastLsn} < ${lastLsn}); retrying later`);
        return;
      }
    }
    const needsSnapshot = lastLsn < wal.baseLsn || !agrees;
    let startLsn = lastLsn + 1;
    if (needsSnapshot) {
      const snap = await this.host.latestCheckpoint();
      startLsn = snap.lsn + 1;
      session.send(encodeJsonFrame(FrameType.welcome, this.host.epoch(), { ...welcome, mode: 'snapshot', startLsn }));
      this.sendSnapshot(session, snap);
      this.host.log.info(
        { follower: nodeId, followerLsn: lastLsn, snapshotLsn: snap.lsn, bytes: snap.bytes.length },
        'replication: follower bootstraps from snapshot',
      );
    } else {
      session.send(encodeJsonFrame(FrameType.welcome, this.host.epoch(), { ...welcome, mode: 'stream', startLsn }));
      this.host.log.info({ follower: nodeId, from: startLsn }, 'replication: follower streams');
    }
    session.nextLsn = startLsn;
    // Nothing counts as confirmed before the follower's first ACK: HELLO's last LSN may be only
    // appended there, not yet flushed, and a snapshot is not installed until the follower says so.
    // (Counting them was an acknowledgement running ahead of the follower's disk.)
    session.writtenLsn = 0;
    session.flushedLsn = 0;
    session.appliedLsn = 0;
    session.lastAckMs = Date.now();
    session.streaming = true;
    this.host.onFollowerJoined(session);
    session.pump();
  }

  private sendSnapshot(session: FollowerSession, snap: { lsn: number; epoch: number; bytes: Buffer }): void {
    const epoch = this.host.epoch();
    session.send(encodeJsonFrame(FrameType.snapshotBegin, epoch, { lsn: snap.lsn, epoch: snap.epoch, bytes: snap.bytes.length }));
    for (let o = 0; o < snap.bytes.length; o += SNAPSHOT_CHUNK_BYTES) {
      session.send(encodeFrame(FrameType.snapshotChunk, epoch, snap.bytes.subarray(o, o + SNAPSHOT_CHUNK_BYTES)));
    }
    session.send(encodeJsonFrame(FrameType.snapshotEnd, epoch, {}));
  }
}

function isLsn(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
