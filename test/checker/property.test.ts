/**
 * Property: histories from a sequential register with random real-time overlap are linearizable;
 * changing one read to a value never written, or to the value of a write invoked only after the
 * read completed, makes them not linearizable. Seeds are printed on failure; SEED=<n> replays one.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../src/checker/linearizable.js';
import { registerModel } from '../../src/checker/models/register.js';
import { type Op, PairedHistory } from '../../src/history/op.js';
import { syntheticRegisterHistory } from '../../src/history/synthetic.js';
import { Rng } from '../../src/lib/rng.js';

const seeds = process.env.SEED ? [Number(process.env.SEED)] : Array.from({ length: Number(process.env.PROPERTY_SEEDS ?? 40) }, (_, i) => 1000 + i);

function generate(seed: number): Op[] {
  const rng = new Rng(seed);
  return syntheticRegisterHistory({ keys: 1 + rng.int(3), processesPerKey: 2 + rng.int(5), ops: 40 + rng.int(160), seed, infoProbability: 0.05 });
}

function okReads(ops: Op[]): Op[] {
  return ops.filter((o) => o.type === 'ok' && o.f === 'read');
}

describe('checker: property', () => {
  it.each(seeds)('seed %i: generated history is linearizable', (seed) => {
    const r = checkLinearizable(PairedHistory.of(generate(seed)), registerModel);
    expect(r.valid, `SEED=${seed}: ${r.failures[0]?.message}`).toBe(true);
  });

  it.each(seeds)('seed %i: one read of a never-written value is not', (seed) => {
    const ops = generate(seed);
    const reads = okReads(ops);
    if (reads.length === 0) return;
    new Rng(seed).pick(reads).value = 'never-written';
    expect(checkLinearizable(PairedHistory.of(ops), registerModel).valid, `SEED=${seed}`).toBe(false);
  });

  it.each(seeds)('seed %i: one read of a value written only after it completed is not', (seed) => {
    const ops = generate(seed);
    const rng = new Rng(seed);
    const writes = ops.filter((o) => o.type === 'invoke' && o.f === 'write');
    const candidates = okReads(ops).filter((r) => writes.some((w) => w.key === r.key && w.index > r.index));
    if (candidates.length === 0) return;
    const read = rng.pick(candidates);
    const later = writes.filter((w) => w.key === read.key && w.index > read.index);
    read.value = rng.pick(later).value;
    expect(checkLinearizable(PairedHistory.of(ops), registerModel).valid, `SEED=${seed}`).toBe(false);
  });

  it('mutations were applied to most seeds (the property is not vacuous)', () => {
    const applicable = seeds.filter((s) => okReads(generate(s)).length > 0);
    expect(applicable.length).toBeGreaterThanOrEqual(Math.min(seeds.length, 35));
  });
});
