/**
 * A made-up run folder for the report's tests: an async run under a partition of n1 from 3 s to
 * 6 s that lost two acknowledged writes (rewound by n1) and has one read no order explains, and a
 * sync run that lost nothing. Its files are what `replab run` writes: results.json, history.jsonl,
 * check.json (checked against the reader's schema at compile time), lag.jsonl, events.jsonl and
 * run.json, with the wall clock of run.json taken seconds before the history's zero, as on a
 * machine where the cluster takes 5 s to start.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import type { CheckFileSchema } from '../../src/checker/check-file.js';
import type { Op } from '../../src/history/op.js';
import type { RunResult } from '../../src/suite/results.js';
import { fakeResults, fakeRun } from '../helpers/results.js';

const S = 1e9;
/** The suite's start; each run's clock starts a second after the previous one's end. */
export const SUITE_START_MS = Date.parse('2026-11-29T10:00:00.000Z');
/** How long the system takes to start before the history's zero. */
export const STARTUP_MS = 5000;
/** The load: 4 clients, one op every 60 ms each (about 67 ops/s), from 0.07 s to about 10.07 s. */
export const LOAD = { from: 0.07, to: 10.07, opsPerSec: 4 / 0.06 };
export const PARTITION = { from: 3, to: 6 };

interface Built {
  history: Op[];
  lost: Array<{ invokeIndex: number; completeIndex: number; process: number; key: string; value: string }>;
  focusRead: { invokeIndex: number; completeIndex: number; process: number; key: string; value: string };
}

/**
 * Ops of 2 to 51 ms (so p50 ≈ 26 and p99 ≈ 50), writes and reads in turn on keys k0..k3; the
 * partition recorded by the nemesis; two writes acknowledged by n1 at 3.2 s chosen as lost, and a
 * read at 4 s as the one that cannot be placed.
 */
function buildHistory(): Built {
  const events: Array<Omit<Op, 'index'> & { time: number }> = [];
  let n = 0;
  for (let p = 0; p < 4; p++)
    for (let t = LOAD.from + p * 0.01; t + 0.06 < LOAD.to; t += 0.06) {
      const f = n % 2 === 0 ? 'write' : 'read';
      const key = `k${n % 4}`;
      const value = `${p}-${n}`;
      const ms = 2 + (n % 50);
      const node = t >= PARTITION.from && t < PARTITION.from + 0.5 ? 'n1' : 'n2';
      events.push({ time: Math.round(t * S), process: p, type: 'invoke', f, key, value: f === 'write' ? value : null });
      events.push({ time: Math.round((t + ms / 1000) * S), process: p, type: 'ok', f, key, value: f === 'write' ? value : '0-0', node });
      n++;
    }
  events.push({ time: PARTITION.from * S, process: 'nemesis', type: 'info', f: 'start-partition', value: { shape: 'isolate', isolate: ['n1'] } });
  events.push({ time: PARTITION.to * S, process: 'nemesis', type: 'info', f: 'stop-partition', value: { shape: 'isolate' } });
  const history = events.sort((a, b) => a.time - b.time).map((e, index) => ({ ...e, index }) as Op);
  const pair = (pred: (inv: Op) => boolean) => {
    const inv = history.find((o) => o.type === 'invoke' && pred(o))!;
    const done = history.find((o) => o.index > inv.index && o.process === inv.process && o.type !== 'invoke')!;
    return { invokeIndex: inv.index, completeIndex: done.index, process: inv.process as number, key: inv.key!, value: String(inv.value ?? done.value) };
  };
  const lostAt = (t: number) => pair((o) => o.f === 'write' && o.time >= t * S);
  const lost = [lostAt(3.2), lostAt(3.3)];
  const focusRead = pair((o) => o.f === 'read' && o.time >= 4 * S);
  return { history, lost, focusRead };
}

type CheckInput = z.input<typeof CheckFileSchema>;

