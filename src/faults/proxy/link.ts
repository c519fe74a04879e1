/**
 * One direction of one proxied connection (client → upstream is the "upstream" stream, upstream
 * → client the "downstream" one), and the toxics on it. Data is queued with its arrival time and
 * released in order; the toxics read the proxy's current toxic list for every chunk, so adding or
 * removing a toxic changes connections that are already open.
 *
 * Each toxic is rolled against its `toxicity` once per link (and again when it is updated), as
 * Toxiproxy does. The source socket is paused while too much is queued, so a slow or held link
 * pushes back on the sender the way a congested TCP path would.
 */
import type net from 'node:net';
import { MAX_TIMER_MS, type Stream, type Toxic } from './toxics.js';

const HIGH_WATER_BYTES = 1024 * 1024;

export interface LinkOwner {
  /** The proxy's toxics for this link's stream, in the order they were added. */
  toxics(stream: Stream): Toxic[];
  /** Close the whole connection: both sockets, gracefully or with a reset. */
  close(how: 'end' | 'reset'): void;
}

interface Roll {
  key: string;
  active: boolean;
  bytes: number;
  timer?: NodeJS.Timeout;
}

export class Link {
  private queue: Array<{ buf: Buffer; at: number }> = [];
  private queued = 0;
  private running = false;
  private srcEnded = false;
  private finished = false;
  private closed = false;
  private latencyReleaseAt = 0;
  private bandwidthCredit = 0;
  private readonly rolls = new Map<string, Roll>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    readonly stream: Stream,
    private readonly owner: LinkOwner,
  ) {
    src.on('data', (chunk: Buffer) => {
      // Fast path, the common case: no toxic on this stream and nothing queued. Forward at once
      // and let the destination's buffer push back on the source.
      if (!this.running && this.queue.length === 0 && this.owner.toxics(this.stream).length === 0) {
        if (!dst.write(chunk)) {
          src.pause();
          dst.once('drain', () => src.resume());
        }
        return;
      }
      this.queue.push({ buf: chunk, at: performance.now() });
      this.queued += chunk.length;
      if (this.queued > HIGH_WATER_BYTES) src.pause();
      void this.run();
    });
    src.on('end', () => {
      this.srcEnded = true;
      void this.run();
    });
    this.toxicsChanged();
  }

  /** Called when the proxy's toxics change: re-roll, start timers, wake a held queue. */
  toxicsChanged(): void {
    const current = this.owner.toxics(this.stream);
    const keys = new Set<string>();
    for (const t of current) {
      const key = `${t.name}|${t.type}|${t.toxicity}|${JSON.stringify(t.attributes)}`;
      keys.add(t.name);
      const prev = this.rolls.get(t.name);
      if (prev?.key === key) continue;
      if (prev?.timer) clearTimeout(prev.timer);
      const roll: Roll = { key, active: Math.random() < t.toxicity || t.toxicity >= 1, bytes: 0 };
      this.rolls.set(t.name, roll);
      if (roll.active && (t.type === 'reset_peer' || (t.type === 'timeout' && t.attributes.timeout! > 0))) {
        roll.timer = setTimeout(() => this.owner.close(t.type === 'reset_peer' ? 'reset' : 'end'), t.attributes.timeout!);
        roll.timer.unref();
      }
    }
    for (const [name, roll] of this.rolls) {
      if (keys.has(name)) continue;
      if (roll.timer) clearTimeout(roll.timer);
      this.rolls.delete(name);
    }
    this.wake?.();
  }

  /** The connection is gone: stop timers and the pump. */
  dispose(): void {
    this.closed = true;
    for (const r of this.rolls.values()) if (r.timer) clearTimeout(r.timer);
    this.queue = [];
    this.wake?.();
  }

  private active(): Array<{ toxic: Toxic; roll: Roll }> {
    const out: Array<{ toxic: Toxic; roll: Roll }> = [];
    for (const t of this.owner.toxics(this.stream)) {
      const roll = this.rolls.get(t.name);
      if (roll?.active) out.push({ toxic: t, roll });
    }
    return out;
  }

  /** Waits `ms`, at most the timer limit (about 24.8 days): a longer wait would fire after 1 ms. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(
        () => {
          this.wake = undefined;
          resolve();
        },
        Math.min(ms, MAX_TIMER_MS),
      );
      // Toxic changes do not cut a delay short; only closing does.
      this.wake = () => {
        if (this.closed) {
          clearTimeout(t);
          resolve();
        }
      };
    });
  }

  /** Waits until no timeout (or pending reset_peer) toxic holds this link, or the connection closes. */
  private async holdWhileBlackholed(): Promise<void> {
    while (!this.closed && this.active().some((a) => a.toxic.type === 'timeout' || a.toxic.type === 'reset_peer')) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        await this.holdWhileBlackholed();
        if (this.closed) return;
        const item = this.queue.shift()!;
        this.queued -= item.buf.length;
        if (this.queued <= HIGH_WATER_BYTES / 2 && this.src.isPaused()) this.src.resume();
        await this.forward(item.buf, item.at);
      }
      if (this.srcEnded && !this.finished && !this.closed && this.queue.length === 0) await this.finish();
    } finally {
      this.running = false;
    }
    // Data that arrived while the last chunk was being released.
    if (!this.closed && (this.queue.length > 0 || (this.srcEnded && !this.finished))) void this.run();
  }

  private async forward(buf: Buffer, arrivedAt: number): Promise<void> {
    const toxics = this.active();
    for (const { toxic } of toxics) {
      if (toxic.type !== 'latency') continue;
      const { latency = 0, jitter = 0 } = toxic.attributes;
      // Each attribute is at most the timer limit, but their sum is not: clamp after adding the
      // jitter, so a long delay stays long instead of collapsing to Node's 1 ms.
      const delay = Math.min(MAX_TIMER_MS, Math.max(0, latency + (jitter > 0 ? (Math.random() * 2 - 1) * jitter : 0)));
      // Every chunk is delayed from when it arrived, never overtaking the one before it.
      this.latencyReleaseAt = Math.max(this.latencyReleaseAt, arrivedAt + delay);
      await this.sleep(this.latencyReleaseAt - performance.now());
    }
    let pieces = [buf];
    const slicer = toxics.find((t) => t.toxic.type === 'slicer')?.toxic;
    const bandwidth = toxics.find((t) => t.toxic.type === 'bandwidth')?.toxic;
    const limit = toxics.find((t) => t.toxic.type === 'limit_data');
    if (slicer && slicer.attributes.average_size! > 0) pieces = slice(buf, slicer.attributes.average_size!, slicer.attributes.size_variation ?? 0);
    for (const [i, piece0] of pieces.entries()) {
      const piece = piece0;
      if (this.closed) return;
      if (slicer && i > 0 && slicer.attributes.delay! > 0) await this.sleep(slicer.attributes.delay! / 1000);
      if (limit) {
        const left = limit.toxic.attributes.bytes! - limit.roll.bytes;
        if (piece.length >= left) {
          if (left > 0) this.dst.write(piece.subarray(0, left));
          limit.roll.bytes += Math.max(left, 0);
          this.owner.close('end');
          return;
        }
        limit.roll.bytes += piece.length;
      }
      if (bandwidth && bandwidth.attributes.rate! > 0) await this.throttle(piece, bandwidth.attributes.rate! * 1000);
      else this.dst.write(piece);
    }
  }

  /** Sends `piece` at `bytesPerSec`, in 100 ms portions so a slow rate is smooth. */
  private async throttle(piece: Buffer, bytesPerSec: number): Promise<void> {
    const portion = Math.max(1, Math.floor(bytesPerSec / 10));
    for (let o = 0; o < piece.length && !this.closed; o += portion) {
      const part = piece.subarray(o, o + portion);
      const now = performance.now();
      // Credit is the time at which the link is free again; idle time does not accumulate.
      this.bandwidthCredit = Math.max(this.bandwidthCredit, now) + (part.length / bytesPerSec) * 1000;
      await this.sleep(this.bandwidthCredit - now - (part.length / bytesPerSec) * 1000);
      this.dst.write(part);
    }
  }

  private async finish(): Promise<void> {
    this.finished = true;
    const slowClose = this.active().find((a) => a.toxic.type === 'slow_close')?.toxic;
    if (slowClose) await this.sleep(slowClose.attributes.delay!);
    if (!this.closed) this.dst.end();
  }
}

function slice(buf: Buffer, average: number, variation: number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length; ) {
    const size = Math.max(1, Math.round(average + (variation > 0 ? (Math.random() * 2 - 1) * variation : 0)));
    out.push(buf.subarray(o, o + size));
    o += size;
  }
  return out;
}
