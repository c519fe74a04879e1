/**
 * An in-memory network: listeners by "host:port", connections as pairs of Duplex streams whose
 * bytes are delivered on the simulated clock. A link between two hosts can be cut (connections
 * on it are destroyed and new ones refused) and healed, which is what a partition looks like to a
 * node. HTTP servers are served by handing them the connections (Node's parser runs unchanged).
 *
 * Delivery order is the write order per direction. A link may be given a latency (`delay`): each
 * chunk then arrives that much later, and bytes in flight count against the writer's high-water
 * mark, so a slow link pushes back on its writer (`write` returns false, 'drain' follows) as a
 * full TCP window does. Runs are deterministic for a deterministic sequence of writes.
 */
import type http from 'node:http';
import { Duplex } from 'node:stream';
import type { Clock } from '../lib/io/clock.js';
import type { Connection, Listener, Network } from '../lib/io/network.js';

class SimSocket extends Duplex {
  peer: SimSocket | undefined;
  /** Bytes written and not yet delivered to the peer. */
  private inFlight = 0;
  private wantsDrain = false;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** The two hosts this connection joins, for cutting links. */
  link: [string, string] = ['', ''];
  /** The listener that accepted it (server side only). */
  acceptedBy: string | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly latencyMs: (link: [string, string]) => number,
  ) {
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  // biome-ignore lint/suspicious/noExplicitAny: Duplex.write's overloads are forwarded as they are.
  override write(...args: any[]): boolean {
    super.write(...(args as Parameters<Duplex['write']>));
    const ok = this.inFlight < this.writableHighWaterMark;
    if (!ok) this.wantsDrain = true;
    return ok;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    const peer = this.peer;
    const copy = Buffer.from(chunk);
    this.inFlight += copy.length;
    const deliver = () => {
      if (peer && !peer.destroyed && !this.destroyed) peer.push(copy);
      this.inFlight -= copy.length;
      if (this.wantsDrain && this.inFlight < this.writableHighWaterMark) {
        this.wantsDrain = false;
        this.emit('drain');
      }
    };
    const ms = this.latencyMs(this.link);
    if (ms > 0) this.clock.after(ms, deliver);
    else this.clock.soon(deliver);
    done();
  }

  override _final(done: (e?: Error | null) => void): void {
    const peer = this.peer;
    this.clock.soon(() => {
      if (peer && !peer.destroyed) peer.push(null);
    });
    done();
  }

  override _destroy(err: Error | null, done: (e: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer) this.clock.soon(() => peer.destroy());
    done(err);
  }

  setNoDelay(): this {
    return this;
  }
}

export class SimNetwork implements Network {
  private readonly listeners = new Map<string, (c: Connection) => void>();
  private readonly cut = new Set<string>();
  private readonly open = new Set<SimSocket>();
  private readonly latency = new Map<string, number>();
  private nextPort = 40_000;

  constructor(private readonly clock: Clock) {}

  async listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener> {
    const p = port === 0 ? this.nextPort++ : port;
    const key = `${host}:${p}`;
    if (this.listeners.has(key)) throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${key}`), { code: 'EADDRINUSE' });
    this.listeners.set(key, onConnection);
    return {
      port: p,
      close: async () => {
        this.listeners.delete(key);
      },
    };
  }

  /** The network as host `name` sees it: its connections start from `name` (for partitions). */
  host(name: string): Network {
    return {
      listen: (h, port, onConnection) => this.listen(h, port, onConnection),
      connect: (h, port) => this.connect(h, port, name),
      serveHttp: (server, h, port) => this.serveHttp(server, h, port),
    };
  }

  /** `from`: the connecting host's name for link cuts (defaults to "client"). */
  connect(host: string, port: number, from = 'client'): Connection {
    const latencyOf = (link: [string, string]) => this.latency.get(linkKey(link[0], link[1])) ?? 0;
    const client = new SimSocket(this.clock, latencyOf);
    const key = `${host}:${port}`;
    this.clock.soon(() => {
      const accept = this.listeners.get(key);
      if (!accept || this.cut.has(linkKey(from, host))) {
        client.destroy(Object.assign(new Error(`connect ECONNREFUSED ${key}`), { code: 'ECONNREFUSED' }));
        return;
      }
      const server = new SimSocket(this.clock, latencyOf);
      client.peer = server;
      server.peer = client;
      client.link = server.link = [from, host];
      server.acceptedBy = key;
      server.remoteAddress = from;
      server.remotePort = this.nextPort++;
      client.remoteAddress = host;
      client.remotePort = port;
      for (const s of [client, server]) {
        this.open.add(s);
        s.once('close', () => this.open.delete(s));
      }
      accept(server);
      client.emit('connect');
    });
    return client;
  }

  async serveHttp(server: http.Server, host: string, port: number): Promise<Listener> {
    const listener = await this.listen(host, port, (c) => server.emit('connection', c));
    return {
      port: listener.port,
      close: async () => {
        await listener.close();
        const key = `${host}:${listener.port}`;
        for (const s of [...this.open]) if (s.acceptedBy === key) s.destroy();
      },
    };
  }

  /** Cuts the link between hosts `a` and `b` both ways: open connections die, new ones are refused. */
  partition(a: string, b: string): void {
    this.cut.add(linkKey(a, b));
    for (const s of [...this.open]) if (linkKey(s.link[0], s.link[1]) === linkKey(a, b)) s.destroy();
  }

  heal(a: string, b: string): void {
    this.cut.delete(linkKey(a, b));
  }

  /** Every chunk between hosts `a` and `b` (both ways) arrives `ms` after it was written; 0 restores. */
  delay(a: string, b: string, ms: number): void {
    if (ms > 0) this.latency.set(linkKey(a, b), ms);
    else this.latency.delete(linkKey(a, b));
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
