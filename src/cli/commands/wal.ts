/** `replab wal dump DATA_DIR [--json]`: a node's checkpoint and WAL records, read offline. */
import type { Command } from 'commander';
import { describeNodeLog, LogDumpError, nodeLogToJsonl, readNodeLog } from '../../kv/log-dump.js';
import { ConfigError, EnvironmentError, errnoCode } from '../../lib/errors.js';

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
      await writeStdout(o.json ? nodeLogToJsonl(log) : `${describeNodeLog(log, dataDir)}\n`);
    });
}

/**
 * Writes the dump. A reader that stops early (`wal dump --json | head`) closes the pipe: that ends
 * the command quietly with exit 0, as it ends cat or grep, rather than in an unhandled EPIPE and
 * its stack trace. Any other write error (a full disk behind a redirect) is the environment's.
 */
function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The stream emits the error it also hands the callback; unheard, that event is an uncaught
    // exception whatever the callback does.
    process.stdout.on('error', () => {});
    process.stdout.write(text, (e) => {
      const code = errnoCode(e);
      if (!e || code === 'EPIPE') resolve();
      else reject(new EnvironmentError(`cannot write the dump to stdout (${code ?? e.message})`));
    });
  });
}
