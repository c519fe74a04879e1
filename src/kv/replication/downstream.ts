/**
 * The receiving side of replication: a follower's connection to its upstream (the leader, or a
 * relay). It says where it is (HELLO: last LSN and epoch), installs a checkpoint when the upstream
 * sends one, appends streamed records to its own WAL and reports flushed/applied LSNs in ACKs.
 * Lost connections are retried with capped, jittered backoff, forever: catching up after a crash
 * or a partition needs no manual step.
 */
import type { HostPort } from '../../lib/addr.js';
import { signHello } from '../../lib/auth.js';
import { toError } from '../../lib/errors.js';
import type { Clock, Timer } from '../../lib/io/clock.js';
import type { Connection, Network } from '../../lib/io/network.js';
import type { Logger } from '../../lib/log.js';
import type { AckLevel } from '../config.js';
import type { EpochStart } from '../state/meta.js';
import { controlFrame, ErrorBodySchema, HeartbeatSchema, parseBody, SnapshotBeginSchema, WelcomeSchema } from './bodies.js';
import { encodeAck, encodeFrame, type Frame, FrameDecoder, FrameError, FrameType } from './frames.js';

export interface DownstreamHost {
  readonly id: string;
  /** The cluster's name: the HELLO is signed for it and for the upstream's id. */
  readonly cluster: string;
  readonly token: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly network: Network;
  epoch(): number;
  lastLsn(): number;
  lastEpoch(): number;
  writtenLsn(): number;
  flushedLsn(): number;
  /** False while this node's log cannot take records (a full disk): connecting would only fail. */
  canAppend(): boolean;
  appliedLsn(): number;
  /** A newer epoch arrived from upstream: persist it before acting on its frames. */
  adoptEpoch(epoch: number): Promise<void>;
  /**
   * The upstream's log diverges after `lsn`: cut this node's log back to it, provided the log still
   * ends where the HELLO that led to this answer said (`said`); otherwise the answer is stale.
   */
  rewind(lsn: number, said: { lastLsn: number; lastEpoch: number }): Promise<void>;
  /** Installs a checkpoint; `history` is the upstream's epoch history (the log before it is theirs). */
  installSnapshot(bytes: Buffer, history: EpochStart[]): Promise<void>;
  /** Appends the records in a RECORDS body; throws FrameError on anything malformed. */
  appendReplicated(body: Buffer): void;
  onUpstreamInfo(info: UpstreamInfoUpdate): void;
}

/** What a follower hears about its upstream: from WELCOME (who it is) and HEARTBEAT (the leader's position and clock). */
export interface UpstreamInfoUpdate {
  leaderHttp?: string | null;
  upstreamId?: string;
  lastLsn?: number | undefined;
  commitLsn?: number | undefined;
  timeMs?: number | undefined;
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2000;

export class UpstreamLink {
  private isConnected = false;
  private isStreaming = false;
  /** The upstream's ack level (from WELCOME): whether it wants an ACK as soon as records are written. */
  private upstreamAckLevel: AckLevel = 'flush';
  /** When the last frame arrived from upstream (ms). */
  private lastFrameMs = 0;
  private socket: Connection | undefined;
  private stopped = false;
  private backoffMs = BACKOFF_MIN_MS;
  private retryTimer: Timer | undefined;
  private ackTimer: Timer | undefined;
  /** Set while the log is cut back on the upstream's word: no new connection until it is done. */
  private rewinding = false;
  private snapshot: { expected: number; chunks: Buffer[]; received: number } | undefined;
  private upstreamHistory: EpochStart[] = [];

  constructor(
    private readonly host: DownstreamHost,
    readonly upstream: HostPort,
    /** The upstream's node id: the HELLO is signed for it, so a captured HELLO is refused by any other node. */
    readonly upstreamId: string,
    private readonly heartbeatMs: number,
  ) {}

  get connected(): boolean {
    return this.isConnected;
  }
  /** Connected and past WELCOME (and its snapshot, if one came): records flow. */
  get streaming(): boolean {
    return this.isStreaming;
  }
  get ackLevel(): AckLevel {
    return this.upstreamAckLevel;
  }

  start(): void {
    this.connect();
    // Idle followers still ack periodically, and a silent upstream is detected (a paused leader
    // keeps its TCP connections open, so only the absence of heartbeats shows it).
    this.ackTimer = this.host.clock.every(this.heartbeatMs, () => {
      if (this.streaming) this.sendAck();
      // Also before WELCOME: an upstream that accepted the connection but never answers HELLO
      // (paused, or not a replab node) must not hold this follower forever.
      if (this.connected && this.host.clock.now() - this.lastFrameMs > Math.max(10 * this.heartbeatMs, 1000)) this.drop('no frame from upstream for too long');
    });
  }

  stop(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.ackTimer?.cancel();
    this.socket?.destroy();
  }

  sendAck(): void {
    if (!this.socket || !this.streaming) return;
    const body = encodeAck({ writtenLsn: this.host.writtenLsn(), flushedLsn: this.host.flushedLsn(), appliedLsn: this.host.appliedLsn() });
    this.socket.write(encodeFrame(FrameType.ack, this.host.epoch(), body));
  }

  /**
   * This node's log stopped taking records (a full disk, src/kv/wal-stall.ts): leave the upstream
   * now rather than at the next frame, and stay away until `resume`. Records already streamed past
   * what the log kept are forgotten with it; the next HELLO says where the log really ends.
   */
  suspend(reason: string): void {
    if (this.socket && !this.socket.destroyed) this.drop(reason);
  }

