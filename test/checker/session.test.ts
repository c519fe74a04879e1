/**
 * The session-guarantee checker: one small history per guarantee it must catch, legal histories it
 * must pass, the decisions on info writes and unknown values, staleness figures, and a property:
 * histories from a sequential store pass with nothing behind, and one read moved back behind the
 * session's own write is caught. Seeds are printed on failure; SEED=<n> replays one.
 */
import { describe, expect, it } from 'vitest';
import { checkSessions, type SessionCheckResult } from '../../src/checker/session.js';
import { type Op, type OpType, PairedHistory } from '../../src/history/op.js';
import { Rng } from '../../src/lib/rng.js';

const MS = 1e6;

/** Builds a history one event at a time, 1 ms apart unless told otherwise. */
class History {
  readonly ops: Op[] = [];
  private t = 0;

  event(process: number, type: OpType, f: string, key: string, value: unknown, extra: Record<string, unknown> = {}): Op {
    this.t += MS;
    const op: Op = { index: this.ops.length, time: this.t, process, type, f, key, value, ...extra };
    this.ops.push(op);
    return op;
  }

  /** A write and its completion; `lsn` is the acknowledged position (ok only). */
  write(process: number, key: string, value: string, done: { type?: OpType; lsn?: number; logLsn?: number; node?: string; policy?: string } = {}): this {
    const type = done.type ?? 'ok';
    this.event(process, 'invoke', 'write', key, value, {
      policy: done.policy ?? 'session',
      ...(done.logLsn !== undefined ? { logLsn: done.logLsn } : {}),
    });
    this.event(process, type, 'write', key, value, {
      node: done.node ?? 'n1',
      ...(type === 'ok' && done.lsn !== undefined ? { lsn: done.lsn } : {}),
    });
    return this;
  }

  /** A read and its completion: `value` is what it returned (ok), `lsn` what the node had applied. */
  read(
    process: number,
    key: string,
    value: string | null,
    done: { type?: OpType; node?: string; lsn?: number; policy?: string; token?: number | null; error?: string } = {},
  ): this {
    const type = done.type ?? 'ok';
    this.event(process, 'invoke', 'read', key, null, { policy: done.policy ?? 'session', token: done.token ?? null });
    this.event(process, type, 'read', key, type === 'ok' ? value : null, {
      node: done.node ?? 'n2',
      lsn: done.lsn ?? 0,
      ...(done.error ? { error: done.error } : {}),
    });
    return this;
  }
}

function totalViolations(r: SessionCheckResult): number {
  return Object.values(r.violations).reduce((a, b) => a + b, 0);
}

