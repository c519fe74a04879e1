/** The MariaDB adapter's pure parts: spec → server settings, errors → outcomes, GTIDs, binlog text. */
import { describe, expect, it } from 'vitest';
import { parseClusterSpec } from '../../src/cluster/spec.js';
import { settingsText } from '../../src/report/html.js';
import { parseBinlogText } from '../../src/systems/mariadb/binlog.js';
import { binlogEvidence, whereWent } from '../../src/systems/mariadb/evidence.js';
import { compareGtidPos, errantGtids, gtidText, mostAdvanced, parseGtidList } from '../../src/systems/mariadb/gtid.js';
import { MAX_SEMI_SYNC_TIMEOUT_MS, semiSyncSettings, serverOptions, unsupported } from '../../src/systems/mariadb/mapping.js';
import { mariadbOutcome } from '../../src/systems/mariadb/outcome.js';

const spec = (over: Record<string, unknown> = {}) =>
  parseClusterSpec({ name: 'm', system: 'mariadb', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], ...over }, 'test', 'm');

describe('mariadb: mode mapping', () => {
  it('async turns semi-sync off; semi-sync turns it on with the wait point asked for (AFTER_SYNC by default)', () => {
    expect(semiSyncSettings(spec({ replication: { mode: 'async' } })).rpl_semi_sync_master_enabled).toBe('OFF');
    expect(semiSyncSettings(spec({ replication: { mode: 'semi-sync', k: 1 } }))).toMatchObject({
      rpl_semi_sync_master_enabled: 'ON',
      rpl_semi_sync_master_wait_point: 'AFTER_SYNC',
    });
    expect(semiSyncSettings(spec({ replication: { mode: 'semi-sync', waitPoint: 'after-commit' } })).rpl_semi_sync_master_wait_point).toBe('AFTER_COMMIT');
  });

  it('block is the largest timeout MariaDB takes; degrade is syncTimeoutMs', () => {
    expect(semiSyncSettings(spec({ replication: { mode: 'semi-sync', onSyncTimeout: 'block' } })).rpl_semi_sync_master_timeout).toBe(MAX_SEMI_SYNC_TIMEOUT_MS);
    expect(semiSyncSettings(spec({ replication: { mode: 'semi-sync', onSyncTimeout: 'degrade', syncTimeoutMs: 1500 } })).rpl_semi_sync_master_timeout).toBe(
      1500,
    );
  });

  it('every node runs GTID strict, log_slave_updates, row binlogs, read-only, semi-sync master off until promoted', () => {
    const o = serverOptions(spec({ replication: { mode: 'semi-sync' } }), {
      serverId: 2,
      port: 3307,
      dir: '/d',
      dataDir: '/d/data',
      socket: '/d/s',
      pidFile: '/d/p',
      errorLog: '/d/e',
    });
    for (const want of [
      '--gtid-strict-mode=1',
      '--log-slave-updates=1',
      '--binlog-format=ROW',
      '--read-only=1',
      '--server-id=2',
      '--rpl-semi-sync-slave-enabled=ON',
      '--rpl-semi-sync-master-wait-point=AFTER_SYNC',
    ])
      expect(o).toContain(want);
    expect(o).toContain('--rpl-semi-sync-master-enabled=OFF');
  });

  it('refuses what MariaDB does not have, one line each', () => {
    expect(unsupported(spec({ replication: { mode: 'sync' } }))[0]).toMatch(/sync has no MariaDB equivalent/);
    expect(unsupported(spec({ replication: { mode: 'semi-sync', k: 2 } }))[0]).toMatch(/exactly one replica/);
    expect(unsupported(spec({ replication: { mode: 'semi-sync', visibility: 'early' } }))[0]).toMatch(/waitPoint after-commit/);
    expect(unsupported(spec({ replication: { mode: 'semi-sync', waitPoint: 'after-commit' } }))).toEqual([]);
  });

  it("the report says a mode's MariaDB settings in words, and replab's early visibility", () => {
    const words = (replication: Record<string, unknown>) => settingsText({ system: 'mariadb', replication, fencing: 'lease' });
    expect(words({ mode: 'async' })).toBe("MariaDB: semi-sync off; replab's monitor fails over");
    expect(words({ mode: 'semi-sync', k: 1, waitPoint: 'after-commit', onSyncTimeout: 'block' })).toBe(
      "MariaDB: semi-sync AFTER_COMMIT, one replica's ack; blocks (the longest timeout); replab's monitor fails over",
    );
    expect(words({ mode: 'semi-sync', k: 1, onSyncTimeout: 'degrade', syncTimeoutMs: 10000 })).toContain('AFTER_SYNC');
    expect(words({ mode: 'semi-sync', k: 1, onSyncTimeout: 'degrade', syncTimeoutMs: 10000 })).toContain('falls back to async after 10000 ms');
    expect(settingsText({ replication: { mode: 'semi-sync', k: 1, visibility: 'early' }, fencing: 'lease' })).toContain(
      'writes visible on the leader before they are acknowledged',
    );
  });

  it('waitPoint is refused for systems that do not have it', () => {
    expect(() =>
      parseClusterSpec({ system: 'postgres', nodes: [{ id: 'n1' }, { id: 'n2' }], replication: { mode: 'semi-sync', waitPoint: 'after-sync' } }, 'c.yaml', 'c'),
    ).toThrow(/c\.yaml: replication\.waitPoint: only system mariadb has a semi-sync wait point \(this cluster is system postgres\)/);
    expect(() => parseClusterSpec({ nodes: [{ id: 'n1' }], replication: { waitPoint: 'after-commit' } }, 'c.yaml', 'c')).toThrow(/system replab/);
  });
});

