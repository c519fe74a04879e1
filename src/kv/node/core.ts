/**
 * What a role may use of its node: the parts every role shares (settings, I/O, the log, the state
 * it rebuilds, the epoch record, checkpoints, the replication port, reads waiting for an LSN).
 * The node (node.ts) owns these and hands them to the role it creates; a role owns everything
 * else it needs, and changes nothing of the node's except through these objects' methods.
 */
import type { Io } from '../../lib/io/io.js';
import type { Logger } from '../../lib/log.js';
import type { NodeConfig } from '../config.js';
import type { ReplicationServer } from '../replication/upstream.js';
import type { Checkpointer } from '../state/checkpointer.js';
import type { NodeMetaStore } from '../state/meta.js';
import type { KvState } from '../state/store.js';
import type { Wal } from '../wal/wal.js';
import type { AppliedWaiters } from './applied-waiters.js';

export interface NodeCore {
  readonly config: Readonly<NodeConfig>;
  readonly log: Logger;
  readonly io: Io;
  /** This process's id: a lease anchor (lease.ts) from another process of this node grants nothing. */
  readonly boot: string;
  readonly wal: Wal;
  /** Leader: every appended write (what cas decides on). Follower: the applied state. */
  readonly head: KvState;
  readonly meta: NodeMetaStore;
  readonly checkpoints: Checkpointer;
  readonly replication: ReplicationServer;
  /** Reads waiting for the visible state to reach an LSN (`after:<lsn>`). */
  readonly readWaiters: AppliedWaiters;
  /** Persists a newer epoch (serialized with role changes); a leader that learns of one steps down. */
  adoptEpoch(epoch: number, why: string): Promise<void>;
  /** A write was appended as leader (the node's running count, for /metrics). */
  countWrite(): void;
  /** Stops the node: its files can no longer be trusted in this process. */
  fatal(message: string): void;
  /** Runs `run` after every role change or log rewrite queued before it, and before any queued after. */
  serialized<T>(run: () => Promise<T>): Promise<T>;
}
