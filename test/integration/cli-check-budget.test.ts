/**
 * `replab check --budget-ms` is a wall-clock limit per key, respected within a second, also when
 * the key gets a first try on the main thread before it goes to a worker thread (the try counts
 * against its budget). Asserted on the checker's own measure of each key's search (`searchMs`),
 * with a generous margin for a loaded machine.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replab } from '../helpers/cli.js';

describe('cli: check --budget-ms', () => {
  it('a hard key on a worker thread stops within a second of its budget, first try included', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-budget-'));
    try {
      const file = path.join(dir, 'hard.jsonl');
      // 18 concurrent indeterminate writes and one more repeating a value (which keeps the key from
      // the read-mapping check, which would decide it at once), 25,000 reads of their values,
      // then one read of a value nobody wrote: only an exhausted search could call it illegal. At
      // ~50,000 lines the first try on the main thread gets 200 ms + 0.02 ms a line (about 1.2 s).
      const lines: unknown[] = [];
      for (let p = 0; p < 18; p++) lines.push({ process: p, type: 'invoke', f: 'write', key: 'hard', value: p });
      lines.push({ process: 50, type: 'invoke', f: 'write', key: 'hard', value: 0 });
      for (let p = 0; p < 18; p++) lines.push({ process: p, type: 'info', f: 'write', key: 'hard', value: p });
      lines.push({ process: 50, type: 'info', f: 'write', key: 'hard', value: 0 });
      for (let i = 0; i < 25_000; i++)
        lines.push(
          { process: 100 + i, type: 'invoke', f: 'read', key: 'hard', value: null },
          { process: 100 + i, type: 'ok', f: 'read', key: 'hard', value: i % 18 },
        );
      lines.push({ process: 99, type: 'invoke', f: 'read', key: 'hard', value: null }, { process: 99, type: 'ok', f: 'read', key: 'hard', value: 'never' });
      // A second key that needs the search too (a value written twice), but an easy one, so that
      // two keys are searched and the hard one goes to a worker thread.
      for (const p of [97, 98])
        lines.push({ process: p, type: 'invoke', f: 'write', key: 'easy', value: 1 }, { process: p, type: 'ok', f: 'write', key: 'easy', value: 1 });
      await fsp.writeFile(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
      const budget = 2500;
      const r = await replab(['check', file, '--model', 'register', '--budget-ms', String(budget), '--json']);
      expect(r.code, r.stderr).toBe(3);
      const j = JSON.parse(r.stdout) as { linearizable: { unknown: Array<{ key: string; reason: string }>; searchMs: Array<{ key: string; ms: number }> } };
      expect(j.linearizable.unknown.map((u) => u.key)).toEqual(['hard']);
      expect(j.linearizable.unknown[0]!.reason).toMatch(/^search exceeded 2500 ms/);
      const hard = j.linearizable.searchMs.find((s) => s.key === 'hard')!;
      // Before, the worker started the budget afresh after the try: about budget + 1.2 s.
      expect(hard.ms).toBeGreaterThan(budget - 1000);
      expect(hard.ms).toBeLessThan(budget + 1000);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
