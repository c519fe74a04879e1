/**
 * Where a run's figures come from: the code (git commit of the working directory, and whether it
 * had uncommitted changes) and the machine (cores, CPU model, kernel, Node). Recorded in
 * results.json so that `replab compare` can say when two runs are not from the same machine or
 * code, which matters more for latency figures than any threshold.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { z } from 'zod';

export const MachineSchema = z.object({
  cores: z.number().int(),
  cpuModel: z.string(),
  kernel: z.string(),
  node: z.string(),
  memoryGiB: z.number(),
});
export type Machine = z.infer<typeof MachineSchema>;

export const GitSchema = z.object({ commit: z.string(), dirty: z.boolean() });
export type GitInfo = z.infer<typeof GitSchema>;

export function machineFingerprint(): Machine {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** The commit checked out in `cwd`, or null outside a git work tree (an installed package) or without git. */
export function gitInfo(cwd = process.cwd()): GitInfo | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
      .toString()
      .trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
        .toString()
        .trim() !== '';
    return /^[0-9a-f]{40}$/.test(commit) ? { commit, dirty } : null;
  } catch {
    return null;
  }
}

/** How two machines differ, in words ("cores 2 vs 8; CPU …"), or '' when they are the same. */
export function machineDifference(a: Machine | undefined, b: Machine | undefined): string {
  if (!a || !b) return a === b ? '' : 'one run does not record its machine';
  const parts: string[] = [];
  if (a.cores !== b.cores) parts.push(`cores ${a.cores} vs ${b.cores}`);
  if (a.cpuModel !== b.cpuModel) parts.push(`CPU "${a.cpuModel}" vs "${b.cpuModel}"`);
  if (a.kernel !== b.kernel) parts.push(`kernel ${a.kernel} vs ${b.kernel}`);
  if (a.node !== b.node) parts.push(`Node ${a.node} vs ${b.node}`);
  return parts.join('; ');
}
