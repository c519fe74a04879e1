/** replab's own modes in words, for the report's settings column. */
import type { ModeSettings } from '../system.js';

/** When a follower's acknowledgement counts, in words, with PostgreSQL's synchronous_commit beside it. */
const ACK_WORDS: Record<string, string> = {
  write: 'acknowledged once the follower has written it, before its fsync (PostgreSQL: remote_write)',
  flush: "acknowledged after the follower's fsync (PostgreSQL: on)",
  apply: 'acknowledged after the follower has applied it, so reads there see it (PostgreSQL: remote_apply)',
};

/**
 * "semi-sync: waits for 1 follower, acknowledged after the follower's fsync (PostgreSQL: on);
 * blocks when no follower answers in time; fencing by lease".
 */
export function describeReplabMode(r: ModeSettings, fencing: string): string {
  const parts: string[] = [];
  if (r.mode === 'async') parts.push("async: acknowledged after the leader's own fsync, without waiting for any follower");
  else {
    const waits = r.mode === 'semi-sync' ? `waits for ${String(r.k)} follower${r.k === 1 ? '' : 's'}` : 'waits for every follower';
    const ack = r.ackLevel ? `, ${ACK_WORDS[String(r.ackLevel)] ?? `ack ${String(r.ackLevel)}`}` : '';
    parts.push(`${String(r.mode)}: ${waits}${ack}`);
    if (r.onSyncTimeout === 'degrade') parts.push('falls back to async when no follower answers in time');
    else if (r.onSyncTimeout) parts.push('blocks when no follower answers in time');
  }
  if (r.applyDelayMs) parts.push(`followers apply ${String(r.applyDelayMs)} ms late`);
  if (r.visibility === 'early') parts.push('writes visible on the leader before they are acknowledged');
  parts.push(fencing === 'none' ? 'no fencing (split brain possible)' : `fencing by ${fencing}`);
  return parts.join('; ');
}
