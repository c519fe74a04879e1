/**
 * replab's monitor for MariaDB, in the role Orchestrator plays in a MySQL-family deployment (no
 * Orchestrator or MaxScale here). Every heartbeat it probes each node through the node's
 * `monitor:` proxy link. A primary silent for failoverTimeoutMs is declared dead, then:
 *   1. every reachable replica stops fetching and applies what it already received, and the one
 *      furthest along (gtid_current_pos) is chosen;
 *   2. it stops replicating and becomes writable (read_only = 0), with semi-sync on as the spec says;
 *   3. the others are repointed at it: CHANGE MASTER TO … MASTER_USE_GTID = slave_pos;
 *   4. the old primary is fenced where it can be reached: semi-sync off (releasing commits that wait
 *      for an ack) and read_only = 1. MariaDB has no super_read_only; clients write as a user
 *      without READ ONLY ADMIN, so read_only is enough against them. Where it cannot be reached,
 *      clients stop writing to it because they ask this monitor for the primary (as applications
 *      ask Orchestrator's service discovery), and it is fenced the moment it answers again.
 * A node that answers but does not replicate from the primary (the old primary back, a replica
 * restarted with --skip-slave-start) rejoins: its binlog is compared with the primary's, and the
 * transactions it has that the primary lacks (errant GTIDs) are reported record by record; a node
 * without any is simply repointed, one with some is re-cloned from the primary (the host's
 * reclone), never merged silently.
 * Events go to events.jsonl in the monitor's shape (leader-declared-dead, promoted, repointed,
 * fenced, errant-transactions, recloned), so the report places failovers as for replab's KV.
 */

import mariadb, { type Connection } from 'mariadb';
import { toError } from '../../lib/errors.js';
import { waitFor } from '../../lib/wait.js';
import type { EventSink } from '../events.js';
import type { BinlogRow, BinlogTxn } from './binlog.js';
import { errantGtids, type Gtid, gtidText, mostAdvanced, parseGtidList, seqIn } from './gtid.js';
import type { SemiSyncSettings } from './mapping.js';

export interface MonitorHost {
  nodeIds(): string[];
  /** host:port of `id`'s monitor: link. */
  monitorAddr(id: string): string;
  /** The port a replica `from` dials to replicate from `to` (its repl:from->to link). */
  replPort(from: string, to: string): number;
  binlog(id: string): Promise<BinlogTxn[]>;
  /** Replaces `id`'s data with a copy of `primary`'s and makes it replicate from there. */
  reclone(id: string, primary: string): Promise<void>;
  semiSync: SemiSyncSettings;
  heartbeatMs: number;
  failoverTimeoutMs: number;
  /** The run's event sink (src/systems/events.ts). */
  events: EventSink;
}

export interface Probe {
  ok: boolean;
  error?: string;
  readOnly?: boolean;
  binlogPos?: Gtid[];
  currentPos?: Gtid[];
  slave?: Record<string, unknown>;
}

/** An errant transaction's row, as kept for the run's evidence (rewound-<node>.jsonl). */
export interface ErrantRecord extends BinlogRow {
  node: string;
  gtid: string;
  /** The primary the node rejoined (the one that lacked the transaction). */
  primary: string;
}

const ROOT = { user: 'root', password: '' };

export class MariadbMonitor {
  private primaryId: string | undefined;
  private epoch = 1;
  private lastPrimaryOk = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly busy = new Set<string>();
  readonly errant: ErrantRecord[] = [];
  latest: Record<string, Probe> = {};

  constructor(private readonly host: MonitorHost) {}

  get primary(): string | undefined {
    return this.primaryId;
  }