function checkFile(b: Built, lossy: boolean): CheckInput {
  const summary = (x: Built['focusRead'], f: string) => ({ ...x, f, type: 'ok', value: x.value });
  const acked = b.history.filter((o) => o.type === 'ok' && o.f === 'write').length;
  return {
    valid: !lossy,
    model: 'register',
    ops: b.history.length,
    evidence: {
      finalLeader: 'n2',
      nodesWithLogs: ['n1', 'n2', 'n3'],
      nodesWithoutEvidence: [],
      acked,
      lostAcked: lossy ? b.lost.length : 0,
      lost: lossy
        ? b.lost.map((l, i) => ({
            ...l,
            f: 'write',
            node: 'n1',
            epoch: 1,
            lsn: 100 + i,
            where: `rewound by n1 at epoch 1, lsn ${100 + i}; it never left n1 (not in any other node's log)`,
          }))
        : [],
      infoResolved: 0,
      infoOpen: 0,
      message: `${acked} acknowledged write(s): ${acked - (lossy ? 2 : 0)} in n2's log, ${lossy ? 2 : 0} lost, 0 unknown`,
    },
    linearizable: {
      valid: !lossy,
      model: 'register',
      keys: 4,
      opsChecked: b.history.length / 2,
      failures: lossy
        ? [
            {
              key: b.focusRead.key,
              op: summary(b.focusRead, 'read'),
              prefixTail: b.lost.map((l) => summary(l, 'write')),
              concurrent: [],
              message: `key "${b.focusRead.key}": after linearizing 40 of 250 completed ops the state is "x"; process ${b.focusRead.process}'s read "0-0" (history index ${b.focusRead.invokeIndex}–${b.focusRead.completeIndex}) cannot be placed, whatever order its 0 concurrent op(s) take effect in`,
            },
          ]
        : [],
      unknown: [],
    },
  };
}

export interface Fixture {
  dir: string;
  history: Op[];
}

/** Writes the folder under the system's temp dir; the caller removes it. */
export async function runFolder(): Promise<Fixture> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-report-'));
  const b = buildHistory();
  const writes = b.history.filter((o) => o.type === 'ok' && o.f === 'write').length;
  const runs: RunResult[] = [
    fakeRun('async', 1, {
      durationSec: 10,
      acked: writes,
      lostAcked: 2,
      linearizable: false,
      p50WriteMs: 26,
      p99WriteMs: 50,
      outageMs: 1300,
      gate: ['splitBrainWrites == 0'],
    }),
    fakeRun('sync', 1, { durationSec: 10, acked: writes, p50WriteMs: 26, p99WriteMs: 50, gate: ['splitBrainWrites == 0', 'lostAcked == 0', 'linearizable'] }),
  ];
  const results = fakeResults(runs, undefined, {
    durationSec: 10,
    startedAt: new Date(SUITE_START_MS).toISOString(),
    finishedAt: new Date(SUITE_START_MS + 2 * 31_000).toISOString(),
  });
  results.modes = results.modes.map((m) => ({ ...m, gate: runs.find((r) => r.mode === m.name)!.gate }));
  await fsp.writeFile(path.join(dir, 'results.json'), JSON.stringify(results));
  for (const [i, r] of runs.entries()) {
    const d = path.join(dir, r.dir);
    await fsp.mkdir(d);
    const startedAtMs = SUITE_START_MS + i * 31_000;
    const zero = startedAtMs + STARTUP_MS;
    await fsp.writeFile(path.join(d, 'history.jsonl'), b.history.map((op) => `${JSON.stringify(op)}\n`).join(''));
    await fsp.writeFile(path.join(d, 'check.json'), JSON.stringify(checkFile(b, r.mode === 'async')));
    await fsp.writeFile(path.join(d, 'run.json'), JSON.stringify({ mode: r.mode, seed: 1, startedAtMs, durationSec: 10 }));
    // The monitor starts with the system, the history right after; the failover 0.3 s into the partition.
    const PROMOTED = { timeMs: zero + 3300, event: 'promoted', node: 'n2', epoch: 2, detectionMs: 200, promotionMs: 100 };
    const events = [
      { timeMs: zero, event: 'monitor-started', leader: 'n1', epoch: 1 },
      { timeMs: zero + 3200, event: 'leader-declared-dead', leader: 'n1' },
      // The async run's monitor records what the old leader answered (as replab's monitor does);
      // the sync run's event has the older shape, without those fields.
      r.mode === 'async' ? { ...PROMOTED, from: 'n1', unreachableMs: 200, oldLeader: { answered: false, error: 'timeout' } } : PROMOTED,
    ];
    await fsp.writeFile(path.join(d, 'events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    // Lag sampled four times a second until 10.5 s, past the load's end (as while the cluster converges).
    const lag: object[] = [];
    for (let t = 0.1; t <= 10.5; t += 0.25) lag.push({ time: Math.round(t * S), leader: t < 3.3 ? 'n1' : 'n2', follower: 'n3', lagRecords: 1, lagMs: 2 });
    await fsp.writeFile(path.join(d, 'lag.jsonl'), lag.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }
  return { dir, history: b.history };
}
