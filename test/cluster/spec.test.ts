import { describe, expect, it } from 'vitest';
import { commitSettings, parseClusterSpec, startOrder, upstreamsOf } from '../../src/cluster/spec.js';

const parse = (doc: unknown) => parseClusterSpec(doc, 'c.yaml', 'c');
const err = (doc: unknown) => {
  try {
    parse(doc);
  } catch (e: unknown) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('cluster spec', () => {
  it('refuses a failover timeout shorter than the lease wait leaseMs·(1 + maxClockDrift), naming the field', () => {
    const nodes = [{ id: 'n1' }, { id: 'n2' }];
    // 1000 · 1.1 = 1100 > 1050: a restarted monitor could promote before the old lease ran out.
    expect(err({ nodes, failover: { heartbeatMs: 100, failoverTimeoutMs: 1050, leaseMs: 1000, maxClockDrift: 0.1 } })).toBe(
      'c.yaml: failover.failoverTimeoutMs: 1050 is shorter than the lease wait leaseMs·(1 + maxClockDrift) = 1100 ms; raise it or shorten leaseMs',
    );
    expect(parse({ nodes, failover: { heartbeatMs: 100, failoverTimeoutMs: 1100, leaseMs: 1000, maxClockDrift: 0.1 } }).failover.leaseMs).toBe(1000);
  });
  it('fills defaults and derives the topology', () => {
    const s = parse({ nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], topology: 'chain', replication: { mode: 'sync' } });
    expect(s.name).toBe('c');
    expect(s.leader).toBe('n1');
    expect([...upstreamsOf(s)]).toEqual([
      ['n2', 'n1'],
      ['n3', 'n2'],
    ]);
    expect(startOrder(s)).toEqual(['n1', 'n2', 'n3']);
    expect(commitSettings(s).syncStandbys).toEqual(['n2']);
  });

  it('names the field in one line for bad input', () => {
    expect(err({ nodes: [{ id: 'n1' }], replication: { mode: 'fast' } })).toBe(
      'c.yaml: replication.mode: Invalid option: expected one of "async"|"semi-sync"|"sync", got "fast"',
    );
    expect(err({ nodes: [{ id: 'n1' }], replicaton: {} })).toBe('c.yaml: (top level): unknown field "replicaton"');
    expect(err({ nodes: [] })).toBe('c.yaml: nodes: needs at least one node, got []');
    expect(err({})).toMatch(/^c\.yaml: nodes: is required/);
    expect(err({ nodes: [{ id: 'n1' }, { id: 'n1' }] })).toBe('c.yaml: nodes: node id "n1" appears twice');
    expect(err({ nodes: [{ id: 'n1' }, { id: 'n2', upstream: 'n9' }] })).toBe('c.yaml: nodes.1.upstream: "n9" is not one of the nodes');
    expect(err({ nodes: [{ id: 'n1' }, { id: 'n2' }], replication: { mode: 'semi-sync', k: 2 } })).toBe(
      'c.yaml: replication.k: 2 exceeds the 1 direct follower(s) of n1',
    );
    expect(err({ nodes: [{ id: 'n1' }, { id: 'n2', upstream: 'n3' }, { id: 'n3', upstream: 'n2' }] })).toMatch(/cycle/);
  });
});