describe('checker: session guarantees: violations', () => {
  it('read-your-writes: a read after the session wrote the key returns the initial state', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 10 }).read(1, 'a', null, { node: 'n3', lsn: 7, token: 10 });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.violations).toEqual({ 'read-your-writes': 1, 'monotonic-reads': 0, 'monotonic-writes': 0, 'writes-follow-reads': 0 });
    expect(r.violationList).toEqual([
      {
        kind: 'read-your-writes',
        session: 1,
        f: 'read',
        key: 'a',
        index: 2,
        time: 3 * MS,
        node: 'n3',
        policy: 'session',
        token: 10,
        servedLsn: 7,
        expected: { key: 'a', value: '1-1', lsn: 10, index: 0 },
        requiredBy: 0,
        got: { key: 'a', value: null, lsn: null, index: null },
      },
    ]);
  });

  it('read-your-writes: one violation per read, against the newest own write', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 5 }).write(2, 'a', '2-1', { lsn: 6 }).write(1, 'a', '1-2', { lsn: 7 }).read(1, 'a', '2-1');
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.violations['read-your-writes']).toBe(1);
    expect(r.violationList[0]!.expected).toMatchObject({ value: '1-2', lsn: 7 });
    expect(r.violationList[0]!.got).toMatchObject({ value: '2-1', lsn: 6 });
    expect(totalViolations(r)).toBe(1);
  });

  it('monotonic reads: a later read of the key returns an older version than an earlier one', () => {
    const h = new History()
      .write(2, 'a', '2-1', { lsn: 10 })
      .write(2, 'a', '2-2', { lsn: 11 })
      .read(1, 'a', '2-2', { node: 'n1', lsn: 11 })
      .read(1, 'a', '2-1', { node: 'n3', lsn: 10 });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.violations).toEqual({ 'read-your-writes': 0, 'monotonic-reads': 1, 'monotonic-writes': 0, 'writes-follow-reads': 0 });
    expect(r.violationList[0]).toMatchObject({ kind: 'monotonic-reads', session: 1, index: 6, node: 'n3', requiredBy: 4, expected: { value: '2-2' } });
  });

  it('monotonic writes: a session write positioned before its earlier acknowledged write', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 20 }).write(1, 'b', '1-2', { lsn: 15 });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.violations).toEqual({ 'read-your-writes': 0, 'monotonic-reads': 0, 'monotonic-writes': 1, 'writes-follow-reads': 0 });
    expect(r.violationList[0]).toMatchObject({
      kind: 'monotonic-writes',
      f: 'write',
      key: 'b',
      index: 2,
      token: null,
      servedLsn: null,
      expected: { key: 'a', value: '1-1', lsn: 20 },
      got: { key: 'b', value: '1-2', lsn: 15 },
    });
  });

  it('writes-follow-reads: a write positioned before a version the session read (another key, another writer)', () => {
    const h = new History().write(2, 'a', '2-1', { lsn: 20 }).read(1, 'a', '2-1', { lsn: 20 }).write(1, 'b', '1-1', { lsn: 15 });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.violations).toEqual({ 'read-your-writes': 0, 'monotonic-reads': 0, 'monotonic-writes': 0, 'writes-follow-reads': 1 });
    expect(r.violationList[0]).toMatchObject({ kind: 'writes-follow-reads', session: 1, key: 'b', requiredBy: 2, expected: { key: 'a', value: '2-1' } });
  });

  it('one read older than both the own write and the previous read breaks both guarantees', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 5 }).read(1, 'a', '1-1').read(1, 'a', null);
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.violations['read-your-writes']).toBe(1);
    expect(r.violations['monotonic-reads']).toBe(1);
    expect(r.violationList.map((v) => v.index)).toEqual([4, 4]);
  });

  it('two writes at one LSN (reused after a rewind) are not ordered: the own write is not seen', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 9 }).write(2, 'a', '2-1', { lsn: 9 }).read(1, 'a', '2-1');
    expect(checkSessions(PairedHistory.of(h.ops)).violations['read-your-writes']).toBe(1);
  });

  it('logLsn, when present, orders writes instead of the acknowledged LSN', () => {
    const build = (logLsn: number | undefined) =>
      new History()
        .write(1, 'a', '1-1', { lsn: 50, ...(logLsn !== undefined ? { logLsn } : {}) })
        .write(2, 'a', '2-1', { lsn: 9 })
        .read(1, 'a', '2-1').ops;
    // By its acknowledgement (50) the own write is newer than what was read (9): a violation.
    expect(checkSessions(PairedHistory.of(build(undefined))).violations['read-your-writes']).toBe(1);
    // The final leader's log puts it at 8, before 9: the read saw a later version.
    const r = checkSessions(PairedHistory.of(build(8)));
    expect(r.violations['read-your-writes']).toBe(0);
    expect(r.staleness.versionsBehind.max).toBe(0);
  });

  it('lists at most maxViolations (50 by default) but counts all', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 5 });
    for (let i = 0; i < 60; i++) h.read(1, 'a', null);
    expect(checkSessions(PairedHistory.of(h.ops)).violations['read-your-writes']).toBe(60);
    expect(checkSessions(PairedHistory.of(h.ops)).violationList).toHaveLength(50);
    expect(checkSessions(PairedHistory.of(h.ops), { maxViolations: 5 }).violationList).toHaveLength(5);
  });

  it('counts violations per policy, writes included', () => {
    const h = new History()
      .write(1, 'a', '1-1', { lsn: 20 })
      .read(1, 'a', null, { policy: 'round-robin' })
      .write(1, 'b', '1-2', { lsn: 15, policy: 'leader-only' });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.perPolicy['round-robin']!.violations).toBe(1);
    expect(r.perPolicy['leader-only']!.violations).toBe(1);
    // The session-policy write broke nothing and no read used that policy: no entry for it.
    expect(Object.keys(r.perPolicy).sort()).toEqual(['leader-only', 'round-robin']);
  });
});

