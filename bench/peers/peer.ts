/**
 * What bench:peers needs from each system it compares: start it on 127.0.0.1 (free ports, its own
 * temp folder), put it in a replication mode, hand out one connection per client, stop it. Modes
 * share replab's names; `promise` says in each system's own terms what an acknowledged write has
 * survived, because the three do not promise the same thing.
 */
import type { WriteFn } from './closed-loop.js';

export type PeerMode = 'async' | 'semi-sync' | 'sync';

/** Where CPU goes: the node taking writes, its replicas, and what only replab runs (proxy, monitor). */
export type PeerProcessRole = 'primary' | 'replicas' | 'harness';

export interface PeerConnection {
  write: WriteFn;
  close: () => Promise<void> | void;
}

export interface Peer {
  /** Row label, e.g. "Redis 7.0.15". */
  readonly name: string;
  /** What an acknowledged write has survived in this mode, e.g. "leader fsync + 1 replica received". */
  promise(mode: PeerMode): string;
  /** Whether the system has `mode` at all (MariaDB has no sync); absent means every mode. */
  supports?(mode: PeerMode): boolean;
  /** Starts (or restarts) the system in `mode`; ready for writes when it resolves. */
  use(mode: PeerMode): Promise<void>;
  connect(i: number): Promise<PeerConnection>;
  /** The running processes, by role (each counted with its descendants for CPU time). */
  processes(): Array<{ name: PeerProcessRole; pid: number }>;
  /** Stops every process it started and removes its data. Safe to call twice. */
  stop(): Promise<void>;
}

/** A missing program: bench:peers prints what to install and exits 4. */
export class MissingPackage extends Error {}
