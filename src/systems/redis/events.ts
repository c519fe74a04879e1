/**
 * Failovers as the Sentinels logged them, handed to the run's event sink after the run (the
 * Sentinels are processes of their own; their logs are the record).
 *
 * A Sentinel logs `+switch-master <name> <old ip> <old port> <new ip> <new port>` when it adopts
 * a new primary; each of the three logs its own line for the same failover, so lines naming the
 * same switch within SAME_SWITCH_MS are one failover.
 */

export interface FailoverEvent {
  /** Wall-clock ms of the first Sentinel's line (the log's local time, read as this machine's). */
  atMs: number;
  from: string;
  to: string;
  /** Sentinels that logged it. */
  sentinels: string[];
}

const SAME_SWITCH_MS = 5000;
const SWITCH = /^\d+:X (\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2})\.(\d{3}) # \+switch-master \S+ (\S+) (\d+) (\S+) (\d+)/;

/**
 * The failovers in the Sentinels' logs (`logs`: sentinel id → log text), oldest first; `nodeAt`
 * names the node at an announced host:port (undefined: not a node of the cluster, skipped).
 */
export function failoversFromLogs(logs: Record<string, string>, nodeAt: (addr: string) => string | undefined): FailoverEvent[] {
  const lines: Array<{ atMs: number; from: string; to: string; sentinel: string }> = [];
  for (const [sentinel, text] of Object.entries(logs)) {
    for (const line of text.split('\n')) {
      const m = SWITCH.exec(line);
      if (!m) continue;
      const from = nodeAt(`${m[3]}:${m[4]}`);
      const to = nodeAt(`${m[5]}:${m[6]}`);
      const atMs = Date.parse(`${m[1]}`) + Number(m[2]);
      if (from && to && Number.isFinite(atMs)) lines.push({ atMs, from, to, sentinel });
    }
  }
  lines.sort((a, b) => a.atMs - b.atMs);
  const out: FailoverEvent[] = [];
  for (const l of lines) {
    const same = out.find((e) => e.from === l.from && e.to === l.to && l.atMs - e.atMs <= SAME_SWITCH_MS);
    if (same) {
      if (!same.sentinels.includes(l.sentinel)) same.sentinels.push(l.sentinel);
    } else out.push({ atMs: l.atMs, from: l.from, to: l.to, sentinels: [l.sentinel] });
  }
  return out;
}