describe('checker: session guarantees: legal histories', () => {
  it('the empty history', () => {
    const r = checkSessions(PairedHistory.of([]));
    expect(r).toMatchObject({ sessions: 0, okReads: 0, readsJudged: 0, writes: 0, violationList: [], perNode: {}, perPolicy: {} });
    expect(totalViolations(r)).toBe(0);
    expect(r.staleness.versionsBehind.max).toBe(0);
  });

  it('a session reading others older writes is not a violation (but is behind)', () => {
    const h = new History()
      .write(2, 'a', '2-1', { lsn: 10 }) // ok at 2 ms
      .write(2, 'a', '2-2', { lsn: 11 }) // ok at 4 ms
      .write(2, 'a', '2-3', { lsn: 12 }) // ok at 6 ms
      .read(1, 'a', '2-1', { node: 'n3' }); // invoked at 7 ms
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(totalViolations(r)).toBe(0);
    expect(r.readsJudged).toBe(1);
    // Two acknowledged writes are after 2-1; the first of them was acknowledged at 4 ms.
    expect(r.staleness).toMatchObject({ judged: 1, behind: 1, versionsBehind: { max: 2 }, msBehind: { max: 3 } });
  });

  it('reads of the initial state before any write', () => {
    const h = new History().read(1, 'a', null).read(2, 'a', null).read(1, 'a', null).write(3, 'a', '3-1', { lsn: 1 });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(totalViolations(r)).toBe(0);
    expect(r.readsJudged).toBe(3);
    expect(r.staleness.behind).toBe(0);
  });

  it('a session reading from different nodes still sees its writes', () => {
    const h = new History()
      .write(1, 'a', '1-1', { lsn: 5, node: 'n1' })
      .read(1, 'a', '1-1', { node: 'n2', lsn: 5, token: 5 })
      .read(1, 'a', '1-1', { node: 'n3', lsn: 6, token: 5 })
      .write(1, 'a', '1-2', { lsn: 7 })
      .read(1, 'a', '1-2', { node: 'n2', lsn: 7, token: 7 })
      .write(1, 'b', '1-3', { lsn: 8 })
      .read(1, 'b', '1-3', { node: 'n1', lsn: 8, token: 8 });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(totalViolations(r)).toBe(0);
    expect(r).toMatchObject({ sessions: 1, okReads: 4, readsJudged: 4, writes: 3, writesJudged: 3 });
    expect(Object.keys(r.perNode).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('a write acknowledged only after the read was invoked does not make the read behind', () => {
    const h = new History();
    h.event(2, 'invoke', 'write', 'a', '2-1');
    h.event(1, 'invoke', 'read', 'a', null);
    h.event(2, 'ok', 'write', 'a', '2-1', { lsn: 3 });
    h.event(1, 'ok', 'read', 'a', null, { lsn: 2, node: 'n2' });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(totalViolations(r)).toBe(0);
    expect(r.staleness.behind).toBe(0);
  });

  it('refused, indeterminate and pending reads and failed writes are not judged', () => {
    const h = new History()
      .write(1, 'a', '1-1', { lsn: 5 })
      .read(1, 'a', null, { type: 'fail', error: 'too_stale' })
      .read(1, 'a', null, { type: 'fail', error: 'not_caught_up' })
      .read(1, 'a', null, { type: 'info' })
      .write(1, 'a', '1-2', { type: 'fail' })
      .read(1, 'a', '1-1');
    h.event(1, 'invoke', 'read', 'a', null); // still pending when the history ends
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(totalViolations(r)).toBe(0);
    expect(r).toMatchObject({ okReads: 1, readsJudged: 1, writes: 2, writesJudged: 1, writesUnpositioned: 0 });
  });

  it('nemesis and harness events are ignored', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 5 });
    h.ops.push({ index: 2, time: 3 * MS, process: 'nemesis', type: 'info', f: 'kill', value: 'n1' });
    h.ops.push({ index: 3, time: 4 * MS, process: 'final', type: 'invoke', f: 'read', key: 'a', value: null });
    h.ops.push({ index: 4, time: 5 * MS, process: 'final', type: 'ok', f: 'read', key: 'a', value: null });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r).toMatchObject({ sessions: 1, okReads: 0 });
    expect(totalViolations(r)).toBe(0);
  });
});

