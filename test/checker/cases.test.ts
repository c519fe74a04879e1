/**
 * The external reference: histories recorded by other projects (Jepsen on etcd, Porcupine's kv
 * tests) with the verdict their sources assert. A disagreement means the checker is wrong.
 */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkLinearizable } from '../../src/checker/linearizable.js';
import { kvModel } from '../../src/checker/models/kv.js';
import { registerModel } from '../../src/checker/models/register.js';
import { PairedHistory } from '../../src/history/op.js';
import { loadHistory } from '../../src/history/reader.js';
import { projectRoot } from '../../src/lib/paths.js';
import { parseWith } from '../../src/lib/schema.js';

// The cases live beside the project (../shared/cases), not in it. Outside CI a clone without them
// skips this file and says so; in CI (CI=true) their absence fails it, as missing Docker does.
const casesDir = process.env.REPLAB_CASES_DIR ?? path.join(projectRoot(), '..', 'shared', 'cases');
const manifestFile = path.join(casesDir, 'manifest.json');
const present = existsSync(manifestFile) || !!process.env.CI;
if (!present) console.warn(`checker: external cases skipped: ${manifestFile} not found (set REPLAB_CASES_DIR)`);
const ManifestSchema = z.array(z.object({ file: z.string(), model: z.enum(['register', 'kv']), expected: z.enum(['linearizable', 'not-linearizable']) }));
const manifest = present ? parseWith(ManifestSchema, JSON.parse(readFileSync(manifestFile, 'utf8')), manifestFile) : [];

describe.skipIf(!present)('checker: external cases', () => {
  it('the manifest lists cases', () => {
    expect(manifest.length).toBeGreaterThanOrEqual(54);
  });
  it.each(manifest.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
    const history = await loadHistory(path.join(casesDir, c.file));
    const r = checkLinearizable(PairedHistory.of(history), c.model === 'kv' ? kvModel : registerModel, { budgetMsPerKey: 20_000 });
    expect(r.valid).toBe(c.expected === 'linearizable');
  });
});
