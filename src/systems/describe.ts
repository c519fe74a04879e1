/**
 * A mode's settings in words, for the report's settings column and results.json. Each built-in
 * system words its own (replab's ack levels and fencing, Patroni's synchronous_commit, MariaDB's
 * wait point, Redis's WAIT); a user's module words its modes with `describeMode(spec)`, and
 * without one only what the spec asked for is said, never replab's words for what the module's
 * system may not have. Imports no system's runtime: the report reads it too.
 */
import { describeMariadbMode } from './mariadb/mapping.js';
import { describePostgresMode } from './postgres/mapping.js';
import { describeRedisMode } from './redis/mapping.js';
import { describeReplabMode } from './replab/describe.js';
import type { ModeSettings } from './system.js';

/** A built-in system's words for a mode; for a module without describeMode, the spec's request alone. */
export function describeBuiltinMode(m: { system?: string; replication: ModeSettings; fencing: string }): string {
  const r = m.replication;
  switch (m.system ?? 'replab') {
    case 'replab':
      return describeReplabMode(r, m.fencing);
    case 'postgres':
      return describePostgresMode(r);
    case 'mariadb':
      return describeMariadbMode(r);
    case 'redis':
      return describeRedisMode(r, m.fencing);
    default: {
      const k = r.mode === 'semi-sync' && r.k !== undefined ? `, ${String(r.k)} follower${r.k === 1 ? '' : 's'} asked for` : '';
      return `${String(r.mode)}${k} (as the spec asks; how ${String(m.system).split('/').pop()} does it is the module's own)`;
    }
  }
}
