/** The replication modes, written once: specs, flags, the monitor's config and benches all take them from here. */
export const REPLICATION_MODES = ['async', 'semi-sync', 'sync'] as const;
export type ReplicationMode = (typeof REPLICATION_MODES)[number];
