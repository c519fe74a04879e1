/**
 * MariaDB GTID positions (`domain-server-seq`, comma-separated per domain, as @@gtid_current_pos
 * shows them) and the questions failover asks of them: which node is furthest along, and which
 * transactions one node has that another lacks. replab's clusters write in domain 0 only (one
 * primary at a time), so a position is comparable by its sequence numbers per domain.
 */

export interface Gtid {
  domain: number;
  server: number;
  seq: number;
}

/** A GTID list (`0-1-42,1-2-7`; empty for none) as one GTID per domain. */
export function parseGtidList(text: string | null | undefined): Gtid[] {
  const out: Gtid[] = [];
  for (const part of (text ?? '').split(',').map((s) => s.trim())) {
    if (!part) continue;
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (!m) throw new Error(`not a GTID: "${part}"`);
    out.push({ domain: Number(m[1]), server: Number(m[2]), seq: Number(m[3]) });
  }
  return out;
}

export const gtidText = (g: Gtid) => `${g.domain}-${g.server}-${g.seq}`;

/** The sequence number a position reached in `domain` (0 when it has none there). */
export function seqIn(pos: Gtid[], domain = 0): number {
  return pos.find((g) => g.domain === domain)?.seq ?? 0;
}

/**
 * -1, 0 or 1 as position `a` is behind, level with or ahead of `b`, domain by domain (the first
 * domain that differs decides; replab writes in domain 0 only).
 */
export function compareGtidPos(a: Gtid[], b: Gtid[]): number {
  const domains = [...new Set([...a, ...b].map((g) => g.domain))].sort((x, y) => x - y);
  for (const d of domains) {
    const diff = seqIn(a, d) - seqIn(b, d);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** The candidate furthest along (ties: the first listed), or undefined for none. */
export function mostAdvanced<T extends { pos: Gtid[] }>(candidates: T[]): T | undefined {
  let best: T | undefined;
  for (const c of candidates) if (!best || compareGtidPos(c.pos, best.pos) > 0) best = c;
  return best;
}

/**
 * The transactions in `mine` (a node's binlog, in order) that `theirs` (the new primary's binlog
 * GTIDs) does not hold: a returning old primary's errant transactions, the writes it committed
 * that the cluster went on without.
 */
export function errantGtids(mine: Gtid[], theirs: Gtid[]): Gtid[] {
  const held = new Set(theirs.map(gtidText));
  return mine.filter((g) => !held.has(gtidText(g)));
}
