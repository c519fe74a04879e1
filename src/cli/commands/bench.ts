/** `replab bench CLUSTER`: writes/s and latency per replication mode with autocannon, no faults. */
import type { Command } from 'commander';
import { loadClusterSpec } from '../../cluster/spec.js';
import type { ReplicationMode } from '../../kv/config.js';
import { UsageError } from '../../lib/errors.js';
import { REPLICATION_MODES } from '../../lib/modes.js';
import { benchModes, formatModeTable } from '../../suite/mode-throughput.js';
import { choiceFlag, intFlag, listFlag } from '../options.js';

const MODES = REPLICATION_MODES;

export function registerBenchCommand(program: Command): void {
  program
    .command('bench <cluster-spec>')
    .description('measure write throughput and latency of each replication mode (no faults)')
    .option('--modes <list>', 'comma-separated modes', listFlag, [...MODES])
    .option('--duration <s>', 'seconds of load per mode', intFlag('--duration', 1), 10)
    .option('--connections <n>', 'concurrent HTTP connections', intFlag('--connections', 1), 64)
    .option('--value-bytes <n>', 'size of each written value', intFlag('--value-bytes', 0), 100)
    .option('--json', 'print the rows as JSON')
    .action(async (specFile: string, o: { modes: string[]; duration: number; connections: number; valueBytes: number; json?: boolean }) => {
      const modes = o.modes.map((m) => choiceFlag('--modes', MODES)(m)) as ReplicationMode[];
      if (modes.length === 0) throw new UsageError('--modes must name at least one mode');
      const spec = await loadClusterSpec(specFile);
      const rows = await benchModes({
        spec,
        modes,
        durationSec: o.duration,
        connections: o.connections,
        valueBytes: o.valueBytes,
        onProgress: (m) => process.stderr.write(`bench: ${m}\n`),
      });
      console.log(o.json ? JSON.stringify(rows, null, 2) : formatModeTable(rows));
    });
}
