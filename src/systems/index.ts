/**
 * The systems under test, by the name a cluster spec gives in `system:` (or the path of a user's
 * own module, src/systems/external.ts). Each module is imported only when a cluster of it starts
 * (the PostgreSQL one needs node-postgres; replab's node processes need neither).
 */

import type { UpOptions } from '../cluster/replab-cluster.js';
import type { ClusterSpec } from '../cluster/spec.js';
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
