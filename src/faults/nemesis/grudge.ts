/**
 * Partition shapes as grudges (Jepsen's word): for each node, the nodes it cannot reach. Always
 * symmetric. Pure functions, so every shape has a unit test.
 *
 *   isolate        the given nodes on their own, each cut from everyone else
 *   halves         two halves of the (shuffled) nodes; the smaller half first
 *   majority-ring  nodes in a ring, each sees only a majority of the cluster (its neighbours),
 *                  no two nodes see the same majority — a partition with no clean sides
 *   bridge         two halves plus one node that sees both
 */
import type { Rng } from '../../lib/rng.js';

export type Grudge = Map<string, Set<string>>;
export type PartitionShape = 'isolate' | 'halves' | 'majority-ring' | 'bridge';

function empty(nodes: readonly string[]): Grudge {
  return new Map(nodes.map((n) => [n, new Set<string>()]));
}

function cut(g: Grudge, a: string, b: string): void {
  g.get(a)!.add(b);
  g.get(b)!.add(a);
}

/** Every node in one component is cut from every node in the others. */
export function componentsGrudge(nodes: readonly string[], components: readonly (readonly string[])[]): Grudge {
  const g = empty(nodes);
  const side = new Map<string, number>();
  components.forEach((c, i) => {
    for (const n of c) side.set(n, i);
  });
  for (const a of nodes) for (const b of nodes) if (a < b && side.get(a) !== side.get(b)) cut(g, a, b);
  return g;
}

export function isolateGrudge(nodes: readonly string[], isolated: readonly string[]): Grudge {
  const rest = nodes.filter((n) => !isolated.includes(n));
  return componentsGrudge(nodes, [...isolated.map((n) => [n]), rest]);
}

export function halvesGrudge(nodes: readonly string[], rng: Rng): Grudge {
  const shuffled = shuffle(nodes, rng);
  const k = Math.floor(shuffled.length / 2);
  return componentsGrudge(nodes, [shuffled.slice(0, k), shuffled.slice(k)]);
}

export function majorityRingGrudge(nodes: readonly string[], rng: Rng): Grudge {
  const ring = shuffle(nodes, rng);
  const n = ring.length;
  const reach = Math.floor((Math.floor(n / 2) + 1) / 2); // neighbours each side: a majority including itself
  const g = empty(nodes);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = Math.min(j - i, n - (j - i));
      if (d > reach) cut(g, ring[i]!, ring[j]!);
    }
  }
  return g;
}

export function bridgeGrudge(nodes: readonly string[], rng: Rng): Grudge {
  const shuffled = shuffle(nodes, rng);
  const mid = Math.floor(shuffled.length / 2);
  const bridge = shuffled[mid]!;
  const a = shuffled.slice(0, mid);
  const b = shuffled.slice(mid + 1);
  const g = componentsGrudge(nodes, [a, b, [bridge]]);
  // The bridge sees everyone.
  for (const n of nodes) {
    g.get(bridge)!.delete(n);
    g.get(n)!.delete(bridge);
  }
  return g;
}

export function shapeGrudge(shape: PartitionShape, nodes: readonly string[], isolated: readonly string[], rng: Rng): Grudge {
  switch (shape) {
    case 'isolate':
      return isolateGrudge(nodes, isolated);
    case 'halves':
      return halvesGrudge(nodes, rng);
    case 'majority-ring':
      return majorityRingGrudge(nodes, rng);
    case 'bridge':
      return bridgeGrudge(nodes, rng);
  }
}

/**
 * Where the monitor (and the clients) stand in a partition: with the node that reaches the most
 * others (ties: the first by id among those not isolated). Returns the nodes cut from it.
 */
export function cutFromMajority(g: Grudge, isolated: readonly string[] = []): string[] {
  const candidates = [...g.keys()].filter((n) => !isolated.includes(n)).sort();
  const pool = candidates.length > 0 ? candidates : [...g.keys()].sort();
  let anchor = pool[0]!;
  for (const n of pool) if (g.get(n)!.size < g.get(anchor)!.size) anchor = n;
  return [...g.get(anchor)!].sort();
}

function shuffle<T>(xs: readonly T[], rng: Rng): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
