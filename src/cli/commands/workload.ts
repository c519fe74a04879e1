/** `replab workload WORKLOAD CLUSTER`: run a workload against a running cluster and record its history. */
import type { Command } from 'commander';
import { closeKvClients } from '../../client/kv-http.js';
import { ReplabCluster } from '../../cluster/replab-cluster.js';
import { HistoryRecorder } from '../../history/recorder.js';
import { KvDataClient } from '../../systems/replab/kv-data-client.js';
import { createWorkload, drive, recordFinalReads } from '../../workloads/driver.js';
import { loadWorkloadSpec } from '../../workloads/spec.js';
import { intFlag } from '../options.js';

export function registerWorkloadCommand(program: Command): void {
  program
    .command('workload <workload> <cluster>')
    .description('run a workload (workloads/*.yaml) against a running cluster and write its history')
    .requiredOption('--out <file>', 'history file to write (JSON Lines)')
    .option('--duration <s>', "override the workload's durationSec", intFlag('--duration', 1))
    .option('--seed <n>', "override the workload's seed", intFlag('--seed', 0))
    .option('--state-dir <dir>', 'folder holding cluster state', '.replab')
    .action(async (file: string, name: string, o: { out: string; duration?: number; seed?: number; stateDir: string }) => {
      const spec = await loadWorkloadSpec(file);
      if (o.seed !== undefined) spec.seed = o.seed;
      const cluster = await ReplabCluster.attach(name, o.stateDir);
      const client = new KvDataClient(cluster.client());
      await client.refresh();
      const workload = createWorkload(spec);
      const recorder = new HistoryRecorder(o.out);
      const progress = setInterval(() => process.stderr.write(`workload: ${recorder.count} history lines\n`), 2000);
      try {
        const stats = await drive({ spec, workload, client, recorder, durationSec: o.duration });
        await cluster.waitConverged(30_000).catch(() => process.stderr.write('workload: cluster did not converge; final reads may differ between nodes\n'));
        await recordFinalReads(workload, client, recorder);
        console.log(`${stats.invoked} ops: ${stats.ok} ok, ${stats.fail} fail, ${stats.info} info → ${o.out}`);
      } finally {
        clearInterval(progress);
        client.close();
        await recorder.close();
        closeKvClients();
      }
    });
}
