/**
 * One proxy: a TCP listener that forwards each accepted connection to `upstream`, with two links
 * (upstream = client → server, downstream = server → client) that carry the proxy's toxics.
 *
 * Disabling a proxy closes its listener and every open connection (new connections are refused);
 * enabling it listens again on the same address. Changing listen or upstream restarts it.
 */

import net from 'node:net';
import { isLoopbackHost } from '../../lib/addr.js';
import { Link, type LinkOwner } from './link.js';
import type { Stream, Toxic } from './toxics.js';
import { parseToxic, ToxicError } from './toxics.js';

export interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: Toxic[];
}

class Connection implements LinkOwner {
  readonly links: Link[] = [];
  private done = false;

  constructor(
    readonly client: net.Socket,
    readonly server: net.Socket,
    private readonly proxy: TcpProxy,
  ) {}

  toxics(stream: Stream): Toxic[] {
    return stream === 'upstream' ? this.proxy.upstreamToxics : this.proxy.downstreamToxics;
  }

  close(how: 'end' | 'reset'): void {
    if (this.done) return;
    this.done = true;
    for (const l of this.links) l.dispose();
    for (const s of [this.client, this.server]) {
      if (how === 'reset' && !s.destroyed) s.resetAndDestroy();
      else s.destroy();
    }
    this.proxy.forget(this);
  }
}

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) > 65535) throw new ToxicError(`bad address "${address}": expected host:port`, 400);
  const host = m[1] === '' || m[1] === 'localhost' ? '127.0.0.1' : m[1]!;
  // Everything replab runs stays on loopback: a proxy neither listens on nor forwards to another address.
  if (!isLoopbackHost(host))
    throw new ToxicError(`address "${address}" is not on loopback: replab's proxies listen on and forward to 127.0.0.0/8 or ::1 only`, 400);
  return { host, port: Number(m[2]) };
}

export class TcpProxy {
  toxicList: Toxic[] = [];
  /** toxicList split by stream, recomputed on every change (read for every chunk). */
  upstreamToxics: Toxic[] = [];
  downstreamToxics: Toxic[] = [];
  enabled = false;
  private server: net.Server | undefined;
  private readonly connections = new Set<Connection>();

  constructor(
    readonly name: string,
    public listen: string,
    public upstream: string,
  ) {}

  toJSON(): ProxyJson {
    return { name: this.name, listen: this.listen, upstream: this.upstream, enabled: this.enabled, toxics: this.toxicList };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts listening; resolves the port 0 in `listen` to the real port. 409 when the address is taken. */
  async start(): Promise<void> {
    if (this.server) return;
    const { host, port } = splitHostPort(this.listen);
    splitHostPort(this.upstream);
    const server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'EADDRINUSE'
            ? new ToxicError(`listen address ${this.listen} is already in use`, 409)
            : new ToxicError(`cannot listen on ${this.listen}: ${e.message}`, 400),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    server.on('error', () => {});
    this.server = server;
    const addr = server.address() as net.AddressInfo;
    this.listen = `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
    this.enabled = true;
  }

  /** Stops listening and drops every connection. */
  async stop(): Promise<void> {
    this.enabled = false;
    const server = this.server;
    this.server = undefined;
    for (const c of [...this.connections]) c.close('end');
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  forget(c: Connection): void {
    this.connections.delete(c);
  }

  private accept(client: net.Socket): void {
    client.setNoDelay(true);
    client.pause();
    const { host, port } = splitHostPort(this.upstream);
    const server = net.connect({ host, port, allowHalfOpen: true });
    server.setNoDelay(true);
    const conn = new Connection(client, server, this);
    this.connections.add(conn);
    server.once('connect', () => {
      conn.links.push(new Link(client, server, 'upstream', conn), new Link(server, client, 'downstream', conn));
      client.resume();
    });
    // Half-closes travel through the links (each ends its destination once drained); an error or
    // a reset on either side tears the pair down, and so does an upstream that refuses.
    let closedSockets = 0;
    for (const s of [client, server]) {
      s.on('error', () => conn.close('end'));
      s.once('close', (hadError: boolean) => {
        if (hadError || ++closedSockets === 2) conn.close('end');
      });
    }
  }

  // ---- toxics ------------------------------------------------------------------------------

  addToxic(body: unknown): Toxic {
    const toxic = parseToxic(body);
    if (this.toxicList.some((t) => t.name === toxic.name)) throw new ToxicError('toxic already exists', 409);
    this.toxicList = [...this.toxicList, toxic];
    this.notify();
    return toxic;
  }

  updateToxic(name: string, body: unknown): Toxic {
    const existing = this.getToxic(name);
    const toxic = parseToxic({ ...(body as object), name }, existing);
    this.toxicList = this.toxicList.map((t) => (t.name === name ? toxic : t));
    this.notify();
    return toxic;
  }

  removeToxic(name: string): void {
    this.getToxic(name);
    this.toxicList = this.toxicList.filter((t) => t.name !== name);
    this.notify();
  }

  getToxic(name: string): Toxic {
    const t = this.toxicList.find((x) => x.name === name);
    if (!t) throw new ToxicError('toxic not found', 404);
    return t;
  }

  resetToxics(): void {
    this.toxicList = [];
    this.notify();
  }

  private notify(): void {
    this.upstreamToxics = this.toxicList.filter((t) => t.stream === 'upstream');
    this.downstreamToxics = this.toxicList.filter((t) => t.stream === 'downstream');
    for (const c of this.connections) for (const l of c.links) l.toxicsChanged();
  }
}
