/** The PostgreSQL adapter's pure parts: spec → Patroni settings, and SQL errors → outcomes. */
import { describe, expect, it } from 'vitest';
import { parseClusterSpec } from '../../src/cluster/spec.js';
import { patroniDcs, patroniRecoveryConf, unsupported } from '../../src/systems/postgres/mapping.js';
import { sqlOutcome } from '../../src/systems/postgres/sql-client.js';

const spec = (over: Record<string, unknown> = {}) =>
  parseClusterSpec({ name: 'pg', system: 'postgres', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], ...over }, 'test', 'pg');

describe('postgres: mode mapping', () => {
  it('async, semi-sync k and sync map to Patroni synchronous mode settings', () => {
    expect(patroniDcs(spec({ replication: { mode: 'async' } }))).toMatchObject({ synchronous_mode: false, synchronous_mode_strict: false });
    expect(patroniDcs(spec({ replication: { mode: 'semi-sync', k: 1 } }))).toMatchObject({
      synchronous_mode: true,
      synchronous_mode_strict: false,
      synchronous_node_count: 1,
    });
    expect(patroniDcs(spec({ replication: { mode: 'semi-sync', k: 2 } })).synchronous_node_count).toBe(2);
    expect(patroniDcs(spec({ replication: { mode: 'sync' } }))).toMatchObject({
      synchronous_mode: true,
      synchronous_mode_strict: true,
      synchronous_node_count: 2,
    });
  });

  it('ack levels map to synchronous_commit', () => {
    const level = (ackLevel: string) => patroniDcs(spec({ replication: { mode: 'sync', ackLevel } })).postgresql.parameters.synchronous_commit;
    expect([level('write'), level('flush'), level('apply')]).toEqual(['remote_write', 'on', 'remote_apply']);
  });

  it('failoverTimeoutMs becomes Patroni ttl (at least 10 s), with loop_wait + 2 retry_timeout within it', () => {
    const short = patroniDcs(spec({ failover: { heartbeatMs: 100, failoverTimeoutMs: 1000, leaseMs: 500 } }));
    expect(short).toMatchObject({ ttl: 10, loop_wait: 1, retry_timeout: 4 });
    const long = patroniDcs(spec({ failover: { heartbeatMs: 1000, failoverTimeoutMs: 30_000, leaseMs: 5000 } }));
    expect(long.ttl).toBe(30);
    expect(long.loop_wait + 2 * long.retry_timeout).toBeLessThanOrEqual(long.ttl);
  });

  it('applyDelayMs becomes recovery_min_apply_delay on the standbys; none without it', () => {
    expect(patroniRecoveryConf(spec({ replication: { mode: 'async', applyDelayMs: 150 } }))).toEqual({ recovery_min_apply_delay: '150ms' });
    expect(patroniRecoveryConf(spec())).toEqual({});
    expect(unsupported(spec({ replication: { mode: 'async', applyDelayMs: 150 } }))).toEqual([]);
  });

  it('refuses what PostgreSQL under Patroni does not have here, one reason each', () => {
    expect(unsupported(spec())).toEqual([]);
    const bad = unsupported(spec({ topology: 'chain', replication: { mode: 'async', visibility: 'early' } }));
    expect(bad).toHaveLength(2);
    expect(bad[0]).toMatch(/topology/);
  });
});

describe('postgres: SQL outcomes', () => {
  it('nothing sent → fail', () => {
    expect(sqlOutcome(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false)).toMatchObject({
      type: 'fail',
      error: 'connection refused',
    });
    expect(sqlOutcome(new Error('timeout expired'), false).type).toBe('fail');
  });

  it('a read-only transaction or a rejected statement → fail: it did not commit', () => {
    expect(sqlOutcome(Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' }), true)).toMatchObject({
      type: 'fail',
      error: 'read-only transaction (not the primary)',
    });
    expect(sqlOutcome(Object.assign(new Error('duplicate key'), { code: '23505' }), true).type).toBe('fail');
    expect(sqlOutcome(Object.assign(new Error('syntax'), { code: '42601' }), true).type).toBe('fail');
  });

  it('a timeout, a lost connection, a terminated backend or a cancelled commit → info: it may have committed', () => {
    expect(sqlOutcome(new Error('timeout after 1000 ms'), true).type).toBe('info');
    expect(sqlOutcome(new Error('Connection terminated unexpectedly'), true).type).toBe('info');
    expect(sqlOutcome(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), true).type).toBe('info');
    expect(sqlOutcome(Object.assign(new Error('canceling statement due to user request'), { code: '57014' }), true).type).toBe('info');
    expect(sqlOutcome(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }), true).type).toBe('info');
  });
});