describe('mariadb: outcomes', () => {
  it('nothing sent is fail', () => {
    expect(mariadbOutcome(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), false)).toMatchObject({
      type: 'fail',
      error: 'connection refused',
    });
  });

  it('a rejected statement is fail: read-only, duplicate key, deadlock, other server errors', () => {
    expect(mariadbOutcome({ errno: 1290, message: 'read-only', code: 'ER_OPTION_PREVENTS_STATEMENT' }, true, 'n1')).toMatchObject({
      type: 'fail',
      error: '1290: read-only (not the primary)',
      node: 'n1',
    });
    for (const errno of [1062, 1213, 1205, 1146, 1064]) expect(mariadbOutcome({ errno, message: 'x' }, true).type).toBe('fail');
  });

  it('anything after COMMIT may have been sent is info: lost connection, timeout, killed, shutdown', () => {
    expect(mariadbOutcome({ errno: 45009, code: 'ER_SOCKET_UNEXPECTED_CLOSE', message: 'socket closed', fatal: true }, true)).toMatchObject({
      type: 'info',
      error: 'connection lost (ER_SOCKET_UNEXPECTED_CLOSE)',
    });
    expect(mariadbOutcome(Object.assign(new Error('timeout after 1000 ms'), { code: 'ER_TIMEOUT' }), true).type).toBe('info');
    for (const errno of [1053, 1317, 1927, 2013]) expect(mariadbOutcome({ errno, message: 'x' }, true).type).toBe('info');
    // A server error on a connection the driver marks fatal: the session is gone, the commit unknown.
    expect(mariadbOutcome({ errno: 1064, message: 'x', fatal: true }, true).type).toBe('info');
  });
});

describe('mariadb: GTIDs', () => {
  it('parses positions and picks the most advanced replica', () => {
    expect(parseGtidList('0-1-42,1-2-7')).toEqual([
      { domain: 0, server: 1, seq: 42 },
      { domain: 1, server: 2, seq: 7 },
    ]);
    expect(parseGtidList('')).toEqual([]);
    expect(() => parseGtidList('0-1')).toThrow(/not a GTID/);
    expect(compareGtidPos(parseGtidList('0-1-5'), parseGtidList('0-2-4'))).toBe(1);
    expect(
      mostAdvanced([
        { id: 'n2', pos: parseGtidList('0-1-9') },
        { id: 'n3', pos: parseGtidList('0-1-11') },
      ])?.id,
    ).toBe('n3');
  });

  it('errant GTIDs are those the new primary lacks', () => {
    const old = ['0-1-1', '0-1-2', '0-1-3', '0-1-4'].map((g) => parseGtidList(g)[0]!);
    const neu = ['0-1-1', '0-1-2', '0-2-3'].map((g) => parseGtidList(g)[0]!);
    expect(errantGtids(old, neu).map(gtidText)).toEqual(['0-1-3', '0-1-4']);
  });
});

const BINLOG = `#261204 14:52:55 server id 1  end_log_pos 1216 CRC32 0xa17e6119 	GTID 0-1-5 trans
/*M!100001 SET @@session.gtid_seq_no=5*//*!*/;
START TRANSACTION
#Q> INSERT INTO replab_set (k, v) VALUES ('s/2', '1')
#261204 14:52:55 server id 1  end_log_pos 1388 CRC32 0x856d38dc 	Write_rows: table id 18 flags: STMT_END_F
### INSERT INTO \`replab\`.\`replab_set\`
### SET
###   @1='s/2'
###   @2='1'
COMMIT/*!*/;
#261204 14:52:56 server id 1  end_log_pos 1500 CRC32 0x1 	GTID 0-1-6 trans
### UPDATE \`replab\`.\`replab_register\`
### WHERE
###   @1='r/k1'
###   @2='0-1'
### SET
###   @1='r/k1'
###   @2='0-2'
COMMIT/*!*/;
`;

describe('mariadb: binlog text', () => {
  it('parses transactions and their rows (an update keeps the after image)', () => {
    const t = parseBinlogText(BINLOG);
    expect(t.map((x) => gtidText(x.gtid))).toEqual(['0-1-5', '0-1-6']);
    expect(t[0]!.rows).toEqual([{ op: 'insert', table: 'replab_set', key: 's/2', value: '1' }]);
    expect(t[1]!.rows).toEqual([{ op: 'update', table: 'replab_register', key: 'r/k1', value: '0-2' }]);
  });

  it('says where a write went: the final primary, only an old primary, or no binlog', () => {
    const t = parseBinlogText(BINLOG);
    const e = binlogEvidence({ n1: t, n2: t.slice(0, 1) }, 'n2');
    expect(whereWent(e, 's/2', '1')).toBe("in the final primary n2's binlog");
    expect(whereWent(e, 'r/k1', '0-2')).toMatch(/^only in n1's binlog \(0-1-6\): an errant transaction/);
    expect(whereWent(e, 's/9', '1')).toMatch(/in no binlog/);
    expect(whereWent(e, 'r/k1', '0-2', { gtids: false })).toBe("only in n1's binlog: an errant transaction the final primary never had");
  });
});
