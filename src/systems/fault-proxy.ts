/**
 * The cluster's fault proxy, as a system starts it: one `replab proxy` process per cluster, one
 * named link per connection the nemeses may cut or slow (src/faults/links.ts names them). The
 * built-in systems and users' modules start it the same way (`faultProxy` is in the public
 * exports, `replab/system`), so a module never needs the binary's path, its API port or the link
 * naming rules.
 *
 * Ports: a node's port is reserved (bound, unused) until every link exists, because the proxy's
 * own listeners bind port 0 and could otherwise be handed a node's port before the node takes it.
 */
import path from 'node:path';
import { ProcessLauncher } from '../cluster/launcher-process.js';
import { stopGracefully } from '../cluster/process-control.js';
import { clientLink, ensureLinks, monitorLink, replInto, replLink } from '../faults/links.js';
import { type Toxiproxy, toxiproxyClient } from '../faults/toxiproxy.js';
import { reservePort } from '../lib/addr.js';
import { UsageError } from '../lib/errors.js';

/**
 * The kinds of link `faultProxy` makes for every node (each to the node's own port):
 *   client       `client:<n>`: clients (workloads) to node n
 *   monitor      `monitor:<n>`: the failover manager or coordinator to node n
 *   repl         `repl:<a>-><n>`: node a replicating from node n, one per ordered pair
 *   repl-into    `repl:*-><n>`: replication into n from any node (one advertised address)
 */
export const LINK_KINDS = ['client', 'monitor', 'repl', 'repl-into'] as const;
export type ProxyLinkKind = (typeof LINK_KINDS)[number];

/** A running fault proxy: the links it carries, and the client nemeses drive it with. */
export class FaultProxy {
  private readonly linkMap: Record<string, string> = {};

  private constructor(
    readonly pid: number,
    /** The proxy's HTTP API (a Toxiproxy-compatible one), host:port. */
    readonly api: string,
    private readonly client: Toxiproxy,
  ) {}

  /** Starts a proxy whose state lives in `dir` (log: `logFile`, default `<dir>/proxy.log`). */
  static async start(o: { dir: string; logFile?: string }): Promise<FaultProxy> {
    const ep = await new ProcessLauncher('').start('proxy', ['proxy', '--port', '0', '--state-dir', o.dir], {
      dir: o.dir,
      logFile: o.logFile ?? path.join(o.dir, 'proxy.log'),
      kind: 'proxy',
    });
    return new FaultProxy(ep.pid, ep.http, toxiproxyClient(ep.http));
  }

  /** Creates links (name → upstream host:port); answers name → the address to dial instead. */
  async addLinks(wanted: Record<string, string>): Promise<Record<string, string>> {
    const made = await ensureLinks(this.client, wanted);
    Object.assign(this.linkMap, made);
    return made;
  }

  /** Every link: name → listen address (what a system's `links()` answers). */
  links(): Record<string, string> {
    return { ...this.linkMap };
  }

  /** The address to dial for link `name` (a UsageError naming the known links when there is none). */
  address(name: string): string {
    const a = this.linkMap[name];
    if (!a) throw new UsageError(`the fault proxy has no link "${name}" (links: ${Object.keys(this.linkMap).join(', ') || 'none'})`);
    return a;
  }

  /** The client nemeses use to cut and slow links (what a system's `toxiproxy()` answers). */
  toxiproxy(): Toxiproxy {
    return this.client;
  }

  /** Stops the proxy process (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(graceMs = 3000): Promise<void> {
    await stopGracefully(this.pid, graceMs);
  }
}

/** What `faultProxy` answers: the proxy, where each node must listen, and where to dial it. */
export interface ClusterLinks {
  proxy: FaultProxy;
  /** node id → the loopback port the node must listen on (free: reserved until the links existed). */
  ports: Record<string, number>;
  /** Where clients dial node `id` (link `client:<id>`). */
  client(id: string): string;
  /** Where the failover manager dials node `id` (link `monitor:<id>`). */
  monitor(id: string): string;
  /** Where node `from` dials node `to` for replication (`repl:<from>-><to>`, else `repl:*-><to>`). */
  repl(from: string, to: string): string;
}

/**
 * Starts a fault proxy for `nodes` with one link of each of `kinds` per node (LINK_KINDS), each
 * to a fresh loopback port per node that the node must then listen on (`ports`). A system with
 * more than one port per node, or links to something else (a coordinator), uses
 * `FaultProxy.start` and `addLinks` with the link names of its choice instead.
 */
export async function faultProxy(o: { dir: string; nodes: readonly string[]; kinds: readonly ProxyLinkKind[]; logFile?: string }): Promise<ClusterLinks> {
  for (const k of o.kinds)
    if (!(LINK_KINDS as readonly string[]).includes(k)) throw new UsageError(`faultProxy: "${k}" is not a link kind (kinds: ${LINK_KINDS.join(', ')})`);
  if (new Set(o.nodes).size !== o.nodes.length || o.nodes.length === 0) throw new UsageError('faultProxy: nodes must be a non-empty list of distinct ids');
  const proxy = await FaultProxy.start({ dir: o.dir, ...(o.logFile ? { logFile: o.logFile } : {}) });
  const held = new Map<string, { port: number; release: () => Promise<void> }>();
  try {
    for (const id of o.nodes) held.set(id, await reservePort());
    const wanted: Record<string, string> = {};
    for (const id of o.nodes) {
      const to = `127.0.0.1:${held.get(id)!.port}`;
      if (o.kinds.includes('client')) wanted[clientLink(id)] = to;
      if (o.kinds.includes('monitor')) wanted[monitorLink(id)] = to;
      if (o.kinds.includes('repl-into')) wanted[replInto(id)] = to;
      if (o.kinds.includes('repl')) for (const from of o.nodes) if (from !== id) wanted[replLink(from, id)] = to;
    }
    await proxy.addLinks(wanted);
  } catch (e: unknown) {
    await proxy.stop().catch(() => {});
    throw e;
  } finally {
    for (const r of held.values()) await r.release();
  }
  const links = proxy.links();
  return {
    proxy,
    ports: Object.fromEntries([...held].map(([id, r]) => [id, r.port])),
    client: (id) => proxy.address(clientLink(id)),
    monitor: (id) => proxy.address(monitorLink(id)),
    repl: (from, to) => links[replLink(from, to)] ?? proxy.address(replInto(to)),
  };
}
