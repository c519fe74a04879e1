/**
 * Splitting a suite's (mode × seed) matrix over machines: `--shard i/n` runs the pairs whose
 * position in the matrix (modes in suite order, seeds in order) is i-1 modulo n, so every shard
 * gets a spread of modes and seeds, deterministically, and the shards together are the suite.
 * A digest of the parsed suite lets `replab merge` refuse shards of different suite versions.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../lib/errors.js';
import type { Suite, SuiteMode } from './spec.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new UsageError(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/8), got "${text}"`);
  return { index, count };
}

/** The (mode, seed) pairs a shard runs, in matrix order; all of them without a shard. */
export function shardPairs(suite: Suite, shard?: Shard): Array<{ mode: SuiteMode; seed: number }> {
  const all = suite.modes.flatMap((mode) => suite.seeds.map((seed) => ({ mode, seed })));
  return shard ? all.filter((_, k) => k % shard.count === shard.index - 1) : all;
}

/**
 * A digest of what the suite runs: its parsed form without the file's own path (two checkouts of
 * the same commit agree; an edited mode, seed list or duration does not).
 */
export function suiteDigest(suite: Suite): string {
  const { file: _file, ...rest } = suite;
  return createHash('sha256')
    .update(JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'string' && v.startsWith('/') ? '<path>' : v)))
    .digest('hex')
    .slice(0, 16);
}
