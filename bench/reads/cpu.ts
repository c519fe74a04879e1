/**
 * CPU spent per read while a measurement runs, by process: each node, the proxy and monitor
 * together, and this process (the load generator). Every process of the cluster shares the
 * machine's cores with the load generator, so reads/s is bounded by the CPU one read costs summed
 * over all of them, wherever the read is served: this is the figure that says why moving reads to
 * followers adds little on a small machine. Counters come from /proc (bench/peers/cpu-time.ts).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { cpuSeconds } from '../peers/cpu-time.js';

const TICKS_PER_SEC = 100; // Linux USER_HZ, as in cpu-time.ts

/** CPU seconds every process on the machine has used (busy time of /proc/stat's first line). */
function machineBusySeconds(): number {
  // cpu user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SEC;
}

export interface CpuSplit {
  /** CPU seconds by process name (node ids, "proxy + monitor", "load generator"). */
  seconds: Record<string, number>;
  /** Share of all the machine's cores these processes kept busy. */
  machineShare: number;
  /** Share of all the machine's cores kept busy by everything else running meanwhile (the machine is shared). */
  othersShare: number;
}

/** What the closed loop's onMeasure calls, and the split once it has been called twice. */
export function cpuMeter(processes: () => Array<{ name: string; pid: number }>): {
  onMeasure: (phase: 'start' | 'end') => void;
  split: () => CpuSplit | undefined;
} {
  let before: { sys: Map<string, number>; self: NodeJS.CpuUsage; machine: number; at: number } | undefined;
  let result: CpuSplit | undefined;
  const grouped = () => {
    const named = processes().map((p) => ({ name: p.name === 'proxy' || p.name === 'monitor' ? 'proxy + monitor' : p.name, pid: p.pid }));
    return cpuSeconds(named);
  };
  return {
    onMeasure: (phase) => {
      const sys = grouped();
      if (phase === 'start') {
        before = { sys, self: process.cpuUsage(), machine: machineBusySeconds(), at: performance.now() };
        return;
      }
      if (!before) return;
      const self = process.cpuUsage(before.self);
      const seconds: Record<string, number> = {};
      for (const [k, v] of sys) seconds[k] = v - (before.sys.get(k) ?? 0);
      seconds['load generator'] = (self.user + self.system) / 1e6;
      const elapsedSec = (performance.now() - before.at) / 1000;
      const total = Object.values(seconds).reduce((a, b) => a + b, 0);
      const machine = machineBusySeconds() - before.machine;
      const cores = os.cpus().length;
      result = { seconds, machineShare: total / elapsedSec / cores, othersShare: Math.max(0, machine - total) / elapsedSec / cores };
    },
    split: () => result,
  };
}
