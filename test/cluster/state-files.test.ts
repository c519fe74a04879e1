/**
 * The harness's own state files and the monitor, read by parsers, never trusted: a damaged file is
 * an environment error (exit 4) naming the file and what to do, and a monitor that does not answer
 * is one too, for `cluster switchover` and for `replab router`.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { commitSettings, loadClusterSpec } from '../../src/cluster/spec.js';
import { EnvironmentError, ExitCode } from '../../src/lib/errors.js';
import { cliEntry, projectRoot } from '../../src/lib/paths.js';
import { readMonitorState, STATE_FILE } from '../../src/monitor/state.js';

let root: string;
let closedPort: number;

beforeAll(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-state-files-'));
  // A port nothing listens on: bind, note it, close.
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closedPort = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** A cluster folder as `cluster up` leaves it, whose monitor is at a closed port. */
async function fakeCluster(name: string): Promise<string> {
  const dir = path.join(root, name);
  await fsp.mkdir(dir, { recursive: true });
  const spec = await loadClusterSpec(path.join(projectRoot(), 'clusters', 'three-node.yaml'));
  const nodes = spec.nodes.map((n, i) => ({
    id: n.id,
    http: `127.0.0.1:${closedPort}`,
    repl: `127.0.0.1:${closedPort}`,
    pid: 0,
    dataDir: path.join(dir, `d${i}`),
  }));
  await fsp.writeFile(path.join(dir, 'cluster.json'), JSON.stringify({ name, nodes, monitor: { http: `127.0.0.1:${closedPort}`, pid: 0 } }));
  const state = {
    name,
    spec: { ...spec, name },
    settings: commitSettings(spec),
    token: 't',
    nodes: nodes.map((n) => ({ id: n.id, role: n.id === 'n1' ? 'leader' : 'follower', args: [], logFile: path.join(dir, `${n.id}.log`), dataDir: n.dataDir })),
    links: {},
  };
  await fsp.writeFile(path.join(dir, 'state.json'), JSON.stringify(state));
  return dir;
}

describe('state files', () => {
  it('a damaged monitor-state.json is an environment error naming the file', async () => {
    const dir = path.join(root, 'monitor-bad');
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(path.join(dir, STATE_FILE), '{"epoch": 3, "leader": "n1"');
    const e = await readMonitorState(dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EnvironmentError);
    expect((e as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect((e as Error).message).toContain(path.join(dir, STATE_FILE));
    expect((e as Error).message).toMatch(/not valid JSON/);
    await fsp.writeFile(path.join(dir, STATE_FILE), JSON.stringify({ epoch: -1, highestEpoch: 3, leader: 'n1', upstreams: {}, syncStandbys: [] }));
    await expect(readMonitorState(dir)).rejects.toThrow(/monitor-state\.json: epoch: .*damaged monitor state/);
    await fsp.writeFile(path.join(dir, STATE_FILE), JSON.stringify({ epoch: 3, highestEpoch: 3, leader: 'n1', upstreams: { n2: 'n1' }, syncStandbys: [] }));
    expect(await readMonitorState(dir)).toEqual({ epoch: 3, highestEpoch: 3, leader: 'n1', upstreams: { n2: 'n1' }, syncStandbys: [] });
  });

  it('a damaged cluster state.json is an environment error naming the file, not a crash', async () => {
    const dir = await fakeCluster('c-bad');
    await fsp.writeFile(path.join(dir, 'state.json'), JSON.stringify({ name: 'c-bad', token: 't' }));
    const e = await ReplabCluster.attach('c-bad', root).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EnvironmentError);
    expect((e as Error).message).toContain(path.join(dir, 'state.json'));
    expect((e as Error).message).toMatch(/damaged cluster state/);
  });
});

describe('an unreachable monitor', () => {
  it('switchover says the monitor did not answer (exit 4), with what to check', async () => {
    await fakeCluster('c-down');
    const c = await ReplabCluster.attach('c-down', root);
    const e = await c.switchover('n2', 2000).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EnvironmentError);
    expect((e as Error).message).toMatch(new RegExp(`monitor at 127\\.0\\.0\\.1:${closedPort} did not answer \\(ECONNREFUSED\\)`));
  });

  it('replab router exits 4 with one line when its monitor does not answer', () => {
    const r = spawnSync(process.execPath, [cliEntry(), 'router', '--monitor', `127.0.0.1:${closedPort}`, '--http', '127.0.0.1:0'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(ExitCode.environment);
    expect(r.stderr).toMatch(/does not answer GET \/status/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