  /** The log takes records again: reconnect at once. */
  resume(): void {
    if (this.stopped || this.connected) return;
    this.retryTimer?.cancel();
    this.backoffMs = BACKOFF_MIN_MS;
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    if (!this.host.canAppend()) {
      this.scheduleReconnect();
      return;
    }
    const socket = this.host.network.connect(this.upstream.host, this.upstream.port);
    this.socket = socket;
    const decoder = new FrameDecoder();
    let chain = Promise.resolve();
    /** Where this connection's HELLO said the log ends: the upstream's answer is about that log. */
    const said = { lastLsn: 0, lastEpoch: 0 };
    socket.on('connect', () => {
      this.isConnected = true;
      this.lastFrameMs = this.host.clock.now();
      said.lastLsn = this.host.lastLsn();
      said.lastEpoch = this.host.lastEpoch();
      // A proof of the token, not the token: this connection crosses the cluster's fault proxy.
      const hello = { nodeId: this.host.id, ...said };
      const proof = signHello(this.host.token, { ...hello, nowMs: this.host.clock.now(), target: { cluster: this.host.cluster, upstream: this.upstreamId } });
      socket.write(controlFrame.hello(this.host.epoch(), { ...hello, ...proof }));
    });
    socket.on('data', (chunk: Buffer) => {
      // Liveness is judged by bytes arriving, not by how fast this node processes them (installing
      // a large snapshot may take a while).
      this.lastFrameMs = this.host.clock.now();
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e: unknown) {
        this.drop(`bad frame from upstream: ${toError(e).message}`);
        return;
      }
      for (const f of frames) {
        chain = chain
          // Frames of a connection already dropped are not acted on: what they carry comes again,
          // from where the next HELLO says this node's log ends.
          .then(() => (this.socket === socket && !socket.destroyed ? this.handle(f, socket, said) : undefined))
          .catch((e: unknown) => this.drop(e instanceof FrameError ? `bad frame from upstream: ${e.message}` : `replication error: ${toError(e).message}`));
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.isConnected = false;
      this.isStreaming = false;
      // A rewind in progress reconnects when it is done, with the log it leaves.
      if (this.rewinding) return;
      this.snapshot = undefined;
      this.scheduleReconnect();
    });
  }

  private drop(reason: string): void {
    this.host.log.warn({ upstream: this.upstream, reason }, 'replication: dropping upstream connection');
    this.socket?.destroy();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.backoffMs * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.retryTimer = this.host.clock.after(delay, () => this.connect());
  }

  private async handle(frame: Frame, socket: Connection, said: { lastLsn: number; lastEpoch: number }): Promise<void> {
    if (this.stopped) return;
    if (frame.epoch < this.host.epoch())
      throw new FrameError(`frame from epoch ${frame.epoch}, older than this node's ${this.host.epoch()}: refusing a stale upstream`);
    if (frame.epoch > this.host.epoch()) await this.host.adoptEpoch(frame.epoch);
    switch (frame.type) {
      case FrameType.welcome: {
        const w = parseBody(frame, WelcomeSchema);
        this.upstreamHistory = w.epochHistory;
        this.host.onUpstreamInfo({ leaderHttp: w.leaderHttp, upstreamId: w.upstreamId });
        if (w.mode === 'truncate') {
          if (w.truncateTo >= this.host.lastLsn())
            throw new FrameError(`WELCOME: truncateTo must be an LSN below this node's last (${this.host.lastLsn()}), got ${w.truncateTo}`);
          // The upstream closes this session after its answer; reconnecting before the rewind is
          // done would stream records onto a log that is still being cut.
          this.rewinding = true;
          try {
            await this.host.rewind(w.truncateTo, said);
          } finally {
            this.rewinding = false;
          }
          // Reconnect at once with the shortened log.
          this.backoffMs = BACKOFF_MIN_MS;
          if (socket.destroyed) this.scheduleReconnect();
          else socket.destroy();
          return;
        }
        this.isStreaming = w.mode === 'stream';
        this.upstreamAckLevel = w.ackLevel;
        this.backoffMs = BACKOFF_MIN_MS;
        // The upstream counts nothing as confirmed by this node until it acks (HELLO's last LSN
        // may not be flushed yet): say where it stands at once.
        this.sendAck();
        this.host.log.info({ upstream: this.upstream, mode: w.mode, startLsn: w.startLsn }, 'replication: connected to upstream');
        return;
      }
      case FrameType.snapshotBegin: {
        const b = parseBody(frame, SnapshotBeginSchema);
        this.snapshot = { expected: b.bytes, chunks: [], received: 0 };
        return;
      }
      case FrameType.snapshotChunk: {
        if (!this.snapshot) throw new FrameError('SNAPSHOT_CHUNK outside a snapshot');
        this.snapshot.chunks.push(Buffer.from(frame.body));
        this.snapshot.received += frame.body.length;
        if (this.snapshot.received > this.snapshot.expected) throw new FrameError('snapshot longer than announced');
        return;
      }
      case FrameType.snapshotEnd: {
        const snap = this.snapshot;
        if (!snap || snap.received !== snap.expected) throw new FrameError('snapshot ended early');
        this.snapshot = undefined;
        await this.host.installSnapshot(Buffer.concat(snap.chunks), this.upstreamHistory);
        this.isStreaming = true;
        this.sendAck();
        return;
      }
      case FrameType.records:
        if (!this.streaming) throw new FrameError('RECORDS before the stream started');
        this.host.appendReplicated(frame.body);
        return;
      case FrameType.heartbeat:
        this.host.onUpstreamInfo(parseBody(frame, HeartbeatSchema));
        return;
      case FrameType.error:
        this.drop(`upstream refused: ${parseBody(frame, ErrorBodySchema).error}`);
        return;
      default:
        throw new FrameError(`unexpected frame type ${frame.type} from upstream`);
    }
  }
}
