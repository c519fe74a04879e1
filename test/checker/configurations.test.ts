import { describe, expect, it } from 'vitest';
import { LinearizedSet, VisitedConfigurations } from '../../src/checker/configurations.js';

describe('LinearizedSet', () => {
  it('is a number while the linearized ids are a prefix, and folds extras into the watermark', () => {
    const s = new LinearizedSet(8);
    expect(s.key()).toBe(0);
    s.add(0);
    s.add(1);
    expect(s.key()).toBe(2);
    s.add(3);
    expect(typeof s.key()).toBe('string');
    expect(s.has(3)).toBe(true);
    expect(s.has(2)).toBe(false);
    s.add(2);
    expect(s.key()).toBe(4);
  });

  it('gives the same key for the same set, whatever the order of adds and removes', () => {
    const a = new LinearizedSet(8);
    const b = new LinearizedSet(8);
    for (const id of [0, 5, 3, 6]) a.add(id);
    for (const id of [6, 0, 3, 2, 5]) b.add(id);
    b.remove(2);
    expect(b.key()).toBe(a.key());
    a.remove(0); // below the watermark: what was above it becomes extras
    expect(a.has(0)).toBe(false);
    expect(a.has(5)).toBe(true);
    expect(a.key()).not.toBe(b.key());
  });
});

describe('VisitedConfigurations', () => {
  it('says whether a (state, linearized set) pair is new', () => {
    const v = new VisitedConfigurations(1 << 20);
    expect(v.visit('s1', 3)).toBe(true);
    expect(v.visit('s1', 3)).toBe(false);
    expect(v.visit('s1', 4)).toBe(true); // a second set for one state
    expect(v.visit('s1', '5:1:2:3')).toBe(true); // and a third
    expect(v.visit('s1', 4)).toBe(false);
    expect(v.visit('s1', '5:1:2:3')).toBe(false);
    expect(v.visit('s2', 3)).toBe(true);
    expect(v.evictions).toBe(0);
  });

  it('forgets everything when it passes its budget, and counts it', () => {
    // Room for a handful of entries: the search must still go on, only revisiting.
    const v = new VisitedConfigurations(1000);
    let i = 0;
    while (v.evictions === 0) expect(v.visit(`state ${i++}`, 0)).toBe(true);
    expect(i).toBeGreaterThan(1);
    expect(i).toBeLessThan(10);
    expect(v.visit('state 0', 0)).toBe(true); // forgotten
  });
});
