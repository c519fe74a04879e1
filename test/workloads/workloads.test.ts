import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/lib/rng.js';
import { createWorkload } from '../../src/workloads/driver.js';
import { parseWorkloadSpec } from '../../src/workloads/spec.js';

const spec = (doc: Record<string, unknown>) => parseWorkloadSpec({ workload: 'register', ...doc }, 'w.yaml');

describe('workloads: register', () => {
  it('the same seed gives the same op sequence per client slot', () => {
    const seq = (seed: number) => {
      const w = createWorkload(spec({ keys: 4 }));
      const rng = new Rng(seed);
      return Array.from({ length: 200 }, () => w.next(rng, 3));
    };
    expect(seq(7)).toEqual(seq(7));
    expect(seq(7)).not.toEqual(seq(8));
  });

  it('follows the mix and writes values unique per key', () => {
    const w = createWorkload(spec({ keys: 3, mix: { read: 0.5, write: 0.5, cas: 0 } }));
    const rng = new Rng(1);
    const ops = Array.from({ length: 2000 }, (_, i) => w.next(rng, i % 4));
    const reads = ops.filter((o) => o.f === 'read').length;
    expect(reads).toBeGreaterThan(850);
    expect(reads).toBeLessThan(1150);
    expect(ops.some((o) => o.f === 'cas')).toBe(false);
    const written = ops.filter((o) => o.f === 'write').map((o) => `${o.key}=${String(o.value)}`);
    expect(new Set(written).size).toBe(written.length);
    expect(new Set(ops.map((o) => o.key))).toEqual(new Set(['r/k0', 'r/k1', 'r/k2']));
  });
});

describe('workloads: set', () => {
  it('adds are unique across slots', () => {
    const w = createWorkload(parseWorkloadSpec({ workload: 'set' }, 's.yaml'));
    const rng = new Rng(1);
    const values = Array.from({ length: 1000 }, (_, i) => w.next(rng, i % 10).value);
    expect(new Set(values).size).toBe(1000);
  });
});

describe('workloads: spec', () => {
  it('bad specs are one line naming the field', () => {
    expect(() => parseWorkloadSpec({ workload: 'bank' }, 'w.yaml')).toThrow(
      'w.yaml: workload: Invalid option: expected one of "register"|"set"|"session", got "bank"',
    );
    expect(() => spec({ concurrency: 0 })).toThrow(/^w\.yaml: concurrency: Too small/);
    expect(() => spec({ mix: { read: 0 } })).toThrow('w.yaml: mix: at least one of read, write, cas must be above 0');
    expect(() => spec({ reads: 'nearest' })).toThrow(/^w\.yaml: reads: /);
    expect(() => spec({ durationSecs: 3 })).toThrow('w.yaml: (top level): unknown field "durationSecs"');
  });

  it('readShare reads back recently added elements; without it the adds are what they were', () => {
    const ops = (doc: Record<string, unknown>) => {
      const w = createWorkload(parseWorkloadSpec({ workload: 'set', ...doc }, 's.yaml'));
      const rng = new Rng(1);
      return Array.from({ length: 1000 }, (_, i) => w.next(rng, i % 10));
    };
    const plain = ops({});
    expect(plain.every((o) => o.f === 'add')).toBe(true);
    const mixed = ops({ readShare: 0.3 });
    const reads = mixed.filter((o) => o.f === 'read');
    expect(reads.length).toBeGreaterThan(220);
    expect(reads.length).toBeLessThan(380);
    const added = new Set(mixed.filter((o) => o.f === 'add').map((o) => o.value));
    for (const r of reads) expect(added.has(r.extra?.element)).toBe(true);
    expect(() => parseWorkloadSpec({ workload: 'register', readShare: 0.3 }, 'r.yaml')).toThrow(/r\.yaml: readShare: only the set workload/);
  });
});
