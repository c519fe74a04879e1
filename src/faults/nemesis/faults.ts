/**
 * The faults a nemesis can inject, each a start/stop pair that returns a description for the
 * history (`start-<fault>` / `stop-<fault>` info ops of process "nemesis"):
 *
 *   partition  cut links by blackhole (timeout 0: data held, connections stay open) or reset
 *              (every connection reset, new ones too), shaped by grudge.ts
 *   latency    latency ± jitter on chosen links, both directions
 *   bandwidth  a rate limit on chosen links, both directions
 *   kill       kill -9 the target; stop restarts it on the same data dir
 *   power-loss kill -9 a node that keeps its unsynced WAL bytes in memory (started with
 *              --simulate-power-loss), so it loses them as a power cut loses the page cache;
 *              stop restarts it, and it recovers only what it had fdatasync'd
 *   pause      SIGSTOP the target; stop sends SIGCONT
 *   restart    kill and start again at once
 *   switchover a planned switchover to the target (one node) through the monitor; nothing to undo
 *   clock      skew the target's clock through libfaketime: running at rate × real time (changed
 *              while it runs), its wall clock offsetMs ahead (a new offset restarts the node);
 *              stop puts it back on time (src/cluster/clock-control.ts; needs clockControl)
 *   disk-full  fill the target's data volume until no block is free (its writes get ENOSPC);
 *              stop deletes the filler (src/cluster/volumes.ts)
 *
 * Network faults only add toxics named `nemesis-…` and remove exactly those, so region latency
 * and other faults on the same link stay in place.
 */

import { UsageError } from '../../lib/errors.js';
import type { Rng } from '../../lib/rng.js';
import { replLinksBetween } from '../links.js';
import type { ToxicEffect } from '../proxy/toxics.js';
import { addToxic, type Toxiproxy, toxicNames } from '../toxiproxy.js';
import { cutFromMajority, type PartitionShape, shapeGrudge } from './grudge.js';

