/** The Redis adapter's pure parts: spec → Redis and Sentinel settings, errors → outcomes, INFO and AOF parsing, lost-write evidence. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseClusterSpec } from '../../src/cluster/spec.js';
import type { Op } from '../../src/history/op.js';
import { settingsText } from '../../src/report/html.js';
import { aofSentence, explainLoss, parseAof } from '../../src/systems/redis/aof.js';
import { globEscape, redisOutcome, SET_KEY, waitOutcome } from '../../src/systems/redis/client.js';
import { failoversFromLogs } from '../../src/systems/redis/events.js';
import { parseReplicationInfo } from '../../src/systems/redis/info.js';
import { nodeConfig, redisSettings, sentinelConfig, unsupported } from '../../src/systems/redis/mapping.js';
import { findRedisTools } from '../../src/systems/redis/packages.js';

const spec = (over: Record<string, unknown> = {}) =>
  parseClusterSpec({ name: 'rd', system: 'redis', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], ...over }, 'test', 'rd');

describe('redis: mode mapping', () => {
  it('async is SET alone, semi-sync k waits for k replicas, sync for every replica', () => {
    expect(redisSettings(spec({ replication: { mode: 'async' } })).waitReplicas).toBe(0);
    expect(redisSettings(spec({ replication: { mode: 'semi-sync', k: 1 } })).waitReplicas).toBe(1);
    expect(redisSettings(spec({ replication: { mode: 'semi-sync', k: 2 } })).waitReplicas).toBe(2);
    expect(redisSettings(spec({ replication: { mode: 'sync' } })).waitReplicas).toBe(2);
    expect(redisSettings(spec({ replication: { mode: 'semi-sync', k: 1, syncTimeoutMs: 750 } })).waitTimeoutMs).toBe(750);
  });

  it('storage.fsync becomes appendfsync (always by default), with the AOF on and plain RESP', () => {
    const conf = (over: Record<string, unknown>) =>
      nodeConfig(redisSettings(spec(over)), { port: 7000, dir: '/d', announce: { host: '127.0.0.1', port: 7100 } });
    expect(conf({})).toMatch(/^appendfsync always$/m);
    expect(conf({ storage: { fsync: 'everysec' } })).toMatch(/^appendfsync everysec$/m);
    expect(conf({})).toMatch(/^appendonly yes$/m);
    expect(conf({})).toMatch(/^aof-use-rdb-preamble no$/m);
    expect(conf({})).toMatch(/^replica-announce-port 7100$/m);
    expect(conf({})).not.toMatch(/^replicaof/m);
  });

  it('a replica starts following the primary at its announced address', () => {
    const text = nodeConfig(redisSettings(spec()), {
      port: 7001,
      dir: '/d',
      announce: { host: '127.0.0.1', port: 7101 },
      replicaOf: { host: '127.0.0.1', port: 7100 },
    });
    expect(text).toMatch(/^replicaof 127\.0\.0\.1 7100$/m);
  });

  it('fencing lease is min-replicas-to-write 1 with the lease as max lag in seconds; none turns it off', () => {
    const lease = redisSettings(spec({ fencing: 'lease', failover: { heartbeatMs: 100, failoverTimeoutMs: 5000, leaseMs: 2000 } }));
    expect(lease).toMatchObject({ minReplicasToWrite: 1, minReplicasMaxLagS: 2 });
    const short = redisSettings(spec({ fencing: 'lease', failover: { heartbeatMs: 100, failoverTimeoutMs: 1000, leaseMs: 300 } }));
    expect(short.minReplicasMaxLagS).toBe(1);
    expect(redisSettings(spec({ fencing: 'none' }))).toMatchObject({ minReplicasToWrite: 0 });
  });

  it("the failover block sets Sentinel's down-after-milliseconds and failover-timeout", () => {
    const s = redisSettings(spec({ failover: { heartbeatMs: 100, failoverTimeoutMs: 1000, leaseMs: 500 } }));
    expect(s).toMatchObject({ downAfterMs: 1000, failoverTimeoutMs: 3000 });
    const text = sentinelConfig(s, { port: 26379, dir: '/s', master: { host: '127.0.0.1', port: 7100 } });
    expect(text).toMatch(/^sentinel monitor replab 127\.0\.0\.1 7100 2$/m);
    expect(text).toMatch(/^sentinel down-after-milliseconds replab 1000$/m);
    expect(text).toMatch(/^sentinel failover-timeout replab 3000$/m);
    expect(redisSettings(spec({ failover: { heartbeatMs: 1000, failoverTimeoutMs: 10_000, leaseMs: 5000 } })).failoverTimeoutMs).toBe(30_000);
  });

  it('refuses what Redis with Sentinel does not have, one line each', () => {
    expect(unsupported(spec())).toEqual([]);
    expect(unsupported(spec({ topology: 'chain' }))[0]).toMatch(/^topology/);
    expect(unsupported(spec({ replication: { mode: 'async', applyDelayMs: 10 } }))[0]).toMatch(/applyDelayMs/);
    expect(unsupported(spec({ nodes: [{ id: 'n1' }] }))[0]).toMatch(/^nodes/);
  });

  it('storage.fsync is refused for systems without an fsync policy', () => {
    expect(() => parseClusterSpec({ nodes: [{ id: 'n1' }], storage: { fsync: 'always' } }, 'c.yaml', 'c')).toThrow(
      /c\.yaml: storage\.fsync: .* system redis only, not of replab/,
    );
    expect(() => parseClusterSpec({ system: 'postgres', nodes: [{ id: 'n1' }, { id: 'n2' }], storage: { fsync: 'everysec' } }, 'c.yaml', 'c')).toThrow(
      /not of postgres/,
    );
    expect(() => spec({ storage: { fsync: 'sometimes' } })).toThrow(/storage\.fsync/);
  });
});

describe("redis: the report's settings line", () => {
  it("names SET and WAIT, not replab's fsync and blocking words", () => {
    expect(settingsText({ system: 'redis', replication: { mode: 'semi-sync', k: 1, ackLevel: 'flush', onSyncTimeout: 'block' }, fencing: 'none' })).toBe(
      'Redis + Sentinel: SET + WAIT 1 (info when fewer answer); no min-replicas-to-write',
    );
    expect(settingsText({ system: 'redis', replication: { mode: 'sync' }, fencing: 'lease' })).toBe(
      'Redis + Sentinel: SET + WAIT for every replica; min-replicas-to-write 1',
    );
    expect(settingsText({ system: 'redis', replication: { mode: 'async' }, fencing: 'none' })).toMatch(/SET alone/);
  });
});

describe('redis: outcomes', () => {
  it('nothing sent is a definite fail', () => {
    expect(redisOutcome(new Error("Stream isn't writeable"), false, 'n1')).toMatchObject({ type: 'fail', node: 'n1' });
  });

  it('an error reply is a definite fail: Redis ran none of the command', () => {
    expect(redisOutcome(new ReplyError("READONLY You can't write against a read only replica."), true)).toMatchObject({
      type: 'fail',
      error: 'READONLY (not the primary)',
    });
    expect(redisOutcome(new ReplyError('NOREPLICAS Not enough good replicas to write.'), true)).toMatchObject({ type: 'fail', error: /^NOREPLICAS/ });
  });

  it('a timeout or a lost connection after sending is info', () => {
    expect(redisOutcome(new Error('timeout after 1000 ms'), true)).toMatchObject({ type: 'info', error: 'timeout' });
    expect(redisOutcome(new Error('Connection is closed.'), true)).toMatchObject({ type: 'info', error: /connection lost/ });
  });

  it('a write is ok only when WAIT answers at least the replicas asked for; fewer is info', () => {
    expect(waitOutcome(1, 1, 500, 'n1', null)).toMatchObject({ type: 'ok', node: 'n1' });
    expect(waitOutcome(2, 1, 500, 'n1', null)).toMatchObject({ type: 'ok' });
    expect(waitOutcome(1, 2, 500, 'n1', null)).toMatchObject({ type: 'info', error: /WAIT 2: 1 replica/ });
    expect(waitOutcome(0, 1, 500, 'n1', null)).toMatchObject({ type: 'info' });
  });

  it('a key prefix is escaped for SCAN MATCH', () => {
    expect(globEscape('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\');
  });
});

describe('redis: INFO replication', () => {
  it('reads a primary: its offset and each replica', () => {
    const info = parseReplicationInfo(
      '# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=7101,state=online,offset=1200,lag=0\r\nslave1:ip=127.0.0.1,port=7102,state=wait_bgsave,offset=0,lag=3\r\nmaster_repl_offset:1500\r\n',
    );
    expect(info).toEqual({
      role: 'master',
      offset: 1500,
      replicas: [
        { host: '127.0.0.1', port: 7101, state: 'online', offset: 1200 },
        { host: '127.0.0.1', port: 7102, state: 'wait_bgsave', offset: 0 },
      ],
    });
  });

  it('reads a replica: its primary and link', () => {
    const info = parseReplicationInfo('role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:7100\r\nmaster_link_status:down\r\nslave_repl_offset:99\r\n');
    expect(info).toMatchObject({ role: 'slave', offset: 99, master: { host: '127.0.0.1', port: 7100, linkUp: false } });
    expect(parseReplicationInfo('nothing here')).toBeUndefined();
  });
});

const resp = (...cmd: string[]) => `*${cmd.length}\r\n${cmd.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`;

describe('redis: AOF evidence', () => {
  it('parses a RESP log, skipping annotations and stopping at a torn tail', () => {
    const text = `${resp('SELECT', '0')}#TS:1700000000\r\n${resp('SADD', SET_KEY, 's:1001')}${resp('SET', 'k', 'v\r\nx')}*2\r\n$4\r\nSADD\r\n$3\r\nab`;
    expect(parseAof(Buffer.from(text))).toEqual([
      ['SELECT', '0'],
      ['SADD', SET_KEY, 's:1001'],
      ['SET', 'k', 'v\r\nx'],
    ]);
  });

  it('says for each lost acknowledged insert which nodes logged it, or none', () => {
    let t = 0;
    const op = (o: Partial<Op>): Op => ({ index: 0, time: t++, process: 0, type: 'invoke', f: 'add', ...o }) as Op;
    const history: Op[] = [
      op({ process: 1, type: 'invoke', f: 'add', value: 1001 }),
      op({ process: 1, type: 'ok', f: 'add', value: 1001 }),
      op({ process: 2, type: 'invoke', f: 'add', value: 1002 }),
      op({ process: 2, type: 'ok', f: 'add', value: 1002 }),
      op({ process: 3, type: 'invoke', f: 'add', value: 1003 }),
      op({ process: 3, type: 'ok', f: 'add', value: 1003 }),
      op({ process: 'final', type: 'invoke', f: 'final-read', node: 'n3' }),
      op({ process: 'final', type: 'ok', f: 'final-read', node: 'n3', value: [1003] }),
    ].map((o, index) => ({ ...o, index }));
    const added = new Map([
      ['n1', new Set(['s:1001', 's:1003'])],
      ['n2', new Set(['s:1001', 's:1003'])],
      ['n3', new Set(['s:1003'])],
    ]);
    const e = explainLoss(history, added)!;
    expect(e.lost).toEqual([
      { element: 1001, inAofOf: ['n1', 'n2'] },
      { element: 1002, inAofOf: [] },
    ]);
    expect(e.where).toEqual({ 'n1+n2': 1, nowhere: 1 });
    expect(aofSentence(e, 'n1', true)).toMatch(/held 1 of the 2 lost .*1 in the AOF of n1 and n2 only, 1 in no AOF/);
    expect(aofSentence(e, 'n3', false)).toBe('its AOF held 0 of the 2 lost acknowledged inserts');
  });
});

describe("redis: failovers from the Sentinels' logs", () => {
  it('one failover per switch, whichever Sentinels logged it, named by node', () => {
    const line = (pid: number, t: string) => `${pid}:X 04 Dec 2026 ${t} # +switch-master replab 127.0.0.1 7100 127.0.0.1 7103`;
    const nodes: Record<string, string> = { '127.0.0.1:7100': 'n1', '127.0.0.1:7103': 'n3' };
    const events = failoversFromLogs(
      {
        s1: `${line(1, '15:20:43.533')}\n1:X 04 Dec 2026 15:20:43.215 # +odown master replab 127.0.0.1 7100 #quorum 3/2`,
        s2: line(2, '15:20:43.525'),
        s3: `${line(3, '15:20:43.535')}\n3:X 04 Dec 2026 15:21:10.000 # +switch-master replab 127.0.0.1 7103 127.0.0.1 7100`,
      },
      (a) => nodes[a],
    );
    expect(events.map((e) => [e.from, e.to, e.sentinels.sort()])).toEqual([
      ['n1', 'n3', ['s1', 's2', 's3']],
      ['n3', 'n1', ['s3']],
    ]);
    expect(events[1]!.atMs - events[0]!.atMs).toBe(26_475);
  });
});

describe('redis: packages', () => {
  it('a missing program is an environment failure naming the Debian package', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'replab-nopath-'));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      await expect(findRedisTools()).rejects.toMatchObject({ message: /redis-server, redis-sentinel \(missing\); install with: apt-get/ });
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
