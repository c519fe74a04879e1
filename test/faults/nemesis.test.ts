import { describe, expect, it } from 'vitest';
import { replLinksBetween } from '../../src/faults/links.js';
import { bridgeGrudge, cutFromMajority, type Grudge, halvesGrudge, isolateGrudge, majorityRingGrudge } from '../../src/faults/nemesis/grudge.js';
import { parseDuration, parseNemesisSchedule, plan } from '../../src/faults/nemesis/schedule.js';
import { Rng } from '../../src/lib/rng.js';

const five = ['n1', 'n2', 'n3', 'n4', 'n5'];
const asObject = (g: Grudge) => Object.fromEntries([...g].map(([k, v]) => [k, [...v].sort()]));
const symmetric = (g: Grudge) => [...g].every(([a, s]) => [...s].every((b) => g.get(b)!.has(a)));

describe('partition shapes', () => {
  it('isolate cuts the node from everyone, and only that', () => {
    expect(asObject(isolateGrudge(['n1', 'n2', 'n3'], ['n1']))).toEqual({ n1: ['n2', 'n3'], n2: ['n1'], n3: ['n1'] });
  });

  it('halves: two sides, smaller first, every cross pair cut', () => {
    const g = halvesGrudge(five, new Rng(1));
    expect(symmetric(g)).toBe(true);
    const sizes = [...g.values()].map((s) => s.size).sort();
    expect(sizes).toEqual([2, 2, 2, 3, 3]); // three nodes see 2 cut, two see 3 cut
  });

  it('majority ring: everyone sees a majority (itself included), no two the same majority', () => {
    const g = majorityRingGrudge(five, new Rng(7));
    expect(symmetric(g)).toBe(true);
    const seen = [...g].map(([, s]) =>
      five
        .filter((x) => !s.has(x))
        .sort()
        .join(','),
    );
    for (const v of seen) expect(v.split(',').length).toBe(3);
    expect(new Set(seen).size).toBe(5);
  });

  it('bridge: one node sees both halves, the halves do not see each other', () => {
    const g = bridgeGrudge(five, new Rng(3));
    const bridge = [...g].find(([, s]) => s.size === 0)![0];
    expect(bridge).toBeDefined();
    expect([...g.values()].filter((s) => s.size === 2).length).toBe(4);
  });

  it('the monitor stands with the majority: it loses the isolated node only', () => {
    expect(cutFromMajority(isolateGrudge(['n1', 'n2', 'n3'], ['n2']), ['n2'])).toEqual(['n2']);
  });
});

describe('nemesis schedules', () => {
  it('durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration(1.5)).toBe(1500);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });

  it('plans one-off and repeated faults in time order within the run', () => {
    const steps = parseNemesisSchedule(
      [
        { fault: 'kill', target: 'leader', at: '4s', for: '1s' },
        { fault: 'latency', links: 'repl', latencyMs: 50, every: 3, for: 1 },
        { fault: 'pause', target: 'n2', at: 20 },
      ],
      'test',
    );
    expect(plan(steps, 10_000).map((p) => [p.step.fault, p.atMs, p.untilMs])).toEqual([
      ['latency', 3000, 4000],
      ['kill', 4000, 5000],
      ['latency', 6000, 7000],
      ['latency', 9000, 10000],
    ]);
  });

  it.each([
    [[{ fault: 'explode', at: 1 }], /fault/],
    [[{ fault: 'kill', target: 'leader' }], /give either "at" \(once\) or "every" \(repeated\)/],
    [[{ fault: 'kill', every: 1, for: 2 }], /"every" \(1000 ms\) must be longer than "for" \(2000 ms\)/],
    [[{ fault: 'latency', at: 1 }], /latencyMs/],
    [[{ fault: 'partition', shape: 'donut', at: 1 }], /shape/],
    [[{ fault: 'kill', at: '5 minutes' }], /must be a duration/],
    [[{ fault: 'kill', at: 1, colour: 'red' }], /unknown field "colour"/],
  ])('rejects %j with a one-line error', (input, message) => {
    expect(() => parseNemesisSchedule(input, 'schedule.yaml')).toThrow(message);
  });
});

describe('replication links between two nodes', () => {
  it('the pair link where there is one; else every link into the target (PostgreSQL under Patroni)', () => {
    const kv = { 'repl:n2->n1': 'a', 'repl:n3->n1': 'b', 'monitor:n1': 'c' };
    expect(replLinksBetween(kv, 'n2', 'n1')).toEqual(['repl:n2->n1']);
    const pg = { 'repl:*->n1': 'a', 'repl:*->n1.api': 'b', 'repl:*->n2': 'c', 'repl:*->n2.api': 'd', 'monitor:n1': 'e' };
    expect(replLinksBetween(pg, 'n2', 'n1')).toEqual(['repl:*->n1', 'repl:*->n1.api']);
    expect(replLinksBetween(pg, 'n1', 'n3')).toEqual([]);
  });
});