describe('checker: session guarantees: info writes and unknown values', () => {
  it('an info write without a position is never guessed: reads of it are counted, not judged', () => {
    const h = new History()
      .write(1, 'a', '1-1', { lsn: 5 })
      .write(1, 'a', '1-2', { type: 'info' })
      .read(1, 'a', '1-2') // proves 1-2 happened, but not where
      .read(1, 'a', '1-1') // older than 1-2? unknown: not flagged
      .write(1, 'b', '1-3', { lsn: 6 });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(totalViolations(r)).toBe(0);
    expect(r).toMatchObject({ okReads: 2, readsJudged: 1, readsUnordered: 1, writesUnpositioned: 1, infoWritesSeen: 1, writesJudged: 2 });
  });

  it('an info write requires nothing of the session that made it', () => {
    const h = new History().write(1, 'a', '1-1', { type: 'info', logLsn: 5 }).read(1, 'a', null);
    expect(totalViolations(checkSessions(PairedHistory.of(h.ops)))).toBe(0);
  });

  it('an info write the final log holds (logLsn) is ordered among the versions', () => {
    const h = new History().write(2, 'a', '2-1', { lsn: 10 }).write(2, 'a', '2-2', { type: 'info', logLsn: 12 }).read(1, 'a', '2-2').read(1, 'a', '2-1');
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.violations['monotonic-reads']).toBe(1);
    expect(r.violationList[0]!.expected).toMatchObject({ value: '2-2', lsn: 12 });
    expect(r.infoWritesSeen).toBe(1);
  });

  it('an info write is judged as the later write when it has a position', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 20 }).write(1, 'b', '1-2', { type: 'info', logLsn: 15 });
    expect(checkSessions(PairedHistory.of(h.ops)).violations['monotonic-writes']).toBe(1);
  });

  it('a read of a value no write wrote, or only a failed write, is an anomaly, not a violation', () => {
    const h = new History()
      .write(1, 'a', '1-1', { lsn: 5 })
      .write(2, 'a', '2-1', { type: 'fail' })
      .read(1, 'a', 'never-written', { node: 'n3' })
      .read(1, 'a', '2-1')
      .read(1, 'b', '1-1'); // a value written, but to another key
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(totalViolations(r)).toBe(0);
    expect(r.anomalies).toMatchObject({ unknownValue: 2, failedWriteValue: 1, duplicateValue: 0 });
    expect(r.anomalies.examples[0]).toEqual({ index: 4, session: 1, key: 'a', value: 'never-written', node: 'n3', why: 'unknown-value' });
    expect(r.readsJudged).toBe(0);
  });

  it('a value written twice is counted', () => {
    const h = new History().write(1, 'a', 'x', { lsn: 1 }).write(2, 'a', 'x', { lsn: 2 });
    expect(checkSessions(PairedHistory.of(h.ops)).anomalies.duplicateValue).toBe(1);
  });

  it('null is not judged on a key that has deletes', () => {
    const h = new History().write(1, 'a', '1-1', { lsn: 5 });
    h.event(1, 'invoke', 'delete', 'a', null);
    h.event(1, 'ok', 'delete', 'a', null, { lsn: 6 });
    h.read(1, 'a', null);
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(totalViolations(r)).toBe(0);
    expect(r.readsUnordered).toBe(1);
  });
});

