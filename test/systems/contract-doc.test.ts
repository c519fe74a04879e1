/**
 * docs/systems.md is the contract a user writes a module from, checked here against the code it
 * describes: the module's exports, the system object's methods (required and optional), the data
 * client's operations and other methods, the outcome's fields, the events the report draws, the
 * fault proxy's link kinds, the capabilities, and what `replab/system` exports.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { SYSTEM_EVENTS } from '../../src/systems/events.js';
import { DATA_CLIENT_METHODS, DATA_OPERATIONS, MODULE_EXPORTS, OPTIONAL_METHODS, SYSTEM_METHODS } from '../../src/systems/external.js';
import { LINK_KINDS } from '../../src/systems/fault-proxy.js';
import * as kit from '../../src/systems/kit.js';
import { DEFAULT_CAPABILITIES } from '../../src/systems/system.js';

const root = projectRoot();
const doc = readFileSync(path.join(root, 'docs', 'systems.md'), 'utf8');

function section(heading: string): string {
  const s = doc.split(/^## /m).find((x) => x.startsWith(heading));
  if (!s) throw new Error(`docs/systems.md has no section "## ${heading}"`);
  return s;
}

/** The first-column names of the table whose header starts `| <first>`: "`kill(id)` / `pause(id)`" gives kill, pause. */
function tableNames(heading: string, first: string): string[] {
  const lines = section(heading).split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  if (start < 0) throw new Error(`section "${heading}" has no table starting "| ${first} |"`);
  const rows: string[] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l);
  }
  return rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`([A-Za-z][\w-]*)/g)].map((m) => m[1]!));
}

describe('docs/systems.md against the code', () => {
  it('lists what a module may export', () => {
    expect(tableNames('The module', 'export').sort()).toEqual([...MODULE_EXPORTS].sort());
  });

  it('lists every method of the system object, required and optional, and no other', () => {
    expect(tableNames('The system object', 'method').sort()).toEqual([...SYSTEM_METHODS, ...OPTIONAL_METHODS].sort());
  });

  it("lists the data client's operations in its table and its other methods beside it", () => {
    expect(tableNames('The data client', 'operation').sort()).toEqual([...DATA_OPERATIONS].sort());
    const others = DATA_CLIENT_METHODS.filter((m) => !(DATA_OPERATIONS as readonly string[]).includes(m));
    for (const m of others) expect(section('The data client'), m).toContain(`\`${m}(`);
  });

  it("names every optional field of an outcome, as src/client/kv-http.ts's Outcome type has them", () => {
    const src = readFileSync(path.join(root, 'src', 'client', 'kv-http.ts'), 'utf8');
    const type = /export type Outcome =([\s\S]*?);\n\n/.exec(src)![1]!;
    const optional = [...new Set([...type.matchAll(/(\w+)\?:/g)].map((m) => m[1]!))].filter((f) => f !== 'body');
    expect(optional.sort()).toEqual(['epoch', 'leader', 'lsn', 'node', 'value']);
    const text = section('The data client');
    for (const f of optional.filter((f) => f !== 'value')) expect(text, f).toMatch(new RegExp(`^- \`${f}\``, 'm'));
  });

  it('lists every event the report knows, and the fault proxy kinds', () => {
    expect(tableNames('Failover is yours', 'event').sort()).toEqual([...SYSTEM_EVENTS].sort());
    expect(tableNames('The fault proxy', 'kind').sort()).toEqual([...LINK_KINDS].sort());
  });

  it('lists every capability a module may declare', () => {
    expect(tableNames('What your system can measure', 'capability').sort()).toEqual(Object.keys(DEFAULT_CAPABILITIES).sort());
  });

  it('shows only names replab/system exports in its imports', () => {
    const imported = [...doc.matchAll(/import \{([^}]+)\} from 'replab\/system'/g)].flatMap((m) => m[1]!.split(',').map((x) => x.trim()));
    expect(imported.length).toBeGreaterThan(0);
    for (const name of imported) expect(Object.keys(kit), name).toContain(name);
    // The helpers the tables name by their bare names are exported too.
    for (const name of ['FaultProxy', 'killProcess', 'pauseProcess', 'resumeProcess']) {
      expect(doc, name).toContain(`\`${name}`);
      expect(Object.keys(kit), name).toContain(name);
    }
  });
});
