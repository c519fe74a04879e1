/**
 * A follower fed garbage by its "upstream" (here a fake one on loopback) drops the connection with
 * a log line, keeps its data unchanged, keeps serving reads, and reconnects — it never applies a
 * record it could not verify.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, encodeJsonFrame, FrameDecoder, FrameType } from '../../src/kv/replication/frames.js';
import { encodeRecord } from '../../src/kv/wal/record.js';
import { cliEntry } from '../../src/lib/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { request, status } from '../helpers/cluster.js';

let dir: string;
let fake: net.Server;
let follower: ChildProcess | undefined;
let http = '';
let attack: (socket: net.Socket) => void = () => {};
let connections = 0;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-badup-'));
  fake = net.createServer((socket) => {
    connections++;
    const decoder = new FrameDecoder();
    socket.on('data', (chunk) => {
      for (const f of decoder.push(chunk)) if (f.type === FrameType.hello) attack(socket);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  const port = (fake.address() as net.AddressInfo).port;
  follower = spawn(
    process.execPath,
    [
      cliEntry(),
      'node',
      '--id',
      'n2',
      '--role',
      'follower',
      '--upstream',
      `127.0.0.1:${port}`,
      '--upstream-id',
      'n1',
      '--data-dir',
      path.join(dir, 'n2'),
      '--token',
      't',
      '--heartbeat-ms',
      '50',
    ],
    { stdio: 'ignore' },
  );
  await waitFor(async () => {
    http = await fsp.readFile(path.join(dir, 'n2', 'endpoint.json'), 'utf8').then(
      (t) => (JSON.parse(t) as { http: string }).http,
      () => '',
    );
    return http !== '';
  }, 15_000);
});

afterAll(async () => {
  follower?.kill('SIGKILL');
  await new Promise<void>((r) => fake.close(() => r()));
  await fsp.rm(dir, { recursive: true, force: true });
});

const welcome = (epoch = 1) =>
  encodeJsonFrame(FrameType.welcome, epoch, { mode: 'stream', startLsn: 1, leaderHttp: null, upstreamId: 'fake', epochHistory: [], ackLevel: 'flush' });
const record = (lsn: number, value: string) => encodeRecord({ lsn, epoch: 1, timeMs: Date.now(), op: { type: 'put', key: 'k', value } });

async function expectDroppedAndUnchanged(): Promise<void> {
  const before = connections;
  expect(await waitFor(() => connections > before, 10_000)).toBe(true); // it reconnected
  const st = await status(http);
  expect(st.appliedLsn).toBe(0);
  expect((await request(http, 'GET', '/kv/k')).status).toBe(404);
}

describe('follower: bad input from upstream', () => {
  it('a record whose checksum fails inside a valid frame', async () => {
    attack = (s) => {
      const bad = record(1, 'evil');
      bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 1, bad.length - 1);
      s.write(Buffer.concat([welcome(), encodeFrame(FrameType.records, 1, bad)]));
    };
    await expectDroppedAndUnchanged();
  });

  it('a gap in LSNs', async () => {
    attack = (s) => s.write(Buffer.concat([welcome(), encodeFrame(FrameType.records, 1, record(5, 'gap'))]));
    await expectDroppedAndUnchanged();
  });

  it('bytes that are not frames', async () => {
    attack = (s) => s.write(Buffer.from('\u0000\u0000\u0000\u0010garbage-garbage-garbage'));
    await expectDroppedAndUnchanged();
  });

  it('a frame from an older epoch after a newer one', async () => {
    attack = (s) => s.write(Buffer.concat([welcome(3), encodeFrame(FrameType.records, 2, record(1, 'stale'))]));
    await expectDroppedAndUnchanged();
    expect((await status(http)).epoch).toBe(3); // the newer epoch was adopted and kept
  });
});
