/**
 * Role changes of real KvNode code in one process, on the simulated clock, network and disk: a
 * lease that lapses when the clock is advanced, a follower catching up after a partition heals
 * (by stream, then by snapshot), a deposed leader stepping down and rewinding what the new leader
 * never had, a sync timeout that degrades. No process, socket, file or real sleep: the clock moves
 * only when a test advances it, so each test takes milliseconds of real time whatever the
 * simulated durations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readRewound } from '../../src/kv/state/rewound.js';
import { REPL_PORT, SimWorld } from '../helpers/sim-nodes.js';

let world: SimWorld;
afterEach(async () => {
  await world.close();
});

/** Writes without waiting for their commit; their promises settle as the clock moves. */
function writeMany(node: ReturnType<SimWorld['node']>, n: number, prefix = 'k') {
  return Array.from({ length: n }, (_, i) => node.write({ type: 'put', key: `${prefix}${i}`, value: `v${i}` }));
}

describe('KvNode on a simulated clock, network and disk', () => {
  it('a leader lease lapses when the clock passes it: writes and leader reads are refused, a renewal restores them', async () => {
    world = new SimWorld();
    const n1 = world.node('n1', { role: 'leader' });
    await world.openAll();
    // A restarted or fresh leader holds no lease until the monitor renews it.
    expect(() => n1.requireWritable()).toThrow(/no valid leader lease/);
    await world.run(n1.renewLease(1, 2000, n1.leaseAnchor()));
    await expect(world.run(n1.write({ type: 'put', key: 'a', value: '1' }))).resolves.toMatchObject({ lsn: 1, epoch: 1 });
    expect(n1.shortStatus().leaseValid).toBe(true);

    await world.clock.advance(1999);
    expect(n1.shortStatus().leaseValid).toBe(true);
    await world.clock.advance(2);
    expect(n1.shortStatus().leaseValid).toBe(false);
    expect(() => n1.requireWritable()).toThrow(/no valid leader lease/);
    expect(() => n1.requireLeaderLease()).toThrow(/no valid leader lease/);

    // A renewal echoing an anchor read long ago (it sat in a buffer while the leader was frozen)
    // grants nothing; neither does an anchor of another process or one from the future.
    await world.run(n1.renewLease(1, 2000, { ...n1.leaseAnchor(), atMs: n1.leaseAnchor().atMs - 5000 }));
    expect(n1.shortStatus().leaseValid).toBe(false);
    await world.run(n1.renewLease(1, 2000, { ...n1.leaseAnchor(), boot: 'another process' }));
    expect(n1.shortStatus().leaseValid).toBe(false);
    await world.run(n1.renewLease(1, 2000, { ...n1.leaseAnchor(), atMs: n1.leaseAnchor().atMs + 10 }));
    expect(n1.shortStatus().leaseValid).toBe(false);
    await world.run(n1.renewLease(1, 2000, n1.leaseAnchor()));
    await expect(world.run(n1.write({ type: 'put', key: 'a', value: '2' }))).resolves.toMatchObject({ lsn: 2 });
  });

  it('a write whose commit comes after the lease lapsed is refused as fenced, not acknowledged', async () => {
    world = new SimWorld();
    const n1 = world.node('n1', { role: 'leader', mode: 'semi-sync', k: 1 });
    await world.openAll();
    await world.run(n1.renewLease(1, 1000, n1.leaseAnchor()));
    const w = n1.write({ type: 'put', key: 'a', value: '1' });
    const outcome = w.then(
      () => 'acknowledged',
      (e: Error) => e.message,
    );
    // No follower confirms it; the lease runs out meanwhile.
    await world.clock.advance(1500);
    const n2 = world.follower('n2', 'n1');
    await world.run(n2.open());
    expect(await world.run(outcome)).toMatch(/lease expired before the write could be acknowledged/);
  });

  it('a follower cut off from its leader catches up once the link heals: by stream, then by snapshot past a checkpoint', async () => {
    world = new SimWorld();
    const n1 = world.node('n1', { role: 'leader', fencing: 'none', checkpointBytes: 4096 });
    const n2 = world.follower('n2', 'n1');
    await world.openAll();
    const firsts = writeMany(n1, 50, 'a');
    await world.clock.until(() => n2.visible.lsn === 50, 'n2 applies the first 50 writes');
    await world.run(Promise.all(firsts));
    expect(n2.visible.get('a49')).toBe('v49');
    // Fresh as of the leader's latest heartbeat (every 100 ms).
    await world.clock.advance(250);
    expect(n2.stalenessMs()).toBeLessThanOrEqual(100);

    world.network.partition('n1', 'n2');
    const more = writeMany(n1, 200, 'b');
    await world.run(Promise.all(more)); // async: acknowledged on the leader's flush alone
    await world.clock.advance(3000);
    expect(n2.visible.lsn).toBe(50);
    expect(n2.stalenessMs()).toBeGreaterThanOrEqual(3000);
    // The leader checkpoints and discards the log n2 would need: n2 must bootstrap from a snapshot.
    await world.run(n1.checkpoint());
    expect(n1.status().checkpointLsn).toBe(250);

    world.network.heal('n1', 'n2');
    await world.clock.until(() => n2.visible.lsn === 250, 'n2 catches up to lsn 250');
    expect(n2.visible.get('b199')).toBe('v199');
    expect(n2.status().checkpointLsn).toBe(250);
    await world.clock.until(() => n1.status().followers.some((f) => f.id === 'n2' && f.appliedLsn === 250), 'n1 hears n2 confirm 250');
  });

  it('a deposed leader told to follow the new one steps down and rewinds what the new leader never had into rewound.jsonl', async () => {
    world = new SimWorld();
    const n1 = world.node('n1', { role: 'leader', fencing: 'none' });
    const n2 = world.follower('n2', 'n1');
    await world.openAll();
    const shared = writeMany(n1, 10, 's');
    await world.clock.until(() => n2.visible.lsn === 10, 'n2 applies the shared writes');
    await world.run(Promise.all(shared));

    // n1 is cut off and keeps acknowledging (async, no fencing): those writes exist only there.
    world.network.partition('n1', 'n2');
    const lost = writeMany(n1, 5, 'lost');
    await world.run(Promise.all(lost));
    expect(n1.status().lastLsn).toBe(15);

    await world.run(n2.promote(2, 5000, n2.leaseAnchor()));
    expect(n2.roleName).toBe('leader');
    await expect(world.run(n2.write({ type: 'put', key: 'after', value: 'x' }))).resolves.toMatchObject({ lsn: 11, epoch: 2 });

    world.network.heal('n1', 'n2');
    await world.run(n1.follow(2, { address: `n2:${REPL_PORT}`, id: 'n2' }, 'n2:8000'));
    expect(n1.roleName).toBe('follower');
    expect(n1.epoch).toBe(2);
    await world.clock.until(() => n1.visible.lsn === 11 && n1.visible.get('after') === 'x', 'n1 follows n2 to lsn 11');
    expect(n1.visible.get('lost0')).toBeUndefined();
    expect(n1.visible.get('s9')).toBe('v9');
    const rewound = await world.run(readRewound('/data/n1', world.disks.get('n1')));
    expect(rewound.map((r) => r.key)).toEqual(['lost0', 'lost1', 'lost2', 'lost3', 'lost4']);
    expect(rewound.every((r) => r.epoch === 1)).toBe(true);
    // Its epoch history is the new leader's: epoch 2 starts where n2's first record of it is.
    expect(n1.status().epochHistory).toEqual(n2.status().epochHistory);
    expect(n1.status().epochHistory).toEqual([
      { epoch: 1, startLsn: 1 },
      { epoch: 2, startLsn: 11 },
    ]);
    // A write sent to the deposed leader is refused with a hint to the new one.
    await expect(world.run(n1.write({ type: 'put', key: 'z', value: 'z' }))).rejects.toThrow(/is a follower/);
  });

  it('a semi-sync leader without followers degrades to async after syncTimeoutMs of simulated time, and recovers when a follower keeps up', async () => {
    world = new SimWorld();
    const n1 = world.node('n1', { role: 'leader', fencing: 'none', mode: 'semi-sync', k: 1, onSyncTimeout: 'degrade', syncTimeoutMs: 10_000 });
    await world.openAll();
    let settled = false;
    const w = n1.write({ type: 'put', key: 'a', value: '1' }).then((r) => {
      settled = true;
      return r;
    });
    await world.clock.advance(9_900);
    expect(settled).toBe(false);
    expect(n1.shortStatus().degraded).toBe(false);
    await world.clock.advance(200);
    expect(settled).toBe(true);
    await expect(world.run(w)).resolves.toMatchObject({ lsn: 1 });
    expect(n1.shortStatus().degraded).toBe(true);

    const n2 = world.follower('n2', 'n1');
    await world.run(n2.open());
    await world.clock.until(() => !n1.shortStatus().degraded, 'n1 leaves degraded mode');
    // Back to semi-sync: a write now waits for n2's confirmation, which comes without delay here.
    await expect(world.run(n1.write({ type: 'put', key: 'b', value: '2' }))).resolves.toMatchObject({ lsn: 2 });
  });

  it('a leader whose disk fills refuses writes definitely (nothing acknowledged is lost) and takes them again once room is made', async () => {
    world = new SimWorld();
    const n1 = world.node('n1', { role: 'leader', fencing: 'none', segmentBytes: 16 * 1024 });
    await world.openAll();
    const disk = world.disks.get('n1')!;
    await expect(world.run(n1.write({ type: 'put', key: 'a', value: 'x'.repeat(100) }))).resolves.toMatchObject({ lsn: 1 });
    // Leave room for less than the next segment: the roll fails with ENOSPC and the log stalls.
    disk.capacityBytes = disk.usedBytes() + 1024;
    const outcomes = await world.run(
      Promise.allSettled(Array.from({ length: 200 }, (_, i) => n1.write({ type: 'put', key: `k${i}`, value: 'y'.repeat(200) }))),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    const acknowledged = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(String((r as PromiseRejectedResult).reason)).toMatch(/ENOSPC|cannot write its log/);
    expect(n1.status().diskStalled?.reason).toMatch(/ENOSPC/);
    await expect(world.run(n1.write({ type: 'put', key: 'b', value: '1' }))).rejects.toThrow(/cannot write its log/);
    // Every acknowledged write is in the state reads see.
    expect(n1.visible.lsn).toBe(1 + acknowledged);

    disk.capacityBytes = 1024 * 1024 * 1024;
    await world.clock.until(() => n1.status().diskStalled === null, 'the log resumes once the disk has room');
    await expect(world.run(n1.write({ type: 'put', key: 'b', value: '1' }))).resolves.toMatchObject({ lsn: 2 + acknowledged });
  });

  it('a deposed leader whose newest checkpoint lies past the divergence drops it and bootstraps, instead of serving (or restarting from) rewound writes', async () => {
    world = new SimWorld();
    const n1 = world.node('n1', { role: 'leader', fencing: 'none' });
    const n2 = world.follower('n2', 'n1');
    await world.openAll();
    await world.run(Promise.all(writeMany(n1, 10, 's')));
    await world.clock.until(() => n2.visible.lsn === 10, 'n2 applies the shared writes');

    // A slow link: n1's stream to n2 backs up, so n1's log keeps what n2 still needs while it
    // checkpoints past it (its log then starts before its newest checkpoint).
    world.network.delay('n1', 'n2', 1000);
    const big = 'x'.repeat(10 * 1024);
    for (let i = 0; i < 5; i++) await world.run(n1.write({ type: 'put', key: `lost${i}`, value: big }));
    await world.run(n1.checkpoint());
    expect(n1.status().checkpointLsn).toBeLessThan(15);
    // n2 gets lsn 11 and 12; the rest is cut off in flight.
    await world.clock.until(() => n2.visible.lsn >= 12, 'n2 receives lsn 12', 5000, 1);
    world.network.partition('n1', 'n2');
    world.network.delay('n1', 'n2', 0);
    const kept = n2.visible.lsn;
    expect(kept).toBeLessThan(15);

    await world.run(n2.promote(2, 5000, n2.leaseAnchor()));
    await world.run(n2.write({ type: 'put', key: 'after', value: 'y' }));
    world.network.heal('n1', 'n2');
    await world.run(n1.follow(2, { address: `n2:${REPL_PORT}`, id: 'n2' }, 'n2:8000'));
    await world.clock.until(() => n1.visible.get('after') === 'y', 'n1 follows n2 past the divergence');
    const expected = [...n2.visible.data].sort();
    expect([...n1.visible.data].sort()).toEqual(expected);
    expect(n1.visible.get('s0')).toBe('v0');
    expect(n1.visible.get('lost4')).toBeUndefined();

    // And a restart recovers the same state, not the stale checkpoint's.
    await world.run(n1.close());
    const again = world.node('n1', { role: 'follower', upstream: `n2:${REPL_PORT}`, upstreamId: 'n2' });
    await world.run(again.open());
    await world.clock.until(() => again.visible.get('after') === 'y', 'restarted n1 catches up');
    expect([...again.visible.data].sort()).toEqual(expected);
  });

  it('a follower takes no records while it rewinds, and skips a rewind answered to a HELLO older than its log: a slow disk makes the link reconnect mid-rewind', async () => {
    world = new SimWorld();
    const n1 = world.node('n1', { role: 'leader', fencing: 'none' });
    const n2 = world.follower('n2', 'n1');
    await world.openAll();
    await world.run(Promise.all(writeMany(n1, 10, 's')));
    await world.clock.until(() => n2.visible.lsn === 10, 'n2 applies the shared writes');
    world.network.partition('n1', 'n2');
    await world.run(Promise.all(writeMany(n1, 5, 'lost')));
    await world.run(n2.promote(2, 5000, n2.leaseAnchor()));
    await world.run(n2.write({ type: 'put', key: 'after', value: 'x' }));

    // Every sync on n1 now takes 300 ms: its rewind outlasts the upstream's closing of the session,
    // so the link reconnects with a HELLO that still names the old log end, and gets a second
    // "truncate" answer while the first rewind runs; meanwhile n2 keeps taking writes.
    world.disks.get('n1')!.syncMs = 300;
    world.network.heal('n1', 'n2');
    await world.run(n1.follow(2, { address: `n2:${REPL_PORT}`, id: 'n2' }, 'n2:8000'));
    const more = writeMany(n2, 20, 'more');
    await world.clock.until(() => n1.visible.get('more19') === 'v19', 'n1 catches up with n2', 120_000);
    await world.run(Promise.all(more));
    await world.clock.advance(5000);

    const rewound = await world.run(readRewound('/data/n1', world.disks.get('n1')));
    expect(rewound.map((r) => r.key).sort()).toEqual(['lost0', 'lost1', 'lost2', 'lost3', 'lost4']);
    expect([...n1.visible.data].sort()).toEqual([...n2.visible.data].sort());
    expect(n1.status().epochHistory).toEqual(n2.status().epochHistory);
  });
});
