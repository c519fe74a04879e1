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

type Register = (program: Command) => void;

/*
 * Each command's module is imported only when that command runs: the report renderer (vega),
 * dockerode and autocannon together cost about a second of start-up, and `replab node` is started
 * again on every kill/restart fault, where that second is part of the measured outage.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  node: async () => (await import('./commands/node.js')).registerNodeCommand,
  cluster: async () => (await import('./commands/cluster.js')).registerClusterCommand,
  bench: async () => (await import('./commands/bench.js')).registerBenchCommand,
  wal: async () => (await import('./commands/wal.js')).registerWalCommand,
  check: async () => (await import('./commands/check.js')).registerCheckCommand,
  'import-history': async () => (await import('./commands/check.js')).registerCheckCommand,
  workload: async () => (await import('./commands/workload.js')).registerWorkloadCommand,
  monitor: async () => (await import('./commands/monitor.js')).registerMonitorCommand,
  router: async () => (await import('./commands/router.js')).registerRouterCommand,
  proxy: async () => (await import('./commands/proxy.js')).registerProxyCommand,
  nemesis: async () => (await import('./commands/nemesis.js')).registerNemesisCommand,
  run: async () => (await import('./commands/run.js')).registerRunCommand,
  compare: async () => (await import('./commands/compare.js')).registerCompareCommand,
  serve: async () => (await import('./commands/serve.js')).registerServeCommand,
  report: async () => (await import('./commands/run.js')).registerRunCommand,
  merge: async () => (await import('./commands/run.js')).registerRunCommand,
  image: async () => (await import('./commands/docker.js')).registerDockerCommands,
  docker: async () => (await import('./commands/docker.js')).registerDockerCommands,
};

/** The register functions for this command line: its own command's, or all of them (help, typos). */
async function registersFor(argv: string[]): Promise<Register[]> {
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  const loaders = name && COMMANDS[name] ? [COMMANDS[name]] : Object.values(COMMANDS);
  return [...new Set(await Promise.all(loaders.map((load) => load())))];
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('replab')
    .description('compare async, semi-sync and sync replication under the same faults')
    .version(readVersion())
    .option('--debug', 'print stack traces of internal errors')
    .exitOverride();
  program.showSuggestionAfterError(true);
  for (const register of await registersFor(argv)) register(program);
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
