/**
 * Reading a leader-epoch history (Kafka's leader-epoch cache): a list of (epoch, start LSN), one
 * entry per epoch that wrote records, ascending. It answers "which epoch wrote LSN x" and "where
 * does epoch e end in this log", which is all a returning leader needs to find where its log and
 * the new leader's part ways.
 */
/** An epoch and the first LSN written in it. */
export interface EpochStart {
  epoch: number;
  startLsn: number;
}

/** The epoch that wrote `lsn` according to `history` (0 for LSN 0 or an empty history). */
export function epochOf(history: readonly EpochStart[], lsn: number): number {
  let epoch = 0;
  for (const e of history) {
    if (e.startLsn > lsn) break;
    epoch = e.epoch;
  }
  return lsn === 0 ? 0 : epoch;
}

/**
 * The last LSN this log holds from epochs up to `epoch`: the start of the first later epoch minus
 * one, or `lastLsn` when no later epoch wrote anything.
 */
export function endOfEpoch(history: readonly EpochStart[], epoch: number, lastLsn: number): number {
  const next = history.find((e) => e.epoch > epoch);
  return next ? Math.min(next.startLsn - 1, lastLsn) : lastLsn;
}

/**
 * Where a follower whose log ends at (lastLsn, lastEpoch) must cut its log to agree with an
 * upstream holding `history` up to `upstreamLastLsn`: `lastLsn` itself when nothing diverges.
 */
export function divergencePoint(history: readonly EpochStart[], upstreamLastLsn: number, lastLsn: number, lastEpoch: number): number {
  if (lastLsn === 0) return 0;
  return Math.min(lastLsn, endOfEpoch(history, lastEpoch, upstreamLastLsn));
}