describe('checker: session guarantees: staleness', () => {
  it('splits staleness per policy and per node, with each node share of ok reads', () => {
    const h = new History()
      .write(9, 'a', '9-1', { lsn: 1 }) // ok at 2 ms
      .write(9, 'a', '9-2', { lsn: 2 }) // ok at 4 ms
      .read(1, 'a', '9-1', { policy: 'round-robin', node: 'n2' }) // invoked at 5 ms: 1 behind, 1 ms
      .read(2, 'a', '9-2', { policy: 'leader-only', node: 'n1' })
      .read(3, 'a', null, { policy: 'round-robin', node: 'n3' }) // invoked at 9 ms: 2 behind, 7 ms
      .read(3, 'a', 'unknown', { policy: 'round-robin', node: 'n3' });
    const r = checkSessions(PairedHistory.of(h.ops));
    expect(r.okReads).toBe(4);
    expect(r.perPolicy['round-robin']).toMatchObject({ okReads: 3, judged: 2, behind: 2, versionsBehind: { max: 2 }, msBehind: { max: 7 } });
    expect(r.perPolicy['leader-only']).toMatchObject({ okReads: 1, judged: 1, behind: 0, versionsBehind: { max: 0 }, msBehind: { max: 0 } });
    expect(r.perNode.n2).toMatchObject({ okReads: 1, share: 0.25, versionsBehind: { max: 1 }, msBehind: { max: 1 } });
    expect(r.perNode.n3).toMatchObject({ okReads: 2, share: 0.5, judged: 1, versionsBehind: { max: 2 } });
    expect(r.perNode.n1!.share).toBe(0.25);
    expect(r.staleness).toMatchObject({ judged: 3, behind: 2, versionsBehind: { p50: 1, max: 2 } });
    // The result goes into check.json as it is.
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('a read without a policy is filed as unspecified', () => {
    const h = new History();
    h.event(1, 'invoke', 'read', 'a', null);
    h.event(1, 'ok', 'read', 'a', null);
    expect(Object.keys(checkSessions(PairedHistory.of(h.ops)).perPolicy)).toEqual(['unspecified']);
    expect(Object.keys(checkSessions(PairedHistory.of(h.ops)).perNode)).toEqual(['?']);
  });

  it('overwrittenAtNs refines the overwrite time, the set of later writes stays the acknowledged ones', () => {
    const h = new History()
      .write(2, 'a', '2-1', { lsn: 10 }) // ok at 2 ms
      .write(2, 'a', '2-2', { lsn: 11 }) // ok at 4 ms
      .read(1, 'a', '2-1'); // invoked at 5 ms
    const appliedAt = (w: Op) => (w.value === '2-2' ? 3.5 * MS : undefined);
    expect(checkSessions(PairedHistory.of(h.ops)).staleness.msBehind.max).toBe(1);
    expect(checkSessions(PairedHistory.of(h.ops), { overwrittenAtNs: appliedAt }).staleness.msBehind.max).toBe(1.5);
  });
});

// ---- Property: a sequential store never breaks a session guarantee ----

const seeds = process.env.SEED ? [Number(process.env.SEED)] : Array.from({ length: Number(process.env.PROPERTY_SEEDS ?? 40) }, (_, i) => 2000 + i);

interface GeneratedWrite {
  key: string;
  value: string;
  session: number;
  /** Position, for writes the checker may order (ok, or info with logLsn). */
  pos: number | undefined;
  ok: boolean;
  /** History index of its completion. */
  completedAt: number | undefined;
}

/**
 * One global store applies ops one at a time; each op takes effect somewhere between its
 * invocation and completion, and sessions' ops interleave in real time. Writes are mostly ok, some
 * fail (no effect), some info (effect or not; with or without a logLsn); some reads are refused.
 */
function generate(seed: number): { ops: Op[]; writes: GeneratedWrite[] } {
  const rng = new Rng(seed);
  const keys = Array.from({ length: 1 + rng.int(3) }, (_, i) => `s/k${i}`);
  const sessions = 2 + rng.int(4);
  const policies = ['leader-only', 'round-robin', 'least-lag', 'bounded-staleness:100', 'session'];
  const h = new History();
  const store = new Map<string, string>();
  const writes: GeneratedWrite[] = [];
  let lsn = 0;
  let counter = 0;
  type Pending = { phase: 'invoked' | 'applied'; f: 'read' | 'write'; key: string; value: string | null; outcome: string; w?: GeneratedWrite; lsn: number };
  const pending = new Map<number, Pending>();
  const steps = 60 + rng.int(300);
  for (let step = 0; step < steps; step++) {
    const s = rng.int(sessions);
    const p = pending.get(s);
    if (!p) {
      const key = rng.pick(keys);
      const policy = rng.pick(policies);
      if (rng.chance(0.45)) {
        const value = `${s}-${++counter}`;
        const r = rng.next();
        const outcome = r < 0.8 ? 'ok' : r < 0.86 ? 'fail' : r < 0.92 ? 'info-logged' : r < 0.96 ? 'info-unlogged' : 'info-not-happened';
        const w: GeneratedWrite = { key, value, session: s, pos: undefined, ok: outcome === 'ok', completedAt: undefined };
        writes.push(w);
        h.event(s, 'invoke', 'write', key, value, { policy });
        pending.set(s, { phase: 'invoked', f: 'write', key, value, outcome, w, lsn: 0 });
      } else {
        h.event(s, 'invoke', 'read', key, null, { policy, token: lsn > 0 ? rng.int(lsn) : null });
        pending.set(s, { phase: 'invoked', f: 'read', key, value: null, outcome: rng.chance(0.9) ? 'ok' : 'fail', lsn: 0 });
      }
    } else if (p.phase === 'invoked') {
      // The op's effect on the store, at a point strictly inside its interval.
      p.phase = 'applied';
      if (p.f === 'read') {
        p.value = store.get(p.key) ?? null;
        p.lsn = lsn;
      } else if (p.outcome === 'ok' || p.outcome === 'info-logged' || p.outcome === 'info-unlogged') {
        store.set(p.key, p.value!);
        p.lsn = ++lsn;
        if (p.outcome !== 'info-unlogged') p.w!.pos = p.lsn;
      }
    } else {
      pending.delete(s);
      const node = rng.pick(['n1', 'n2', 'n3']);
      if (p.f === 'read') {
        if (p.outcome === 'ok') h.event(s, 'ok', 'read', p.key, p.value, { node, lsn: p.lsn });
        else h.event(s, 'fail', 'read', p.key, null, { node, error: 'too_stale' });
        continue;
      }
      const type: OpType = p.outcome === 'ok' ? 'ok' : p.outcome === 'fail' ? 'fail' : 'info';
      p.w!.completedAt = h.event(s, type, 'write', p.key, p.value, { node, ...(type === 'ok' ? { lsn: p.lsn } : {}) }).index;
      // The evidence step marks writes the final log holds; sometimes it also did so for ok ones.
      if (p.outcome === 'info-logged' || (p.outcome === 'ok' && rng.chance(0.5))) {
        const invoke = h.ops.findLast((o) => o.type === 'invoke' && o.process === s)!;
        invoke.logLsn = p.lsn;
      }
    }
  }
  return { ops: h.ops, writes };
}

describe('checker: session guarantees: property', () => {
  it.each(seeds)('seed %i: a sequential store breaks no guarantee and no read is behind', (seed) => {
    const r = checkSessions(PairedHistory.of(generate(seed).ops));
    expect(r.violationList, `SEED=${seed}`).toEqual([]);
    expect(totalViolations(r), `SEED=${seed}`).toBe(0);
    expect(r.staleness.versionsBehind.max, `SEED=${seed}`).toBe(0);
    expect(r.staleness.msBehind.max, `SEED=${seed}`).toBe(0);
    expect(r.anomalies.unknownValue + r.anomalies.failedWriteValue + r.anomalies.duplicateValue, `SEED=${seed}`).toBe(0);
  });

  /** Ok reads that follow an ok write of their own session to the key, with the versions older than it. */
  function mutable(ops: Op[], writes: GeneratedWrite[]): Array<{ read: Op; older: Array<string | null> }> {
    const out: Array<{ read: Op; older: Array<string | null> }> = [];
    ops.forEach((done, i) => {
      if (done.f !== 'read' || done.type !== 'ok') return;
      const invoke = ops.findLast((o, j) => j < i && o.process === done.process && o.type === 'invoke')!;
      const own = writes.filter((w) => w.session === done.process && w.key === done.key && w.ok && w.pos !== undefined && w.completedAt! < invoke.index);
      if (own.length === 0) return;
      const newest = Math.max(...own.map((w) => w.pos!));
      const older = writes.filter((w) => w.key === done.key && w.pos !== undefined && w.pos < newest).map((w) => w.value);
      out.push({ read: done, older: [null, ...older] });
    });
    return out;
  }

  it.each(seeds)('seed %i: one read moved behind the session own write is read-your-writes', (seed) => {
    const { ops, writes } = generate(seed);
    const candidates = mutable(ops, writes);
    if (candidates.length === 0) return;
    const rng = new Rng(seed);
    const { read, older } = rng.pick(candidates);
    read.value = rng.pick(older);
    const r = checkSessions(PairedHistory.of(ops));
    expect(r.violations['read-your-writes'], `SEED=${seed}`).toBe(1);
    expect(r.violationList.find((v) => v.kind === 'read-your-writes')!.got.value, `SEED=${seed}`).toBe(read.value);
    // Moving one read back lowers what later ops require, so nothing else about writes changes.
    expect(r.violations['monotonic-writes'] + r.violations['writes-follow-reads'], `SEED=${seed}`).toBe(0);
  });

  it('the property is not vacuous: most seeds judge reads and have a read to mutate', () => {
    const generated = seeds.map(generate);
    expect(generated.filter((g) => checkSessions(PairedHistory.of(g.ops)).readsJudged > 0).length).toBeGreaterThanOrEqual(Math.min(seeds.length, 35));
    expect(generated.filter((g) => mutable(g.ops, g.writes).length > 0).length).toBeGreaterThanOrEqual(Math.min(seeds.length, 30));
  });
});
