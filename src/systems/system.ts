/**
 * The boundary between the harness and a system under test. Suites, nemeses, workloads, the
 * checker and the report talk to a running system only through this; a cluster spec's `system:`
 * picks the module (src/systems/index.ts). replab's own KV is one implementation
 * (src/systems/replab), PostgreSQL under Patroni and etcd another (src/systems/postgres).
 *
 * A system starts and stops its nodes, puts every link (replication, its coordinator or monitor,
 * clients) behind the cluster's fault proxy with the link names of src/faults/links.ts, and acts
 * on a node for kill, pause, resume and restart (each system documents which processes that hits).
 */
import type { UpOptions } from '../cluster/replab-cluster.js';
import type { NemesisCluster } from '../faults/nemesis/faults.js';
import type { DataClient } from '../workloads/data-client.js';
import type { EventSink } from './events.js';

/** What `up(spec, options)` is given besides the spec. */
export interface SystemOptions extends UpOptions {
  /** Where the system reports its failover manager's events (src/systems/events.ts). */
  events: EventSink;
}

export type SystemName = 'replab' | 'postgres' | 'mariadb' | 'redis';
export const SYSTEMS: readonly SystemName[] = ['replab', 'postgres', 'mariadb', 'redis'];

/**
 * What a system can measure. The harness reports a metric a system cannot measure as "not
 * measured" (null in results.json) rather than 0, and refuses a gate on it when the suite loads.
 */
export interface SystemCapabilities {
  /**
   * Whether each acknowledgement carries the epoch or term of the leader that gave it
   * (`Outcome.epoch`): without it, a write acknowledged by a superseded leader cannot be told
   * from any other, so split-brain writes are not measured.
   */
  splitBrainWrites: boolean;
  /**
   * The unit of `LagSample.lagRecords`, how far behind a follower is: log records, bytes of the
   * replication stream, or seconds; null when `lag()` gives no amount (only `lagMs`).
   */
  lagUnit: LagUnit | null;
  /**
   * The step `LagSample.lagMs` moves in: 1 for a lag timed in ms, 1000 for one the system gives in
   * whole seconds; null when `lag()` gives no time (lagMs is then -1).
   */
  lagMsStep: number | null;
}

export const LAG_UNITS = ['records', 'bytes', 'seconds'] as const;
export type LagUnit = (typeof LAG_UNITS)[number];

/** What the built-in systems measure: PostgreSQL's acknowledgements carry no timeline or term. */
const BUILTIN_CAPABILITIES: Record<SystemName, SystemCapabilities> = {
  replab: { splitBrainWrites: true, lagUnit: 'records', lagMsStep: 1 },
  postgres: { splitBrainWrites: false, lagUnit: 'bytes', lagMsStep: 1 },
  // Neither acknowledgement carries the primary's term: a GTID names the server that wrote it, not
  // a failover epoch a stale primary could be told apart by, and Redis's replies carry nothing.
  // MariaDB's lag counts transactions (GTID sequence numbers) and has no time (mariadb/index.ts).
  mariadb: { splitBrainWrites: false, lagUnit: 'records', lagMsStep: null },
  // Redis: replication offsets in bytes; INFO's `lag` is whole seconds since the replica's last ack.
  redis: { splitBrainWrites: false, lagUnit: 'bytes', lagMsStep: 1000 },
};

/** A user's module measures what it declares; one that declares nothing is taken at its word for everything. */
export const DEFAULT_CAPABILITIES: SystemCapabilities = { splitBrainWrites: true, lagUnit: 'records', lagMsStep: 1 };

/** The capabilities of a built-in system by name, or of a module from what it exports (`capabilities`). */
export function capabilitiesOf(system: string, declared?: Partial<SystemCapabilities>): SystemCapabilities {
  if ((SYSTEMS as readonly string[]).includes(system)) return BUILTIN_CAPABILITIES[system as SystemName];
  return { ...DEFAULT_CAPABILITIES, ...declared };
}

/** A mode's replication block as results.json keeps it (what src/systems/describe.ts words). */
export type ModeSettings = Record<string, unknown>;

export interface LagSample {
  leader: string;
  follower: string;
  /** How far behind the follower is, in the system's `lagUnit` (records for replab, WAL bytes for PostgreSQL, replication-stream bytes for Redis). */
  lagRecords: number;
  lagMs: number;
  connected: boolean;
  /** The node it streams from when that is not the leader (a relay chain: lag adds up per hop). */
  upstream?: string;
}

export interface SystemUnderTest extends NemesisCluster {
  readonly system: string;
  /** Folder holding this cluster's state, with `logs/` inside. */
  readonly stateDir: string;
  /** A new client for workloads (one per client slot, each finding the leader on its own). */
  dataClient(options?: { refreshMs?: number }): Promise<DataClient>;
  /** Replication lag per follower as the current leader reports it; undefined when unknown. */
  lag(): Promise<LagSample[] | undefined>;
  /** Resolves once every node holds the leader's data; rejects after `timeoutMs`. */
  waitConverged(timeoutMs: number): Promise<unknown>;
  /** Stops every process; `clean` also deletes the data. */
  down(options?: { clean?: boolean }): Promise<void>;
  /**
   * After `down()`: copies logs (and whatever evidence the system keeps) into a run folder.
   * Returns, per node, null when its final log was kept as `log-<node>.jsonl`, else why not.
   */
  keepArtefacts(dir: string): Promise<Record<string, string | null>>;
}
