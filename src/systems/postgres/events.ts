/**
 * Patroni's failovers as its own logs record them: each node's Patroni logs
 * `<date> <time>,<ms> INFO: promoted self to leader by acquiring session lock` when it takes the
 * leader key after the old leader's expired, and `demoting self …` / `demoted self …` when it
 * gives up leading (its key lapsed, etcd was out of reach). Patroni's log times are the machine's
 * local time, read here as such.
 */
import type { SystemEvent } from '../events.js';

const LINE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),(\d{3}) \w+: (.*)$/;
const PROMOTED = /^promoted self to leader/;
const DEMOTED = /^demot(?:ing|ed) self(?: because)? ?(.*)$/;

/**
 * Every promotion and demotion in the nodes' Patroni logs (`logs`: node id → log text), oldest
 * first. Each promotion names the leader it replaced (`from`): the one before it, `firstLeader`
 * (the node that bootstrapped the cluster) for the first.
 */
export function patroniEvents(logs: Record<string, string>, firstLeader: string): SystemEvent[] {
  const out: Array<SystemEvent & { timeMs: number }> = [];
  for (const [node, text] of Object.entries(logs)) {
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      const [y, mo, d, h, mi, s, ms] = m.slice(1, 8).map(Number) as [number, number, number, number, number, number, number];
      const timeMs = new Date(y, mo - 1, d, h, mi, s, ms).getTime();
      const what = m[8]!;
      if (PROMOTED.test(what)) out.push({ event: 'promoted', timeMs, node, by: 'patroni' });
      else {
        const demoted = DEMOTED.exec(what);
        if (demoted) out.push({ event: 'fenced', timeMs, node, how: `Patroni demoted it${demoted[1] ? `: ${demoted[1]}` : ''}` });
      }
    }
  }
  out.sort((a, b) => a.timeMs - b.timeMs);
  let leader = firstLeader;
  for (const e of out) {
    if (e.event !== 'promoted') continue;
    e.from = leader;
    leader = e.node!;
  }
  return out;
}
