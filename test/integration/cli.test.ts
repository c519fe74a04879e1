/**
 * The CLI as a user types it: `replab cluster up|status|kill|restart|down` on a spec file, one-line
 * errors with exit 2 for bad specs and flags, and a node that refuses a WAL damaged in the middle.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { cliEntry } from '../../src/lib/paths.js';
import { isPidRunning } from '../../src/lib/pid.js';
import { replab } from '../helpers/cli.js';
import { get, put, stateRoot } from '../helpers/cluster.js';

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
    const file = JSON.parse(await fsp.readFile(path.join(dir(), 'cli-three', 'cluster.json'), 'utf8')) as {
      name: string;
      nodes: Array<Record<string, unknown>>;
    };
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
    const c = await ReplabCluster.attach('cli-three', dir());
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

describe('cli: nemesis and proxy', () => {
  it('injects a fault on a running cluster, undoes it after --for, and refuses bad faults with one line', async () => {
    const specFile = path.join(dir(), 'cli-nem.yaml');
    await fsp.mkdir(dir(), { recursive: true });
    await fsp.writeFile(specFile, 'nodes: [{id: n1}, {id: n2}]\nreplication: {mode: async}\nheartbeatMs: 50\n');
    expect((await replab(['cluster', 'up', specFile, ...stateDir()])).code).toBe(0);
    try {
      const r = await replab(['nemesis', 'cli-nem', 'partition', '--target', 'n2', '--cut', 'repl', '--for', '300ms', ...stateDir()]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [start, stop] = r.stdout.trim().split('\n');
      expect(start).toMatch(/^start-partition \{.*"isolate":\["n2"\].*"links":\["repl:n1->n2","repl:n2->n1"\]\}$/);
      expect(stop).toMatch(/^stop-partition /);
      const lat = await replab(['nemesis', 'cli-nem', 'latency', '--links', 'repl', '--latency-ms', '5', ...stateDir()]);
      expect(lat.stdout).toMatch(/^start-latency \{"links":\["repl:n2->n1","repl:n1->n2"\],"latency":5,"jitter":0\}\n$/);
      expect((await replab(['nemesis', 'cli-nem', 'heal', ...stateDir()])).stdout).toBe('healed: removed 4 nemesis toxic(s)\n');
      for (const [args, message] of [
        [['nemesis', 'cli-nem', 'explode'], 'error: unknown fault "explode" (partition, latency, bandwidth, kill, power-loss, pause, restart, heal)\n'],
        [
          ['nemesis', 'cli-nem', 'latency', '--links', 'repl:n9->n1'],
          'error: no link named "repl:n9->n1" (links look like repl:n2->n1, monitor:n1, client:n1)\n',
        ],
        [
          ['nemesis', 'cli-nem', 'kill', '--target', 'n7'],
          'error: nemesis target "n7" is not a node or selector (leader, random-follower, random-node, followers, all, n1, n2)\n',
        ],
        [['nemesis', 'cli-nem', 'pause', '--for', 'soon'], 'error: --for: "soon" is not a duration (e.g. 500ms, 5s, 2m, or a number of seconds)\n'],
      ] as const) {
        const bad = await replab([...args, ...stateDir()]);
        expect(bad.stderr).toBe(message);
        expect(bad.code).toBe(2);
      }
    } finally {
      await replab(['cluster', 'down', 'cli-nem', '--clean', ...stateDir()]);
    }
  });

  it('replab proxy: a bad port is one line, exit 2', async () => {
    const r = await replab(['proxy', '--port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --port.*\n$/);
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
    buf.writeUInt8(buf.readUInt8(40) ^ 0xff, 40); // inside the first record's payload; later records are intact
    await fsp.writeFile(seg, buf);
    const r = await replab(['node', '--id', 'n1', '--data-dir', dataDir, ...token]);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      `error: WAL corrupt: checksum mismatch in ${seg} at offset 0; committed records follow it; refusing to start. To recover, move the data dir aside and start the node empty as a follower: it bootstraps from the leader (or restore the dir from a backup).\n`,
    );
  });
});

describe('cli: node refuses damaged data loudly', () => {
  const ADVICE =
    'To recover, move the data dir aside and start the node empty as a follower: it bootstraps from the leader (or restore the dir from a backup).';

  it('an older WAL segment with one byte flipped: exit 4 naming segment and offset (it used to hang and exit 13 silently)', async () => {
    const dataDir = path.join(dir(), 'older-seg');
    const node = await startAndWrite(dataDir, ['--token', 't'], ['--segment-bytes', '1024'], 80);
    await node.stop();
    const segs = (await fsp.readdir(dataDir)).filter((n) => n.endsWith('.seg')).sort();
    expect(segs.length).toBeGreaterThan(2);
    // The second segment: the first one's records are already recovered when the damage is found.
    const first = path.join(dataDir, segs[1]!);
    const buf = await fsp.readFile(first);
    const second = 8 + buf.readUInt32BE(0);
    buf.writeUInt8(buf.readUInt8(second + 10) ^ 0x01, second + 10);
    await fsp.writeFile(first, buf);
    const r = await replab(['node', '--id', 'n1', '--data-dir', dataDir, '--token', 't', '--segment-bytes', '1024'], { timeoutMs: 15_000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`error: WAL corrupt: checksum mismatch in ${first} at offset ${second}; committed records follow it; refusing to start. ${ADVICE}\n`);
  });

  it('a damaged checkpoint: exit 4 naming the file', async () => {
    const dataDir = path.join(dir(), 'bad-snap');
    const node = await startAndWrite(dataDir, ['--token', 't'], ['--checkpoint-bytes', '256'], 40);
    await node.stop();
    // The newest checkpoint is the one a restart reads (a stop during a checkpoint can leave the
    // previous one beside it; damaging that one changes nothing).
    const snap = (await fsp.readdir(dataDir))
      .filter((n) => n.startsWith('snapshot-') && n.endsWith('.snap'))
      .sort()
      .at(-1);
    expect(snap, 'a checkpoint was written').toBeDefined();
    const file = path.join(dataDir, snap!);
    const buf = await fsp.readFile(file);
    buf.writeUInt8(buf.readUInt8(buf.length - 3) ^ 0xff, buf.length - 3);
    await fsp.writeFile(file, buf);
    const r = await replab(['node', '--id', 'n1', '--data-dir', dataDir, '--token', 't'], { timeoutMs: 15_000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`error: snapshot ${file}: checksum mismatch; refusing to start. ${ADVICE}\n`);
  });

  it('damaged meta.json: exit 4 naming the file', async () => {
    const dataDir = path.join(dir(), 'bad-meta');
    const node = await startAndWrite(dataDir, ['--token', 't'], [], 3);
    await node.stop();
    await fsp.writeFile(path.join(dataDir, 'meta.json'), '{"epoch": 1, "epochHis');
    const r = await replab(['node', '--id', 'n1', '--data-dir', dataDir, '--token', 't'], { timeoutMs: 15_000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`error: ${path.join(dataDir, 'meta.json')}: not valid JSON (damaged node metadata); refusing to start. ${ADVICE}\n`);
  });
});

describe('cli: wal dump', () => {
  it('prints every record (text and JSON Lines); a torn tail is the end of the log, not an error', async () => {
    const dataDir = path.join(dir(), 'dump-node');
    const node = await startAndWrite(dataDir, ['--token', 't']);
    await node.stop();
    const text = await replab(['wal', 'dump', dataDir]);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n').filter((l) => l.startsWith('lsn '))).toHaveLength(20);
    expect(text.stdout).toMatch(/^lsn 1 {2}epoch 1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}put "k0" = "v0"$/m);
    const json = await replab(['wal', 'dump', dataDir, '--json']);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'log', epoch: 1, lastLsn: 20, checkpointLsn: 0, tornTail: null });
    expect(lines[20]).toMatchObject({ type: 'record', lsn: 20, epoch: 1, op: 'put', key: 'k19', value: 'v19' });
    // Cut the last record in half: the dump ends one record earlier and reports the torn bytes.
    const seg = path.join(dataDir, (await fsp.readdir(dataDir)).find((n) => n.endsWith('.seg'))!);
    const buf = await fsp.readFile(seg);
    const end = lastRecordEnd(buf);
    buf.fill(0, end - 5, end);
    await fsp.writeFile(seg, buf);
    const torn = await replab(['wal', 'dump', dataDir, '--json']);
    expect(torn.code).toBe(0);
    const head = JSON.parse(torn.stdout.split('\n')[0]!) as { lastLsn: number; tornTail: { file: string; offset: number } };
    expect(head.lastLsn).toBe(19);
    expect(head.tornTail.file).toBe(seg);
  });

  it('a corrupt segment: exit 2, one line naming the segment and the byte offset', async () => {
    const dataDir = path.join(dir(), 'dump-corrupt');
    const node = await startAndWrite(dataDir, ['--token', 't']);
    await node.stop();
    const seg = path.join(dataDir, (await fsp.readdir(dataDir)).find((n) => n.endsWith('.seg'))!);
    const buf = await fsp.readFile(seg);
    const second = 8 + buf.readUInt32BE(0); // the second record's offset
    buf.writeUInt8(buf.readUInt8(second + 12) ^ 0xff, second + 12);
    await fsp.writeFile(seg, buf);
    const r = await replab(['wal', 'dump', dataDir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: WAL corrupt: checksum mismatch in ${seg} at offset ${second}; committed records follow it\n`);
    const missing = await replab(['wal', 'dump', path.join(dataDir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: .*nope: cannot read the data dir \(ENOENT\)\n$/);
  });
});

/** Byte offset where the last non-zero record of a preallocated segment ends. */
function lastRecordEnd(buf: Buffer): number {
  let o = 0;
  let end = 0;
  while (o + 8 <= buf.length && buf.readUInt32BE(o) > 0) {
    end = o + 8 + buf.readUInt32BE(o);
    o = end;
  }
  return end;
}

/** Runs `replab node` as a process, writes 20 keys, returns a stopper that SIGTERMs it. */
async function startAndWrite(dataDir: string, token: string[], extra: string[] = [], writes = 20): Promise<{ stop: () => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [cliEntry(), 'node', '--id', 'n1', '--data-dir', dataDir, ...token, ...extra], { stdio: 'ignore' });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    let endpoint: { http: string } | undefined;
    for (let i = 0; i < 500 && !endpoint; i++) {
      endpoint = await fsp.readFile(path.join(dataDir, 'endpoint.json'), 'utf8').then(
        (t) => JSON.parse(t) as { http: string },
        () => undefined,
      );
      if (!endpoint) await new Promise((r) => setTimeout(r, 20));
    }
    if (!endpoint) throw new Error('node did not start');
    for (let i = 0; i < writes; i++) expect((await put(endpoint.http, `k${i}`, `v${i}`)).status).toBe(200);
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}
