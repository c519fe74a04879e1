/**
 * `replab node` stopped the moment it looks ready (its endpoint.json appears, which is what a
 * cluster waits for) exits 0 and releases its data dir, never dies of the signal: the SIGTERM
 * handler exists before anything says the node is up (src/lib/signals.ts). Repeated, because the
 * race is lost only some of the time.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp, watch } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEntry } from '../../src/lib/paths.js';
import { stateRoot } from '../helpers/cluster.js';

const ATTEMPTS = 8;
const dir = path.join(stateRoot(), `node-signal-${process.pid}`);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('replab node: SIGTERM at readiness', () => {
  it('right when endpoint.json appears, it exits 0 and leaves no LOCK behind', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const dataDir = path.join(dir, `n${i}`);
      await fsp.mkdir(dataDir, { recursive: true });
      const file = path.join(dataDir, 'endpoint.json');
      const appeared = new Promise<void>((resolve) => {
        const w = watch(dataDir, () => {
          if (existsSync(file)) {
            w.close();
            resolve();
          }
        });
      });
      const child = spawn(process.execPath, [cliEntry(), 'node', '--id', 'n1', '--data-dir', dataDir, '--token', 't'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<string>((resolve) =>
        child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit ${code}${code ? `: ${stderr.trim()}` : ''}`)),
      );
      await appeared;
      child.kill('SIGTERM');
      outcomes.push(await exited);
      expect(existsSync(path.join(dataDir, 'LOCK')), 'the data dir lock is released').toBe(false);
    }
    expect(outcomes).toEqual(Array(ATTEMPTS).fill('exit 0'));
  }, 90_000);
});
