/** PostgreSQL positions (`pg_lsn` text) as replab LSNs: the one parser, and its refusals. */
import { describe, expect, it } from 'vitest';
import { formatLsn, lsnColumn, parseLsn } from '../../src/systems/postgres/lsn.js';

describe('postgres: LSNs', () => {
  it('hi/lo in hexadecimal is hi × 2^32 + lo', () => {
    expect(parseLsn('0/0')).toBe(0);
    expect(parseLsn('0/3000060')).toBe(0x3000060);
    expect(parseLsn('1/0')).toBe(2 ** 32);
    expect(parseLsn('16/B374D848')).toBe(0x16 * 2 ** 32 + 0xb374d848);
    expect(parseLsn('0/ffffffff')).toBe(2 ** 32 - 1);
  });

  it('orders positions as PostgreSQL does, across the halves', () => {
    // Text order would put 0/FFFFFFFF after 1/0; the numbers must not.
    expect(parseLsn('0/FFFFFFFF')).toBeLessThan(parseLsn('1/0'));
    expect(parseLsn('0/9')).toBeLessThan(parseLsn('0/10'));
  });

  it('round-trips through the form PostgreSQL prints', () => {
    for (const text of ['0/0', '0/3000060', '1/0', '16/B374D848', '1FFFFF/FFFFFFFF']) expect(formatLsn(parseLsn(text))).toBe(text);
  });

  it('refuses a position beyond a safe integer, naming it', () => {
    expect(parseLsn('1FFFFF/FFFFFFFF')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseLsn('200000/0')).toThrow(/200000\/0/);
    expect(() => parseLsn('FFFFFFFF/FFFFFFFF')).toThrow(/FFFFFFFF\/FFFFFFFF.*cannot be a replab LSN exactly/);
  });

  it('refuses text that is not an LSN, naming it', () => {
    for (const bad of ['', '0', '0/', '/0', '0/3000060 ', 'x/1', '0/123456789', '-1/0', '0x1/0'])
      expect(() => parseLsn(bad), bad).toThrow(/not a PostgreSQL LSN/);
    expect(() => parseLsn('zz/1')).toThrow(/"zz\/1"/);
  });

  it('a column: null stays null (a function with no position), anything but text is refused', () => {
    expect(lsnColumn(null)).toBeNull();
    expect(lsnColumn(undefined)).toBeNull();
    expect(lsnColumn('0/10')).toBe(16);
    expect(() => lsnColumn(16)).toThrow(/a number/);
  });

  it('formatLsn refuses what is not a position', () => {
    expect(() => formatLsn(-1)).toThrow(/-1/);
    expect(() => formatLsn(1.5)).toThrow(/1\.5/);
    expect(() => formatLsn(2 ** 53)).toThrow();
  });
});
