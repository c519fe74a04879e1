/**
 * A full disk, for real: a node's data dir on a 4 MiB tmpfs (root only: the test mounts it; it
 * skips with a warning otherwise). The node writes until the disk is full, then must answer 507
 * (never 200 for a write it could not make), stay up serving reads, say why in /status, take
 * writes again once space returns, and after restarts — one on the still-full disk — hold every
 * acknowledged write. No temp file may be left behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEntry } from '../../src/lib/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { get, put, request, stateRoot, status } from '../helpers/cluster.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('disk-full test skipped: mounting a tmpfs needs root');

let mnt: string;
let mounted = false;

beforeAll(async () => {
  if (!isRoot) return;
  mnt = path.join(stateRoot(), `diskfull-${process.pid}`);
  await fsp.mkdir(mnt, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
  mounted = true;
});
afterAll(async () => {
  if (mounted) execFileSync('umount', ['-l', mnt]);
});

interface Node {
  child: ChildProcess;
  http: string;
  exit: Promise<number | null>;
}

async function startNode(dataDir: string): Promise<Node> {
  await fsp.rm(path.join(dataDir, 'endpoint.json'), { force: true });
  const child = spawn(process.execPath, [cliEntry(), 'node', '--id', 'n1', '--data-dir', dataDir, '--token', 't', '--segment-bytes', String(1024 * 1024)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let http: string | undefined;
  const up = await waitFor(
    async () => {
      if (child.exitCode !== null) return true;
      http = await fsp.readFile(path.join(dataDir, 'endpoint.json'), 'utf8').then(
        (t) => (JSON.parse(t) as { http: string }).http,
        () => undefined,
      );
      return http !== undefined;
    },
    15_000,
    20,
  );
  if (!up || !http) {
    child.kill('SIGKILL');
    throw new Error(`node did not start (exit ${child.exitCode}): ${stderr}`);
  }
  return { child, http, exit };
}

async function stop(n: Node, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (n.child.exitCode === null) n.child.kill(signal);
  await n.exit;
}

async function freeBytes(dir: string): Promise<number> {
  const st = await fsp.statfs(dir);
  return st.bavail * st.bsize;
}

describe.skipIf(!isRoot)('disk full', () => {
  it('507 instead of a lost acknowledgement, reads go on, writes resume with space, every acknowledged write survives restarts', async () => {
    const dataDir = path.join(mnt, 'n1');
    let node = await startNode(dataDir);
    const acked = new Map<string, string>();
    try {
      // The node has its first segment and a spare (1 MiB each); leave it ~512 KiB more.
      await waitFor(async () => (await fsp.readdir(dataDir)).some((f) => f.endsWith('.spare')), 10_000, 20);
      const filler = path.join(mnt, 'filler');
      await fsp.writeFile(filler, Buffer.alloc(Math.max(0, (await freeBytes(mnt)) - 512 * 1024)));
      const value = (i: number) => `${i}-`.padEnd(20 * 1024, 'x');
      let refused: Awaited<ReturnType<typeof put>> | undefined;
      for (let i = 0; i < 400 && !refused; i++) {
        const r = await put(node.http, `k${i}`, value(i));
        if (r.status === 200) acked.set(`k${i}`, value(i));
        else refused = r;
      }
      expect(acked.size).toBeGreaterThanOrEqual(30);
      expect(refused?.status, 'the disk filled up within 400 writes of 20 KiB').toBe(507);
      expect(refused!.body.code).toBe('insufficient_storage');
      // Still up: serves reads, says why, keeps refusing writes while the disk is full.
      expect(node.child.exitCode).toBeNull();
      const st = await status(node.http);
      expect((st.diskStalled as { reason: string }).reason).toMatch(/ENOSPC|short write/);
      const first = await get(node.http, 'k0');
      expect(first.body.value).toBe(value(0));
      expect((await put(node.http, 'more', 'x')).status).toBe(507);

      // A crash and a restart on the still-full disk: it comes up and serves what was acknowledged.
      await stop(node, 'SIGKILL');
      node = await startNode(dataDir);
      for (const k of ['k0', `k${acked.size - 1}`]) expect((await get(node.http, k)).body.value).toBe(acked.get(k));

      // Space returns: writes resume by themselves.
      await fsp.rm(filler);
      expect(await waitFor(async () => (await put(node.http, 'after', 'space')).status === 200, 10_000, 100)).toBe(true);
      acked.set('after', 'space');
      for (let i = 0; i < 20; i++) {
        const r = await put(node.http, `later${i}`, 'v');
        expect(r.status).toBe(200);
        acked.set(`later${i}`, 'v');
      }
      await stop(node);
      node = await startNode(dataDir);
      const items = (await request(node.http, 'GET', '/kv?prefix=')).body.items as Array<{ key: string; value: string }>;
      const held = new Map(items.map((x) => [x.key, x.value]));
      const missing = [...acked].filter(([k, v]) => held.get(k) !== v).map(([k]) => k);
      expect(missing, `${acked.size} acknowledged`).toEqual([]);
      expect((await fsp.readdir(dataDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await stop(node);
    }
  }, 120_000);
});
