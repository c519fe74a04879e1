/**
 * The CLI as a user types it: `replab cluster up|status|kill|restart|down` on a spec file, one-line
 * errors with exit 2 for bad specs and flags, and a node that refuses a WAL damaged in the middle.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEntry } from '../../src/lib/paths.js';
import { get, put, stateRoot } from '../helpers/cluster.js';
import { replab } from '../helpers/cli.js';
import { LocalCluster } from '../../src/cluster/local.js';
import { isPidRunning } from '../../src/lib/pid.js';

const dir = () => path.join(stateRoot(), `cli-${process.pid}`);
const stateDir = () => ['--state-dir', dir()];

afterAll(async () => {
  await replab(['cluster', 'down', 'cli-three', ...stateDir()]);
});

describe('cli: cluster', () => {
  it('up, status, kill, restart, down on a spec file', async () => {
    const specFile = path.join(dir(), 'cli-three.yaml');
    await fsp.mkdir(dir(), { recursive: true });
    await fsp.writeFile(specFile, 'nodes: [{id: n1}, {id: n2}, {id: n3}]\nreplication: {mode: sync}\nheartbeatMs: 50\n');
    const up = await replab(['cluster', 'up', specFile, '--mode', 'semi-sync', ...stateDir()]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('cluster "cli-three" up (mode semi-sync)');
    const file = JSON.parse(await fsp.readFile(path.join(dir(), 'cli-three', 'cluster.json'), 'utf8')) as { name: string; nodes: Array<Record<string, unknown>> };
    expect(file.name).toBe('cli-three');
    expect(file.nodes.map((n) => Object.keys(n).sort())).toEqual(Array(3).fill(['dataDir', 'http', 'id', 'pid', 'repl']));
    const leader = file.nodes[0]!.http as string;
    expect((await put(leader, 'x', '1')).status).toBe(200);

    const st = await replab(['cluster', 'status', 'cli-three', ...stateDir()]);
    expect(st.stdout).toMatch(/n1\s+leader/);
    expect(st.stdout).toMatch(/n3\s+follower/);

    expect((await replab(['cluster', 'kill', 'cli-three', 'n2', ...stateDir()])).code).toBe(0);
    expect((await replab(['cluster', 'status', 'cli-three', ...stateDir()])).stdout).toMatch(/n2\s.*down/);
    expect((await replab(['cluster', 'restart', 'cli-three', 'n2', ...stateDir()])).code).toBe(0);
    const c = await LocalCluster.attach('cli-three', dir());
    await c.waitReady();
    await c.waitConverged();
    expect((await get(c.endpoint('n2').http, 'x')).body.value).toBe('1');
    expect(c.endpoint('n2').http).toBe(file.nodes[1]!.http); // same ports after restart

    // Planned switchover from the command line; status shows the monitor's view.
    const sw = await replab(['cluster', 'switchover', 'cli-three', '--to', 'n3', ...stateDir()]);
    expect(sw.stderr).toBe('');
    expect(sw.stdout).toMatch(/^switchover n1 -> n3 done in \d+ ms \(epoch 2, handed over at lsn 1\)\n$/);
    const st2 = await replab(['cluster', 'status', 'cli-three', ...stateDir()]);
    expect(st2.stdout).toMatch(/n3\s+leader/);
    expect(st2.stdout).toMatch(/monitor: \S+ {2}leader n3 {2}epoch 2 {2}healthy/);
    const bad = await replab(['cluster', 'switchover', 'cli-three', '--to', 'n9', ...stateDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: cluster "cli-three" has no node "n9" (nodes: n1, n2, n3)\n');
    const monitorPid = (JSON.parse(await fsp.readFile(path.join(dir(), 'cli-three', 'cluster.json'), 'utf8')) as { monitor: { pid: number } }).monitor.pid;

    const down = await replab(['cluster', 'down', 'cli-three', '--clean', ...stateDir()]);
    expect(down.code).toBe(0);
    for (const n of file.nodes) expect(isPidRunning(n.pid as number)).toBe(false);
    expect(isPidRunning(monitorPid)).toBe(false);
  });

  it('a bad spec is one line naming the field, exit 2', async () => {
    const specFile = path.join(dir(), 'bad.yaml');
    await fsp.mkdir(dir(), { recursive: true });
    await fsp.writeFile(specFile, 'nodes: [{id: n1}]\nreplication: {mode: eventually}\n');
    const r = await replab(['cluster', 'up', specFile, ...stateDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: ${specFile}: replication.mode: Invalid option: expected one of "async"|"semi-sync"|"sync", got "eventually"\n`);
  });

  it('bad flags are one line, exit 2', async () => {
    const r = await replab(['cluster', 'up', 'clusters/three-node.yaml', '--mode', 'fast', ...stateDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--mode must be one of async, semi-sync, sync, got "fast"');
    const u = await replab(['cluster', 'frobnicate']);
    expect(u.code).toBe(2);
    const missing = await replab(['cluster', 'status', 'no-such-cluster', ...stateDir()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: no cluster named "no-such-cluster"/);
  });
});

describe('cli: node', () => {
  it('refuses to start on a WAL damaged in the middle: one line naming file and offset, exit 4', async () => {
    const dataDir = path.join(dir(), 'corrupt-node');
    const token = ['--token', 't'];
    // Write some records through a real node, then stop it.
    const node = await startAndWrite(dataDir, token);
    await node.stop();
    const seg = path.join(dataDir, (await fsp.readdir(dataDir)).find((n) => n.endsWith('.seg'))!);
    const buf = await fsp.readFile(seg);
    buf[40] ^= 0xff; // inside the first record's payload; later records are intact
    await fsp.writeFile(seg, buf);
    const r = await replab(['node', '--id', 'n1', '--data-dir', dataDir, ...token]);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`error: WAL corrupt: checksum mismatch in ${seg} at offset 0; committed records follow it, refusing to start\n`);
  });
});

/** Runs `replab node` as a process, writes 20 keys, returns a stopper that SIGTERMs it. */
async function startAndWrite(dataDir: string, token: string[]): Promise<{ stop: () => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [cliEntry(), 'node', '--id', 'n1', '--data-dir', dataDir, ...token], { stdio: 'ignore' });
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  try {
    let endpoint: { http: string } | undefined;
    for (let i = 0; i < 500 && !endpoint; i++) {
      endpoint = await fsp.readFile(path.join(dataDir, 'endpoint.json'), 'utf8').then((t) => JSON.parse(t) as { http: string }, () => undefined);
      if (!endpoint) await new Promise((r) => setTimeout(r, 20));
    }
    if (!endpoint) throw new Error('node did not start');
    for (let i = 0; i < 20; i++) expect((await put(endpoint.http, `k${i}`, `v${i}`)).status).toBe(200);
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}
