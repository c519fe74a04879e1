/**
 * Where reads were served: how many ok reads a node other than the leader of the moment answered.
 * The history has no other record of who led when than the writes' acknowledgements: a read
 * counts as the leader's when it was served by the node that acknowledged the latest write before
 * it was invoked, or the first write after it completed (across a failover, the new leader serves
 * reads before its first acknowledgement), or when no write was acknowledged before it. This is
 * the share of read load the followers took.
 */
import type { PairedHistory } from '../history/op.js';

const WRITES = new Set(['write', 'cas', 'add', 'append', 'delete']);

export interface ReadPlacement {
  okReads: number;
  followerReads: number;
  /** followerReads / okReads, or null without ok reads. */
  followerShare: number | null;
}

export function checkReadPlacement({ pairs }: PairedHistory): ReadPlacement {
  // Acknowledging nodes of ok writes, by completion position.
  const acks: Array<{ pos: number; node: string }> = [];
  for (const p of pairs) if (WRITES.has(p.invoke.f) && p.complete?.type === 'ok' && p.complete.node) acks.push({ pos: p.completePos!, node: p.complete.node });
  acks.sort((a, b) => a.pos - b.pos);
  const reads = pairs
    .filter((p) => p.invoke.f === 'read' && p.complete?.type === 'ok' && typeof p.complete.node === 'string')
    .sort((a, b) => a.invokePos - b.invokePos);
  let i = 0;
  let leader: string | undefined;
  let followerReads = 0;
  for (const r of reads) {
    while (i < acks.length && acks[i]!.pos < r.invokePos) leader = acks[i++]!.node;
    let j = i;
    while (j < acks.length && acks[j]!.pos < r.completePos!) j++;
    const next = acks[j]?.node;
    const node = r.complete!.node;
    if (leader !== undefined && node !== leader && node !== next) followerReads++;
  }
  return { okReads: reads.length, followerReads, followerShare: reads.length > 0 ? followerReads / reads.length : null };
}
