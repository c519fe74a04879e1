/**
 * `INFO replication`'s answer, parsed: a node's role, its replication offset, and on a primary
 * each replica's address, state and acknowledged offset (the lag chart's bytes come from these).
 * One parser for the one format; lines it does not know are ignored, as Redis adds fields.
 */

export interface ReplicaLine {
  host: string;
  /** The port the replica announced (its proxy link here). */
  port: number;
  state: string;
  /** The replication offset the replica last acknowledged. */
  offset: number;
}

export interface ReplicationInfo {
  role: 'master' | 'slave';
  /** master_repl_offset on a primary, slave_repl_offset on a replica (-1 when absent). */
  offset: number;
  replicas: ReplicaLine[];
  /** On a replica: its primary's address and whether the link is up. */
  master?: { host: string; port: number; linkUp: boolean };
}

export function parseReplicationInfo(text: string): ReplicationInfo | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const role = fields.get('role');
  if (role !== 'master' && role !== 'slave') return undefined;
  const replicas: ReplicaLine[] = [];
  for (const [k, v] of fields) {
    if (!/^slave\d+$/.test(k)) continue;
    const kv = Object.fromEntries(v.split(',').map((p) => p.split('=') as [string, string]));
    replicas.push({ host: kv.ip ?? '', port: Number(kv.port), state: kv.state ?? '', offset: Number(kv.offset ?? -1) });
  }
  const offset = Number(fields.get(role === 'master' ? 'master_repl_offset' : 'slave_repl_offset') ?? -1);
  return {
    role,
    offset,
    replicas,
    ...(role === 'slave'
      ? { master: { host: fields.get('master_host') ?? '', port: Number(fields.get('master_port')), linkUp: fields.get('master_link_status') === 'up' } }
      : {}),
  };
}
