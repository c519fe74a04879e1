/**
 * `replab proxy` stopped the moment it looks ready exits 0, never dies of the signal: whatever a
 * caller waits for (the "listening" line a user or test reads, endpoint.json that `cluster up`
 * waits for) comes after the SIGTERM handler exists. Each case repeats the race several times,
 * because before the handler was installed first it was lost in about half (stdout line) and
 * nearly all (endpoint.json) of the attempts here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, promises as fsp, watch } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEntry } from '../../src/lib/paths.js';
import { stateRoot } from '../helpers/cluster.js';

const ATTEMPTS = 10;
const dir = () => path.join(stateRoot(), `proxy-signal-${process.pid}`);

afterAll(async () => {
  await fsp.rm(dir(), { recursive: true, force: true });
});

function startProxy(stateDir?: string): { child: ChildProcess; exited: Promise<string> } {
  const args = [cliEntry(), 'proxy', '--port', '0', ...(stateDir ? ['--state-dir', stateDir] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // "exit 0", or "signal SIGTERM" when the process died of it: a failure names which.
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit ${code}${stderr ? `: ${stderr.trim()}` : ''}`)),
  );
  return { child, exited };
}

describe('replab proxy: SIGTERM at readiness', () => {
  it('right after the "proxy API listening on" line, it exits 0', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const { child, exited } = startProxy();
      let out = '';
      await new Promise<void>((resolve) =>
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (/proxy API listening on /.test(out)) resolve();
        }),
      );
      child.kill('SIGTERM');
      outcomes.push(await exited);
    }
    expect(outcomes).toEqual(Array(ATTEMPTS).fill('exit 0'));
  });

  it('right when endpoint.json appears, it exits 0', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const stateDir = path.join(dir(), `try-${i}`);
      await fsp.mkdir(stateDir, { recursive: true });
      const file = path.join(stateDir, 'endpoint.json');
      // Watch before starting, so the file's appearance is seen the moment it is renamed in.
      const appeared = new Promise<void>((resolve) => {
        const w = watch(stateDir, () => {
          if (!existsSync(file)) return;
          w.close();
          resolve();
        });
      });
      const { child, exited } = startProxy(stateDir);
      child.stdout!.resume();
      await appeared;
      child.kill('SIGTERM');
      outcomes.push(await exited);
    }
    expect(outcomes).toEqual(Array(ATTEMPTS).fill('exit 0'));
  });
});
