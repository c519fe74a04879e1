/**
 * The systems under test, by the name a cluster spec gives in `system:` (or the path of a user's
 * own module, src/systems/external.ts). Each module is imported only when a cluster of it starts
 * (the PostgreSQL one needs node-postgres; replab's node processes need neither).
 */

import type { UpOptions } from '../cluster/replab-cluster.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { clientLink, monitorLink, patroniApiLink, replInto, replLink } from '../faults/links.js';
import type { SystemUnderTest } from './system.js';

export async function startSystem(spec: ClusterSpec, options: UpOptions): Promise<SystemUnderTest> {
  switch (spec.system) {
    case 'replab':
      return (await import('./replab/index.js')).ReplabSystem.up(spec, options);
    case 'postgres':
      return (await import('./postgres/index.js')).PostgresSystem.up(spec, options);
    default:
      // A module of the user's (the suite loader resolved its path and checked that it loads).
      return (await import('./external.js')).startExternalSystem(spec.system, spec, options);
  }
}

/**
 * The names of every link a cluster of this spec will have behind its proxy, known before it
 * starts, so a suite naming a link that will never exist is refused at load. replab links every
 * ordered pair of nodes (a failover or a relay may point anyone at anyone, so a chain has them
 * all too); PostgreSQL has one replication link and one API link into each node. A user's module
 * names its links itself: undefined, nothing to check against.
 */
export function linkNames(spec: Pick<ClusterSpec, 'system' | 'nodes'>): string[] | undefined {
  const ids = spec.nodes.map((n) => n.id);
  const perNode = ids.flatMap((id) => [monitorLink(id), clientLink(id)]);
  switch (spec.system) {
    case 'replab':
      return [...ids.flatMap((a) => ids.filter((b) => b !== a).map((b) => replLink(a, b))), ...perNode];
    case 'postgres':
      return [...ids.flatMap((id) => [replInto(id), patroniApiLink(id)]), ...perNode];
    default:
      return undefined;
  }
}
