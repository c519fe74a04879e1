/**
 * docs/systems.md is the contract a user writes a module from: its table of the system object's
 * methods names exactly the methods the harness checks for (required) or uses when present
 * (optional), and its capability table exactly the capabilities a module may declare.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { OPTIONAL_METHODS, SYSTEM_METHODS } from '../../src/systems/external.js';
import { DEFAULT_CAPABILITIES } from '../../src/systems/system.js';

const doc = readFileSync(path.join(projectRoot(), 'docs', 'systems.md'), 'utf8');

/** The first-column names of the table under a `## heading`: "`kill(id)` / `pause(id)`" gives kill, pause. */
function tableNames(heading: string): string[] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`docs/systems.md has no section "## ${heading}"`);
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  return rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`([A-Za-z]+)/g)].map((m) => m[1]!));
}

describe('docs/systems.md against the types', () => {
  it('lists every method of the system object, required and optional, and no other', () => {
    expect(tableNames('The system object').sort()).toEqual([...SYSTEM_METHODS, ...OPTIONAL_METHODS].sort());
  });

  it('lists every capability a module may declare', () => {
    expect(tableNames('What your system can measure').sort()).toEqual(Object.keys(DEFAULT_CAPABILITIES).sort());
  });
});
