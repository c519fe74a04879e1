/**
 * The external reference: histories recorded by other projects (Jepsen on etcd, Porcupine's kv
 * tests) with the verdict their sources assert. A disagreement means the checker is wrong.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHistory } from '../../src/history/reader.js';
import { checkLinearizable } from '../../src/checker/linearizable.js';
import { registerModel } from '../../src/checker/models/register.js';
import { kvModel } from '../../src/checker/models/kv.js';
import { projectRoot } from '../../src/lib/paths.js';

const casesDir = process.env.REPLAB_CASES_DIR ?? path.join(projectRoot(), '..', 'shared', 'cases');
const manifest = JSON.parse(readFileSync(path.join(casesDir, 'manifest.json'), 'utf8')) as Array<{ file: string; model: 'register' | 'kv'; expected: 'linearizable' | 'not-linearizable' }>;

describe('checker: external cases', () => {
  it('the manifest lists cases', () => {
    expect(manifest.length).toBeGreaterThanOrEqual(54);
  });
  it.each(manifest.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
    const history = await loadHistory(path.join(casesDir, c.file));
    const r = checkLinearizable(history, c.model === 'kv' ? kvModel : registerModel, { budgetMsPerKey: 20_000 });
    expect(r.valid).toBe(c.expected === 'linearizable');
  });
});
