/**
 * The systems under test, by the name a cluster spec gives in `system:` (or the path of a user's
 * own module, src/systems/external.ts). Each module is imported only when a cluster of it starts
 * (the PostgreSQL one needs node-postgres; replab's node processes need neither).
 */

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { killHard } from '../cluster/process-control.js';
import type { UpOptions } from '../cluster/replab-cluster.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { clientLink, monitorLink, patroniApiLink, replInto, replLink } from '../faults/links.js';
import { describeBuiltinMode } from './describe.js';
import { DISCARD_EVENTS, type EventSink } from './events.js';
import { capabilitiesOf, type SystemCapabilities, type SystemOptions, type SystemUnderTest } from './system.js';

/**
 * Starts the spec's system. `options.events` is where it reports its failovers (the run's sink;
 * without one, events are dropped: `replab cluster up`, benches).
 */
export async function startSystem(spec: ClusterSpec, given: UpOptions & { events?: EventSink }): Promise<SystemUnderTest> {
  const options: SystemOptions = { ...given, events: given.events ?? DISCARD_EVENTS };
  switch (spec.system) {
    case 'replab':
      return (await import('./replab/index.js')).ReplabSystem.up(spec, options);
    case 'postgres':
      return (await import('./postgres/index.js')).PostgresSystem.up(spec, options);
    case 'mariadb':
      return (await import('./mariadb/index.js')).MariadbSystem.up(spec, options);
    case 'redis':
      return (await import('./redis/index.js')).RedisSystem.up(spec, options);
    default:
      // A module of the user's (the suite loader resolved its path and checked that it loads).
      return (await import('./external.js')).startExternalSystem(spec.system, spec, options);
  }
}

/** What a spec's system can measure: a built-in's by name, a module's as it exports them (loaded once, cached by import). */
export async function systemCapabilities(system: string): Promise<SystemCapabilities> {
  const external = await import('./external.js');
  if (!external.isModulePath(system)) return capabilitiesOf(system);
  return capabilitiesOf(system, (await external.loadSystemModule(system)).capabilities);
}

/** A mode's settings in its system's words: a built-in's own, a module's describeMode, else the spec's request. */
export async function describeMode(spec: ClusterSpec): Promise<string> {
  const external = await import('./external.js');
  if (external.isModulePath(spec.system)) {
    const text = external.moduleModeText(await external.loadSystemModule(spec.system), spec.system, spec);
    if (text !== undefined) return text;
  }
  return describeBuiltinMode({ system: spec.system, replication: spec.replication, fencing: spec.fencing });
}

/**
 * The names of every link a cluster of this spec will have behind its proxy, known before it
 * starts, so a suite naming a link that will never exist is refused at load. replab links every
 * ordered pair of nodes (a failover or a relay may point anyone at anyone, so a chain has them
 * all too; MariaDB's replicas are repointed with CHANGE MASTER TO, so it has them all as well); PostgreSQL has one replication link and one API link into each node. A user's module
 * names its links itself: undefined, nothing to check against.
 */
export function linkNames(spec: Pick<ClusterSpec, 'system' | 'nodes'>): string[] | undefined {
  const ids = spec.nodes.map((n) => n.id);
  const perNode = ids.flatMap((id) => [monitorLink(id), clientLink(id)]);
  switch (spec.system) {
    case 'replab':
    case 'mariadb':
      return [...ids.flatMap((a) => ids.filter((b) => b !== a).map((b) => replLink(a, b))), ...perNode];
    case 'postgres':
      return [...ids.flatMap((id) => [replInto(id), patroniApiLink(id)]), ...perNode];
    case 'redis':
      // One link into each node carries both Sentinel's monitoring and replication (redis/index.ts).
      return perNode;
    default:
      return undefined;
  }
}

/** A process the run's system left running, as found in /proc. */
export interface OwnedProcess {
  pid: number;
  command: string;
}

/**
 * The processes a run's system started, found without the system's help, so that none outlives
 * the run: not when up() throws after starting some, not when down() hangs or forgets one, not
 * when the run is interrupted. A system module runs inside the harness, so what it spawns is
 * spawned by this process: while the run is marked, every child inherits an environment variable
 * unique to the run (`REPLAB_RUN_<hex>`), and so do their children, daemonized or not. A process
 * started with an environment of its own is still found when its command line names the run's
 * state folder (its data dir, its config), as replab's nodes and PostgreSQL's postmaster do.
 * Runs are sequential: the mark is set for one run at a time.
 */
export class OwnedProcesses {
  private readonly variable = `REPLAB_RUN_${randomBytes(6).toString('hex')}`;

  constructor(readonly stateRoot: string) {}

  /** From now on, processes this process starts (and theirs) carry the run's mark. */
  mark(): void {
    process.env[this.variable] = this.stateRoot;
  }

  unmark(): void {
    delete process.env[this.variable];
  }

  /** Every live process carrying the mark or naming the state folder (this process aside). */
  async find(): Promise<OwnedProcess[]> {
    const out: OwnedProcess[] = [];
    const marker = `${this.variable}=`;
    for (const e of await fsp.readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
      // Unreadable (gone, or another user's without the right to look): not ours to stop.
      const cmdline = await fsp.readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
      const environ = cmdline.includes(this.stateRoot) ? '' : await fsp.readFile(`/proc/${e}/environ`, 'utf8').catch(() => '');
      if (cmdline.includes(this.stateRoot) || environ.split('\0').some((v) => v.startsWith(marker)))
        out.push({ pid: Number(e), command: cmdline.split('\0').filter(Boolean).join(' ').slice(0, 200) });
    }
    return out;
  }

  /** SIGKILLs every process find() finds and waits for each to go; returns what it stopped. */
  async stopAll(): Promise<OwnedProcess[]> {
    const found = await this.find();
    await Promise.all(found.map((p) => killHard(p.pid)));
    return found;
  }
}
