/** `replab serve [--reports DIR] [--port 8080]`: browse, compare and trend past runs on 127.0.0.1. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EnvironmentError, errnoCode, toError, UsageError } from '../../lib/errors.js';
import { ReportsServer } from '../../serve/server.js';
import { intFlag } from '../options.js';

function portFlag(v: string): number {
  const n = intFlag('--port', 0)(v);
  if (n > 65535) throw new UsageError(`--port must be at most 65535, got ${n}`);
  return n;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('browse the run folders of a reports directory on http://127.0.0.1 (index, reports, compare, trend); read-only')
    .option('--reports <dir>', 'the reports directory', 'reports')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', portFlag, 8080)
    .action(async (o: { reports: string; port: number }) => {
      if (!existsSync(o.reports) || !statSync(o.reports).isDirectory()) throw new UsageError(`--reports ${o.reports}: no such directory`);
      const server = new ReportsServer(path.resolve(o.reports));
      const address = await server.listen(o.port).catch((e: unknown) => {
        throw new EnvironmentError(`cannot serve on 127.0.0.1:${o.port}: ${errnoCode(e) ?? toError(e).message}`);
      });
      console.log(`serving ${o.reports} on http://${address}/ (Ctrl-C stops)`);
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    });
}
