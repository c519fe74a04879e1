/**
 * The run's event sink (src/systems/events.ts) and the built-in systems' readers of their failover
 * managers' logs: Patroni's, here (Sentinel's are in redis-mapping.test.ts).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunEvents } from '../../src/systems/events.js';
import { patroniEvents } from '../../src/systems/postgres/events.js';

const dir = path.join(os.tmpdir(), `replab-events-${process.pid}`);
afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

describe('RunEvents', () => {
  it('keeps each valid event as one JSON line, its time given or now, other fields as they are', async () => {
    await fsp.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'ok.jsonl');
    const sink = new RunEvents(file, 'system module ./m.mjs');
    const before = Date.now();
    sink.emit({ event: 'promoted', node: 'n2', epoch: 4, unreachableMs: 1200, timeMs: 1_700_000_000_000 });
    sink.emit({ event: 'errant-transactions', node: 'n1', gtids: ['0-1-5'] });
    const lines = (await fsp.readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ timeMs: 1_700_000_000_000, event: 'promoted', node: 'n2', epoch: 4, unreachableMs: 1200 });
    expect(lines[1]).toMatchObject({ event: 'errant-transactions', node: 'n1', gtids: ['0-1-5'] });
    expect(lines[1]!.timeMs).toBeGreaterThanOrEqual(before);
    expect(sink.emitted).toBe(2);
    expect(sink.problems()).toEqual([]);
  });

  it.each([
    [{ event: 'promoted' }, /events\.emit\(\): node: a "promoted" event names the new leader in `node`/],
    [{ event: 'Promoted!', node: 'n1' }, /events\.emit\(\): event: an event name is lowercase words joined by "-"/],
    [{ event: 'promoted', node: 'n1', epoch: -1 }, /events\.emit\(\): epoch: /],
    [{ event: 'repointed', node: 7 }, /events\.emit\(\): node: /],
    [{ event: 'promoted', node: 'n1', timeMs: 'yesterday' }, /events\.emit\(\): timeMs: /],
  ])('refuses %j naming the field, keeps nothing, and remembers it', async (event, message) => {
    const file = path.join(dir, 'bad.jsonl');
    await fsp.rm(file, { force: true });
    const sink = new RunEvents(file, 'system module ./m.mjs');
    expect(() => sink.emit(event as never)).toThrow(message);
    expect(sink.problems()[0]).toMatch(/^system module \.\/m\.mjs: events\.emit\(\): /);
    expect(await fsp.readFile(file, 'utf8').catch(() => 'none')).toBe('none');
  });
});

describe("Patroni's log as events", () => {
  it('reads promotions and demotions with their node and local time, oldest first; other lines are not events', () => {
    const events = patroniEvents(
      {
        n1: [
          '2026-12-04 14:20:51,079 INFO: no action. I am (n1), the leader with the lock',
          '2026-12-04 14:21:40,500 INFO: demoting self because DCS is not accessible and I was a leader',
        ].join('\n'),
        n2: [
          '2026-12-04 14:21:47,691 INFO: promoted self to leader by acquiring session lock',
          '2026-12-04 14:21:48,000 INFO: cleared rewind state after becoming the leader',
          'not a log line',
        ].join('\n'),
      },
      'n1',
    );
    expect(events).toEqual([
      {
        event: 'fenced',
        node: 'n1',
        timeMs: new Date(2026, 11, 4, 14, 21, 40, 500).getTime(),
        how: 'Patroni demoted it: DCS is not accessible and I was a leader',
      },
      { event: 'promoted', node: 'n2', from: 'n1', timeMs: new Date(2026, 11, 4, 14, 21, 47, 691).getTime(), by: 'patroni' },
    ]);
  });
});