/** What a nemesis needs from a cluster (ReplabCluster provides it). */
export interface NemesisCluster {
  nodeIds(): string[];
  currentLeaderId(): Promise<string>;
  links(): Record<string, string>;
  toxiproxy(): Toxiproxy;
  kill(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  restart(id: string): Promise<void>;
  /** Whether the nodes were started with --simulate-power-loss (a power-loss fault needs it). */
  simulatesPowerLoss(): boolean;
  /**
   * Fills node `id`'s data disk until no block is free, and gives the space back (disk-full).
   * Optional: a system without a volume per node cannot fill one node's disk alone.
   */
  fillDisk?(id: string): Promise<number>;
  freeDisk?(id: string): Promise<number>;
  /**
   * Skews node `id`'s clock ({offsetMs: 0, rate: 1} heals it); resolves whether that took a
   * restart (a new offset does). Optional: only a system whose nodes run under libfaketime
   * (replab with clockControl) can.
   */
  setClock?(id: string, skew: { offsetMs: number; rate: number }): Promise<{ restarted: boolean }>;
  /** A planned switchover to `id` through the system's own failover manager; resolves once `id` leads. */
  switchover?(id: string): Promise<unknown>;
}

/**
 * Why `cluster` cannot inject one of `faults`, or undefined when it can inject them all. Asked once
 * the system is up and before any load: a module's optional methods (fillDisk, setClock,
 * switchover) are on the object its up() returns, so only then can a fault it lacks be refused,
 * rather than skipped mid-run as "did not start" while the gate passes on a run that never saw it.
 */
export function missingFaultSupport(cluster: NemesisCluster, faults: Iterable<string>): string | undefined {
  for (const fault of new Set(faults)) {
    if (fault === 'disk-full' && (!cluster.fillDisk || !cluster.freeDisk))
      return 'a disk-full fault needs fillDisk(id) and freeDisk(id), and the system has not both';
    if (fault === 'clock' && !cluster.setClock) return 'a clock fault needs setClock(id, {offsetMs, rate}), and the system has none';
    if (fault === 'switchover' && !cluster.switchover) return 'a switchover fault needs switchover(id), and the system has none';
    if (fault === 'power-loss' && !cluster.simulatesPowerLoss())
      return 'a power-loss fault needs nodes that lose unsynced writes when killed, and the system says simulatesPowerLoss() false';
  }
  return undefined;
}

/** leader | random-follower | random-node | followers | all | a node id | a list of node ids */
export type TargetSelector = string | string[];
export type LinkKind = 'repl' | 'monitor' | 'client';
export type LinkSelector = 'repl' | 'leader-repl' | 'monitor' | 'client' | 'all' | string[];

export type FaultSpec =
  | { fault: 'partition'; shape: PartitionShape; target: TargetSelector; mode: 'blackhole' | 'reset'; cut: LinkKind[] }
  | { fault: 'latency'; links: LinkSelector; latencyMs: number; jitterMs: number }
  | { fault: 'bandwidth'; links: LinkSelector; rateKBps: number }
  | { fault: 'clock'; target: TargetSelector; offsetMs: number; rate: number }
  | { fault: 'kill' | 'power-loss' | 'pause' | 'restart' | 'disk-full' | 'switchover'; target: TargetSelector };

/** A started fault: how to undo it, and what the history says about it. */
export interface ActiveFault {
  fault: FaultSpec['fault'];
  value: Record<string, unknown>;
  stop(): Promise<Record<string, unknown>>;
}

let instance = 0;

export async function resolveTargets(cluster: NemesisCluster, selector: TargetSelector, rng: Rng): Promise<string[]> {
  const ids = cluster.nodeIds();
  if (Array.isArray(selector)) {
    for (const id of selector) if (!ids.includes(id)) throw new UsageError(`nemesis target "${id}" is not a node (${ids.join(', ')})`);
    return [...selector];
  }
  const leader = selector === 'leader' || selector === 'random-follower' || selector === 'followers' ? await cluster.currentLeaderId() : undefined;
  switch (selector) {
    case 'leader':
      return [leader!];
    case 'random-follower': {
      const followers = ids.filter((id) => id !== leader);
      if (followers.length === 0) throw new UsageError('nemesis target random-follower: the cluster has no follower');
      return [rng.pick(followers)];
    }
    case 'followers':
      return ids.filter((id) => id !== leader);
    case 'random-node':
      return [rng.pick(ids)];
    case 'all':
      return ids;
    default:
      if (!ids.includes(selector))
        throw new UsageError(
          `nemesis target "${selector}" is not a node or selector (leader, random-follower, random-node, followers, all, ${ids.join(', ')})`,
        );
      return [selector];
  }
}

export async function resolveLinks(cluster: NemesisCluster, selector: LinkSelector): Promise<string[]> {
  const all = Object.keys(cluster.links());
  if (Array.isArray(selector)) {
    for (const l of selector) if (!all.includes(l)) throw new UsageError(`no link named "${l}" (links look like repl:n2->n1, monitor:n1, client:n1)`);
    return selector;
  }
  if (selector === 'all') return all;
  if (selector === 'leader-repl') {
    const leader = await cluster.currentLeaderId();
    return all.filter((l) => l.startsWith('repl:') && (l.endsWith(`->${leader}`) || l.startsWith(`repl:${leader}->`) || l === `repl:*->${leader}.api`));
  }
  return all.filter((l) => l.startsWith(`${selector}:`));
}

async function addToxics(client: Toxiproxy, links: string[], prefix: string, toxic: ToxicEffect): Promise<void> {
  await Promise.all(
    links.map(async (link) => {
      const proxy = await client.get(link);
      for (const stream of ['upstream', 'downstream'] as const) await addToxic(proxy, { ...toxic, name: `${prefix}-${stream}`, stream });
    }),
  );
}

async function removeToxics(client: Toxiproxy, links: string[], prefix: string): Promise<void> {
  await Promise.all(
    links.map(async (link) => {
      const proxy = await client.get(link);
      for (const stream of ['upstream', 'downstream'] as const) await (await proxy.getToxic(`${prefix}-${stream}`).catch(() => undefined))?.remove();
    }),
  );
}

/** Removes every nemesis toxic from every link (a manual "heal everything"). */
export async function healAll(cluster: NemesisCluster): Promise<number> {
  const client = cluster.toxiproxy();
  let removed = 0;
  for (const link of Object.keys(cluster.links())) {
    const proxy = await client.get(link);
    for (const name of await toxicNames(client, proxy)) {
      if (!name.startsWith('nemesis-')) continue;
      await (await proxy.getToxic(name)).remove();
      removed++;
    }
  }
  return removed;
}

export async function startFault(cluster: NemesisCluster, spec: FaultSpec, rng: Rng): Promise<ActiveFault> {
  const client = cluster.toxiproxy();
  const prefix = `nemesis-${spec.fault}-${++instance}`;
  switch (spec.fault) {
    case 'partition': {
      const nodes = cluster.nodeIds();
      const isolated = spec.shape === 'isolate' ? await resolveTargets(cluster, spec.target, rng) : [];
      const grudge = shapeGrudge(spec.shape, nodes, isolated, rng);
      const links: string[] = [];
      const existing = cluster.links();
      if (spec.cut.includes('repl')) for (const [a, cutOff] of grudge) for (const b of cutOff) links.push(...replLinksBetween(existing, a, b));
      const outside = cutFromMajority(grudge, isolated);
      if (spec.cut.includes('monitor')) links.push(...outside.map((n) => `monitor:${n}`));
      if (spec.cut.includes('client')) links.push(...outside.map((n) => `client:${n}`));
      const cutLinks = [...new Set(links)].filter((l) => l in existing);
      await addToxics(
        client,
        cutLinks,
        prefix,
        spec.mode === 'blackhole' ? { type: 'timeout', attributes: { timeout: 0 } } : { type: 'reset_peer', attributes: { timeout: 0 } },
      );
      const components = Object.fromEntries([...grudge].map(([n, s]) => [n, [...s].sort()]));
      return {
        fault: 'partition',
        value: { shape: spec.shape, mode: spec.mode, ...(isolated.length ? { isolate: isolated } : {}), grudge: components, links: cutLinks },
        stop: async () => {
          await removeToxics(client, cutLinks, prefix);
          return { shape: spec.shape, links: cutLinks };
        },
      };
    }
    case 'latency':
    case 'bandwidth': {
      const links = await resolveLinks(cluster, spec.links);
      const toxic: ToxicEffect =
        spec.fault === 'latency'
          ? { type: 'latency', attributes: { latency: spec.latencyMs, jitter: spec.jitterMs } }
          : { type: 'bandwidth', attributes: { rate: spec.rateKBps } };
      await addToxics(client, links, prefix, toxic);
      return {
        fault: spec.fault,
        value: { links, ...toxic.attributes },
        stop: async () => {
          await removeToxics(client, links, prefix);
          return { links };
        },
      };
    }
    case 'disk-full': {
      const fill = cluster.fillDisk?.bind(cluster);
      const free = cluster.freeDisk?.bind(cluster);
      if (!fill || !free) throw new UsageError("a disk-full fault needs a system that can fill one node's disk (replab on the process backend)");
      const targets = await resolveTargets(cluster, spec.target, rng);
      const taken: Record<string, number> = {};
      for (const id of targets) taken[id] = await fill(id);
      return {
        fault: 'disk-full',
        value: { nodes: targets, bytesTaken: taken },
        stop: async () => {
          for (const id of targets) await free(id);
          return { nodes: targets };
        },
      };
    }
    case 'clock': {
      const setClock = cluster.setClock?.bind(cluster);
      if (!setClock) throw new UsageError('a clock fault needs a system whose nodes run under libfaketime (replab with clockControl: true)');
      const targets = await resolveTargets(cluster, spec.target, rng);
      const skew = { offsetMs: spec.offsetMs, rate: spec.rate };
      const restarted: string[] = [];
      for (const id of targets) if ((await setClock(id, skew)).restarted) restarted.push(id);
      return {
        fault: 'clock',
        value: { nodes: targets, ...skew, ...(restarted.length ? { restarted } : {}) },
        stop: async () => {
          const again: string[] = [];
          for (const id of targets) if ((await setClock(id, { offsetMs: 0, rate: 1 })).restarted) again.push(id);
          return { nodes: targets, ...(again.length ? { restarted: again } : {}) };
        },
      };
    }
    case 'switchover': {
      const switchover = cluster.switchover?.bind(cluster);
      if (!switchover) throw new UsageError('a switchover fault needs a system with planned switchover (replab)');
      const targets = await resolveTargets(cluster, spec.target, rng);
      if (targets.length !== 1) throw new UsageError(`a switchover goes to one node; target "${String(spec.target)}" names ${targets.length}`);
      const to = targets[0]!;
      const t0 = Date.now();
      await switchover(to);
      return { fault: 'switchover', value: { to, durationMs: Date.now() - t0 }, stop: async () => ({ to }) };
    }
    case 'kill':
    case 'power-loss':
    case 'pause':
    case 'restart': {
      // Without the simulation a kill -9 keeps what the OS page cache holds: that is no power cut.
      if (spec.fault === 'power-loss' && !cluster.simulatesPowerLoss())
        throw new UsageError(
          'a power-loss fault needs nodes started with --simulate-power-loss (storage.simulatePowerLoss: true; replab run sets it when a nemesis has power-loss)',
        );
      const targets = await resolveTargets(cluster, spec.target, rng);
      for (const id of targets) {
        if (spec.fault === 'kill' || spec.fault === 'power-loss') await cluster.kill(id);
        else if (spec.fault === 'pause') await cluster.pause(id);
        else await cluster.restart(id);
      }
      return {
        fault: spec.fault,
        value: { nodes: targets },
        stop: async () => {
          for (const id of targets) {
            if (spec.fault === 'kill' || spec.fault === 'power-loss') await cluster.restart(id);
            else if (spec.fault === 'pause') await cluster.resume(id);
          }
          return { nodes: targets };
        },
      };
    }
  }
}
