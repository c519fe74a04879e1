/**
 * CPU time of a system's processes (each with every descendant: PostgreSQL's backends are children
 * of its postmaster) from /proc, so bench:peers can say how much CPU one write costs in each
 * process and not only how many writes a second came out. On a machine where every process shares
 * two cores, CPU per write is what decides throughput.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // Linux USER_HZ on every architecture Node supports

interface ProcStat {
  ppid: number;
  ticks: number;
}

function readStats(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Fields after the command's closing parenthesis: state ppid … utime(14) stime(15).
      const text = readFileSync(`/proc/${name}/stat`, 'latin1');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // exited between readdir and read
    }
  }
  return out;
}

/** CPU seconds used so far by each named process and its descendants. */
export function cpuSeconds(roots: Array<{ name: string; pid: number }>): Map<string, number> {
  const stats = readStats();
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const out = new Map<string, number>();
  for (const root of roots) {
    let ticks = 0;
    const stack = [root.pid];
    while (stack.length) {
      const pid = stack.pop()!;
      ticks += stats.get(pid)?.ticks ?? 0;
      stack.push(...(children.get(pid) ?? []));
    }
    out.set(root.name, (out.get(root.name) ?? 0) + ticks / TICKS_PER_SEC);
  }
  return out;
}