  /** Starts watching with `primary` as the primary (already writable). */
  async start(primary: string): Promise<void> {
    this.primaryId = primary;
    this.lastPrimaryOk = Date.now();
    await this.event('monitor-started', { leader: primary, epoch: this.epoch });
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch(async (e: unknown) => this.event('monitor-error', { error: toError(e).message }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.host.heartbeatMs);
        });
    };
    this.timer = setTimeout(loop, this.host.heartbeatMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  private async event(event: string, fields: Record<string, unknown>): Promise<void> {
    this.host.events.emit({ event, ...fields });
  }

  /** Runs `statements` in order on `id` through its monitor link as root; the last one's rows. */
  async sql(id: string, statements: string[], timeoutMs: number): Promise<unknown> {
    const [host, port] = this.host.monitorAddr(id).split(':');
    let conn: Connection | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from ${id} within ${timeoutMs} ms`)), timeoutMs);
    });
    const work = (async () => {
      conn = await mariadb.createConnection({ host, port: Number(port), ...ROOT, connectTimeout: timeoutMs, bigIntAsNumber: true });
      conn.on('error', () => {});
      let rows: unknown;
      for (const s of statements) rows = await conn.query(s);
      return rows;
    })();
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      // A clean QUIT where the connection still works (an abort warning per probe otherwise).
      work.then(
        () => conn?.end().catch(() => conn?.destroy()),
        () => conn?.destroy(),
      );
    }
  }

  async probe(id: string): Promise<Probe> {
    try {
      const rows = (await this.sql(
        id,
        ['SELECT @@read_only AS ro, @@gtid_binlog_pos AS bin, @@gtid_current_pos AS cur'],
        Math.max(300, this.host.heartbeatMs * 2),
      )) as Array<{ ro: number; bin: string; cur: string }>;
      const slave = ((await this.sql(id, ['SHOW SLAVE STATUS'], Math.max(300, this.host.heartbeatMs * 2))) as Array<Record<string, unknown>>)[0];
      const r = rows[0]!;
      return { ok: true, readOnly: Number(r.ro) === 1, binlogPos: parseGtidList(r.bin), currentPos: parseGtidList(r.cur), slave };
    } catch (e: unknown) {
      return { ok: false, error: toError(e).message };
    }
  }

  private async tick(): Promise<void> {
    const ids = this.host.nodeIds();
    const probes = await Promise.all(ids.map((id) => this.probe(id)));
    this.latest = Object.fromEntries(ids.map((id, i) => [id, probes[i]!]));
    const primary = this.primaryId;
    if (!primary) return;
    if (this.latest[primary]?.ok) {
      this.lastPrimaryOk = Date.now();
      for (const id of ids) if (id !== primary && this.latest[id]!.ok && !this.busy.has(id)) void this.tend(id, primary, this.latest[id]!);
      return;
    }
    const silentMs = Date.now() - this.lastPrimaryOk;
    if (silentMs >= this.host.failoverTimeoutMs) await this.failover(primary, silentMs);
  }

  /** One reachable non-primary node: fenced if writable, rejoined if it does not replicate from `primary`. */
  private async tend(id: string, primary: string, p: Probe): Promise<void> {
    this.busy.add(id);
    try {
      if (!p.readOnly) await this.fence(id);
      const s = p.slave;
      const pointed = s && Number(s.Master_Port) === this.host.replPort(id, primary);
      const broken = s && (Number(s.Last_IO_Errno) === 1236 || Number(s.Last_SQL_Errno) !== 0 || s.Slave_SQL_Running !== 'Yes');
      if (!pointed || broken) await this.rejoin(id, primary);
    } catch (e: unknown) {
      await this.event('rejoin-failed', { node: id, error: toError(e).message });
    } finally {
      this.busy.delete(id);
    }
  }

  private async fence(id: string): Promise<void> {
    // Semi-sync off first: commits waiting for an ack that will never come would hold read_only.
    await this.sql(id, ['SET GLOBAL rpl_semi_sync_master_enabled = OFF', 'SET GLOBAL read_only = 1'], 3000);
    await this.event('fenced', { node: id });
  }

  /** Repoints `id` at `primary` when its binlog holds nothing the primary lacks; else reports and re-clones. */
  private async rejoin(id: string, primary: string): Promise<void> {
    const [mine, theirs] = await Promise.all([this.host.binlog(id), this.host.binlog(primary)]);
    const errant = errantGtids(
      mine.map((t) => t.gtid),
      theirs.map((t) => t.gtid),
    );
    if (errant.length === 0) {
      await this.repoint(id, primary);
      return;
    }
    const wanted = new Set(errant.map(gtidText));
    const records = mine.filter((t) => wanted.has(gtidText(t.gtid))).flatMap((t) => t.rows.map((r) => ({ ...r, node: id, gtid: gtidText(t.gtid), primary })));
    this.errant.push(...records);
    await this.event('errant-transactions', { node: id, primary, count: errant.length, records: records.length, gtids: errant.slice(0, 20).map(gtidText) });
    await this.host.reclone(id, primary);
    await this.event('recloned', { node: id, from: primary });
  }

  changeMaster(id: string, primary: string): string {
    return `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${this.host.replPort(id, primary)}, MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1`;
  }

  async repoint(id: string, primary: string): Promise<void> {
    await this.sql(id, ['STOP SLAVE', this.changeMaster(id, primary), 'START SLAVE'], 5000);
    await this.event('repointed', { node: id, leader: primary, epoch: this.epoch });
  }

  /** Steps 1-4 of the file's comment. */
  private async failover(old: string, silentMs: number): Promise<void> {
    const declaredAt = Date.now();
    await this.event('leader-declared-dead', { leader: old, silentMs, failoverTimeoutMs: this.host.failoverTimeoutMs });
    const others = this.host.nodeIds().filter((id) => id !== old && this.latest[id]?.ok);
    const settled = await Promise.all(others.map(async (id) => ({ id, pos: await this.drain(id).catch(() => undefined) })));
    const choice = mostAdvanced(settled.filter((c): c is { id: string; pos: Gtid[] } => c.pos !== undefined));
    if (!choice) {
      await this.event('failover-blocked', { leader: old, why: 'no replica answers' });
      return;
    }
    const semi = this.host.semiSync;
    try {
      await this.sql(
        choice.id,
        [
          'STOP SLAVE',
          'RESET SLAVE ALL',
          `SET GLOBAL rpl_semi_sync_master_wait_point = ${semi.rpl_semi_sync_master_wait_point}`,
          `SET GLOBAL rpl_semi_sync_master_timeout = ${semi.rpl_semi_sync_master_timeout}`,
          `SET GLOBAL rpl_semi_sync_master_enabled = ${semi.rpl_semi_sync_master_enabled}`,
          'SET GLOBAL read_only = 0',
        ],
        5000,
      );
    } catch (e: unknown) {
      await this.event('promote-failed', { node: choice.id, epoch: this.epoch + 1, error: toError(e).message });
      return;
    }
    this.epoch++;
    this.primaryId = choice.id;
    this.lastPrimaryOk = Date.now();
    await this.event('promoted', {
      node: choice.id,
      from: old,
      epoch: this.epoch,
      why: `most advanced replica (gtid_current_pos ${choice.pos.map(gtidText).join(',') || 'empty'})`,
      detectionMs: silentMs,
      promotionMs: Date.now() - declaredAt,
      lastLsn: seqIn(choice.pos),
    });
    for (const id of others)
      if (id !== choice.id) await this.repoint(id, choice.id).catch((e: unknown) => this.event('repoint-failed', { node: id, error: toError(e).message }));
    // The old primary, where it can be reached (a kill leaves nothing to reach; a partition may).
    void this.fence(old).catch(() => {});
  }

  /** Stops `id` fetching from the old primary and waits (up to 5 s) until it applied what it has; its position then. */
  private async drain(id: string): Promise<Gtid[]> {
    await this.sql(id, ['STOP SLAVE IO_THREAD'], 3000);
    // Applied everything it received, or its applier stopped (then its position is what it is).
    await waitFor(
      async () => {
        const s = ((await this.sql(id, ['SHOW SLAVE STATUS'], 2000)) as Array<Record<string, unknown>>)[0];
        return s?.Slave_SQL_Running !== 'Yes' || String(s.Slave_SQL_Running_State ?? '').includes('read all relay log');
      },
      5000,
      50,
    );
    const rows = (await this.sql(id, ['SELECT @@gtid_current_pos AS cur'], 2000)) as Array<{ cur: string }>;
    return parseGtidList(rows[0]?.cur);
  }
}
