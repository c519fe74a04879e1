/**
 * The per-key budget is a wall-clock limit, respected within a second: on hard keys with a small
 * budget, each search the checker measured stays under budget + 1 s (keys that go to worker
 * threads: test/integration/cli-check-budget.test.ts). Margins are generous: the machine may be loaded.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../src/checker/linearizable.js';
import { kvModel } from '../../src/checker/models/kv.js';
import { PairedHistory } from '../../src/history/op.js';
import { syntheticKvHistory } from '../../src/history/synthetic.js';

describe('budget per key', () => {
  it('each search stops within a second of its budget (measured by the checker)', () => {
    const ops = syntheticKvHistory({ clients: 50, keys: 10, ops: 2000, seed: 1, writeProbability: 0.1 });
    const budget = 300;
    // The plain search (another model name skips the deciders) cannot finish some of these keys.
    const r = checkLinearizable(PairedHistory.of(ops), { ...kvModel, name: 'kv-search' }, { budgetMsPerKey: budget });
    expect(r.unknown.length).toBeGreaterThan(0);
    expect(r.searchMs?.length).toBe(10);
    for (const s of r.searchMs!) expect(s.ms, `key ${s.key}`).toBeLessThan(budget + 1000);
  });
});
