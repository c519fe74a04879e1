/** The pure half of PostgreSQL read routing: rotation, the staleness bound, the session gate, least lag, time shares. */
import { describe, expect, it } from 'vitest';
import { caughtUp, gatedReadSql, inTurn, leastLagged, sessionWaitMs, stalenessBoundMs, standbyShareMs } from '../../src/systems/postgres/read-routing.js';

describe('postgres reads: rotation', () => {
  it('starts at the cursor and wraps, whatever the cursor', () => {
    expect(inTurn(['n2', 'n3'], 0)).toEqual(['n2', 'n3']);
    expect(inTurn(['n2', 'n3'], 1)).toEqual(['n3', 'n2']);
    expect(inTurn(['n2', 'n3'], 7)).toEqual(['n3', 'n2']);
    expect(inTurn(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
    expect(inTurn([], 3)).toEqual([]);
  });
});

describe('postgres reads: bounded staleness', () => {
  const now = 100_000;

  it('(a) the age of the last replayed transaction bounds how far behind a standby is', () => {
    expect(stalenessBoundMs({ lsn: 10, replayAgeMs: 250 }, undefined, now)).toBe(250);
    // A clock a little ahead on the primary gives a negative age: no lag, not a negative one.
    expect(stalenessBoundMs({ lsn: 10, replayAgeMs: -3 }, undefined, now)).toBe(0);
  });

  it('(b) having replayed a position the primary reported bounds it by the age of that report', () => {
    const primary = { lsn: 500, askedAtMs: now - 40 };
    // Idle primary: the last replayed transaction is old, but the standby holds all the primary had 40 ms ago.
    expect(stalenessBoundMs({ lsn: 500, replayAgeMs: 60_000 }, primary, now)).toBe(40);
    expect(stalenessBoundMs({ lsn: 900, replayAgeMs: 60_000 }, primary, now)).toBe(40);
    // Behind that report: only (a) counts.
    expect(stalenessBoundMs({ lsn: 499, replayAgeMs: 60_000 }, primary, now)).toBe(60_000);
  });

  it('the smaller bound counts; with neither known there is none', () => {
    expect(stalenessBoundMs({ lsn: 500, replayAgeMs: 15 }, { lsn: 500, askedAtMs: now - 40 }, now)).toBe(15);
    expect(stalenessBoundMs({ lsn: null, replayAgeMs: null }, { lsn: 0, askedAtMs: now }, now)).toBeUndefined();
    expect(stalenessBoundMs({ lsn: 5, replayAgeMs: null }, undefined, now)).toBeUndefined();
  });

  it('a cut-off standby that replayed all it received is not fresh once the primary moved on', () => {
    // Received = replayed, but the primary reported a later position, and the last commit replayed is old.
    expect(stalenessBoundMs({ lsn: 700, replayAgeMs: 5000 }, { lsn: 800, askedAtMs: now - 10 }, now)).toBe(5000);
  });
});

describe('postgres reads: session gate', () => {
  it('a standby serves a session once it has replayed the token', () => {
    expect(caughtUp({ lsn: 100, replayAgeMs: 0 }, 100)).toBe(true);
    expect(caughtUp({ lsn: 101, replayAgeMs: 0 }, 100)).toBe(true);
    expect(caughtUp({ lsn: 99, replayAgeMs: 0 }, 100)).toBe(false);
    expect(caughtUp({ lsn: null, replayAgeMs: null }, 100)).toBe(false);
  });

  it('without a token any standby will do', () => {
    expect(caughtUp({ lsn: null, replayAgeMs: null }, null)).toBe(true);
  });
});

describe('postgres reads: least lag', () => {
  it('picks the standby with the fewest bytes behind; unknown ranks last; ties keep the turn', () => {
    expect(
      leastLagged(
        ['n2', 'n3'],
        new Map([
          ['n2', 5000],
          ['n3', 10],
        ]),
      ),
    ).toBe('n3');
    expect(leastLagged(['n2', 'n3'], new Map([['n3', 10]]))).toBe('n3');
    expect(
      leastLagged(
        ['n3', 'n2'],
        new Map([
          ['n2', 0],
          ['n3', 0],
        ]),
      ),
    ).toBe('n3');
    expect(leastLagged(['n2', 'n3'], new Map())).toBe('n2');
    expect(leastLagged([], new Map())).toBeUndefined();
  });
});

describe('postgres reads: time shares', () => {
  it('a session waits at most 1 s and at most half of what is left', () => {
    expect(sessionWaitMs(5000)).toBe(1000);
    expect(sessionWaitMs(900)).toBe(450);
    expect(sessionWaitMs(0)).toBe(0);
    expect(sessionWaitMs(-5)).toBe(0);
  });

  it('a standby takes half of what is left, so the primary keeps the rest', () => {
    expect(standbyShareMs(1000)).toBe(500);
    expect(standbyShareMs(1)).toBe(1);
  });
});

describe('postgres reads: the gated statement', () => {
  it('checks replay before the read, in two statements, with the key as a literal', () => {
    const sql = gatedReadSql("'r/k''1'");
    const [gate, read] = sql.split('; ');
    expect(gate).toMatch(/^SELECT .*pg_last_wal_replay_lsn\(\).* AS gate_lsn, .*pg_last_xact_replay_timestamp\(\).* AS replay_age_ms$/);
    expect(read).toMatch(/^SELECT \(SELECT v FROM replab_register WHERE k = 'r\/k''1'\) AS v, .* AS lsn$/);
  });
});
