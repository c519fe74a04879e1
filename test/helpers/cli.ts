/** Runs the compiled CLI as a user would, returning exit code and both output streams. */
import { execFile } from 'node:child_process';
import { cliEntry } from '../../src/lib/paths.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function replab(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliEntry(), ...args],
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}
