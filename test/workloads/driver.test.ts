/**
 * The driver does not wait forever on a client: an operation that never settles (a user's system
 * module that hangs) is recorded `info` once its timeout and a grace period have passed, and the
 * workload ends on time.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from '../../src/history/recorder.js';
import type { DataClient } from '../../src/workloads/data-client.js';
import { createWorkload, drive } from '../../src/workloads/driver.js';
import { parseWorkloadSpec } from '../../src/workloads/spec.js';

const never = () => new Promise<never>(() => {});

describe('drive', () => {
  it('records an operation the client never answers as info and ends on time', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-driver-'));
    try {
      const spec = parseWorkloadSpec({ workload: 'register', concurrency: 2, durationSec: 0.3, timeoutMs: 50 }, 'w.yaml');
      const client = {
        read: never,
        write: never,
        cas: never,
        add: never,
        scan: never,
        nodeIds: () => ['n1'],
        noteLeaderHint: () => {},
        refresh: async () => {},
        close: () => {},
      } satisfies DataClient;
      const recorder = new HistoryRecorder(path.join(dir, 'history.jsonl'));
      const t0 = Date.now();
      const stats = await drive({ spec, workload: createWorkload(spec), client, recorder, settleGraceMs: 100 });
      await recorder.close();
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(stats.info).toBeGreaterThanOrEqual(2);
      expect(stats.ok + stats.fail).toBe(0);
      const lines = (await fsp.readFile(path.join(dir, 'history.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; error?: string });
      expect(lines.filter((l) => l.type === 'info').every((l) => /did not answer within 150 ms/.test(l.error ?? ''))).toBe(true);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
