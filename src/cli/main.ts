#!/usr/bin/env node
/**
 * The replab CLI and its only catch-all. A HarnessError prints `error: <message>` and exits with
 * its code; anything else is a bug: `internal error: <message>`, the stack in a log file (or on
 * stderr with --debug), exit 5. Exit codes: 0 ok/valid, 1 invalid, 2 bad usage or input,
 * 3 unknown, 4 environment failure, 5 internal error.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { ExitCode, HarnessError, toError } from '../lib/errors.js';
import { readVersion } from '../lib/paths.js';
import { registerNodeCommand } from './commands/node.js';
import { registerClusterCommand } from './commands/cluster.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerCheckCommand } from './commands/check.js';
import { registerWorkloadCommand } from './commands/workload.js';
import { registerMonitorCommand } from './commands/monitor.js';
import { registerRouterCommand } from './commands/router.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerNemesisCommand } from './commands/nemesis.js';
import { registerRunCommand } from './commands/run.js';
import { registerDockerCommands } from './commands/docker.js';


export async function main(argv: string[]): Promise<number> {
  const program = new Command('replab')
    .description('compare async, semi-sync and sync replication under the same faults')
    .version(readVersion())
    .option('--debug', 'print stack traces of internal errors')
    .exitOverride();
  program.showSuggestionAfterError(true);
  registerNodeCommand(program);
  registerClusterCommand(program);
  registerBenchCommand(program);
  registerCheckCommand(program);
  registerWorkloadCommand(program);
  registerMonitorCommand(program);
  registerRouterCommand(program);
  registerProxyCommand(program);
  registerNemesisCommand(program);
  registerRunCommand(program);
  registerDockerCommands(program);
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv);
    return (process.exitCode as number | undefined) ?? ExitCode.ok;
  } catch (e: unknown) {
    return report(e, argv.includes('--debug'));
  }
}

async function report(e: unknown, debug: boolean): Promise<number> {
  if (e instanceof CommanderError) {
    // Commander already printed its one-line message (or the help/version text).
    return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (e instanceof HarnessError) {
    process.stderr.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
  const err = toError(e);
  const logPath = path.join(os.tmpdir(), `replab-internal-${process.pid}.log`);
  await fsp.writeFile(logPath, `${err.stack ?? err.message}\n`).catch(() => {});
  process.stderr.write(`internal error: ${err.message} (stack in ${logPath})\n`);
  if (debug) process.stderr.write(`${err.stack}\n`);
  return ExitCode.internal;
}

const code = await main(process.argv);
// Long-running commands (node) keep the event loop alive; everything else exits with its code.
if (code !== ExitCode.ok) process.exit(code);
