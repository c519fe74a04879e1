/** `replab wal dump DATA_DIR [--json]`: a node's checkpoint and WAL records, read offline. */
import type { Command } from 'commander';
import { describeNodeLog, LogDumpError, nodeLogToJsonl, readNodeLog } from '../../kv/log-dump.js';
import { ConfigError } from '../../lib/errors.js';

export function registerWalCommand(program: Command): void {
  const wal = program.command('wal').description("read a node's write-ahead log offline");
  wal
    .command('dump <dataDir>')
    .description('print every record of a data dir (checkpoint, then WAL segments): lsn, epoch, time, key, value or delete')
    .option('--json', 'JSON Lines: a header line, the checkpoint entries, then one line per record')
    .action(async (dataDir: string, o: { json?: boolean }) => {
      const log = await readNodeLog(dataDir).catch((e: unknown) => {
        // A corrupt segment or checkpoint is bad input to this command: exit 2, naming where.
        if (e instanceof LogDumpError) throw new ConfigError(e.message);
        throw e;
      });
      process.stdout.write(o.json ? nodeLogToJsonl(log) : `${describeNodeLog(log, dataDir)}\n`);
    });
}
