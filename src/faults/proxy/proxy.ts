/**
 * One proxy: a TCP listener that forwards each accepted connection to `upstream`, with two links
 * (upstream = client → server, downstream = server → client) that carry the proxy's toxics.
 *
 * Disabling a proxy closes its listener and every open connection (new connections are refused);
 * enabling it listens again on the same address. A change is all or nothing (`reconfigure`): a
 * new listen address is bound before the old listener closes, so an address in use leaves the
 * proxy where it was; a new upstream drops the open connections, which lead to the old one.
 */

import net from 'node:net';
import { boundAddress, isLoopbackHost } from '../../lib/addr.js';
import { isRecord } from '../../lib/schema.js';
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
  // One spelling per address, so two addresses compare equal exactly when they are the same: the
  // resolver reads 127.0.0.010 as octal (127.0.0.8), and an octet above 255 is no address at all.
  if (host.split('.').some((octet) => /^0\d/.test(octet) || Number(octet) > 255))
    throw new ToxicError(`bad address "${address}": write each number of the IPv4 address in decimal, 0 to 255, without leading zeros`, 400);
  return { host, port: Number(m[2]) };
}

/** An address as one comparable string: localhost and an empty host are 127.0.0.1, IPv6 bracketed. */
export function addressKey(address: string): string {
  const { host, port } = splitHostPort(address);
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Whether two addresses name the same bound socket (never for port 0, which is "any port"). */
export function sameAddress(a: string, b: string): boolean {
  const key = addressKey(a);
  return key === addressKey(b) && !key.endsWith(':0');
}

export interface ProxyConfig {
  listen: string;
  upstream: string;
  enabled: boolean;
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

  /**
   * Takes `next` whole, or fails and leaves the proxy exactly as it was. `vet` may refuse the
   * listen address by throwing: it sees the address as given before anything changes and, once a
   * new listener is bound, again as bound (port 0 resolved); a refusal then closes that listener
   * and changes nothing. Binding fails with 409 when the address is in use.
   */
  async reconfigure(next: ProxyConfig, vet: (listen: string) => void): Promise<void> {
    splitHostPort(next.listen);
    splitHostPort(next.upstream);
    const listen = sameAddress(next.listen, this.listen) ? this.listen : next.listen;
    vet(listen);
    if (!next.enabled) {
      await this.stop();
      this.listen = listen;
      this.upstream = next.upstream;
      return;
    }
    const rebind = !this.server || listen !== this.listen;
    let server = this.server;
    let bound = this.listen;
    if (rebind) {
      ({ server, listen: bound } = await bind(listen, (client) => this.accept(client)));
      try {
        vet(bound);
      } catch (e: unknown) {
        await closeServer(server);
        throw e;
      }
    }
    // Nothing below can fail: commit. Nothing was awaited since the bind, so the new listener has
    // accepted no connection yet; every one it accepts sees the new upstream.
    const old = rebind ? this.server : undefined;
    const newUpstream = !sameAddress(next.upstream, this.upstream);
    this.server = server;
    this.listen = bound;
    this.upstream = next.upstream;
    this.enabled = true;
    if (old || newUpstream) for (const c of [...this.connections]) c.close('end');
    if (old) await closeServer(old);
  }

  /** Stops listening and drops every connection. */
  async stop(): Promise<void> {
    this.enabled = false;
    const server = this.server;
    this.server = undefined;
    for (const c of [...this.connections]) c.close('end');
    if (server) await closeServer(server);
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
    // The name is the one in the path; a body that is no object is refused by parseToxic as it is.
    const toxic = parseToxic(isRecord(body) ? { ...body, name } : body, existing);
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

/** A listener on `listen`, not yet serving anyone's proxy; 409 when the address is in use. */
async function bind(listen: string, onConnection: (client: net.Socket) => void): Promise<{ server: net.Server; listen: string }> {
  const { host, port } = splitHostPort(listen);
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ToxicError(`listen address ${listen} is already in use`, 409)
          : new ToxicError(`cannot listen on ${listen}: ${e.message}`, 400),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  server.on('error', () => {});
  const addr = boundAddress(server);
  return { server, listen: `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}` };
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
