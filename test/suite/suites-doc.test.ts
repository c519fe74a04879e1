/**
 * docs/suites.md is the suite format's reference for users of the package (which ships no source):
 * every field a suite and a mode may have, every fault with its fields, and every gate metric are
 * in it, and its example suite loads.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NEMESIS_FAULTS, NemesisScheduleSchema } from '../../src/faults/nemesis/schedule.js';
import { projectRoot } from '../../src/lib/paths.js';
import { GATE_METRICS } from '../../src/suite/gate-metrics.js';
import { loadSuite, suiteFields } from '../../src/suite/spec.js';

const doc = () => fsp.readFile(path.join(projectRoot(), 'docs', 'suites.md'), 'utf8');

/** The names in backticks in the first cells of the rows of the table under `heading` (`a` / `b: true` gives a, b). */
function firstCells(text: string, heading: string): string[] {
  const start = text.indexOf(heading);
  const section = text.slice(start, text.indexOf('\n## ', start + heading.length));
  return [...section.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([^`:]+)(?::[^`]*)?`/g)].map((x) => x[1]!));
}

describe('docs/suites.md', () => {
  it('names every suite field in its example, every mode field in its table, every fault in its table, every gate metric', async () => {
    const text = await doc();
    const example = text.slice(text.indexOf('```yaml'), text.indexOf('```', text.indexOf('```yaml') + 7));
    for (const f of suiteFields().suite) expect(example, `suite field ${f}`).toMatch(new RegExp(`^${f}:`, 'm'));
    expect(new Set(firstCells(text, '## Modes'))).toEqual(new Set(suiteFields().mode));
    expect(firstCells(text, '## Faults').sort()).toEqual([...NEMESIS_FAULTS].sort());
    const gate = text.slice(text.indexOf('## Gate'));
    for (const m of GATE_METRICS) expect(gate, `gate metric ${m}`).toContain(`\`${m}\``);
  });

  it("the example suite loads, and each fault's documented fields parse", async () => {
    const text = await doc();
    const yaml = text.slice(text.indexOf('```yaml') + 7, text.indexOf('```', text.indexOf('```yaml') + 7));
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-suites-doc-'));
    try {
      const file = path.join(dir, 'mine.yaml');
      await fsp.writeFile(file, yaml.replaceAll('../clusters/', `${projectRoot()}/clusters/`).replaceAll('../workloads/', `${projectRoot()}/workloads/`));
      const suite = await loadSuite(file);
      expect(suite.modes.map((m) => m.name)).toEqual(['async', 'semi-sync']);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
    const steps = [
      { fault: 'partition', target: 'leader', shape: 'halves', mode: 'reset', cut: ['repl', 'monitor', 'client'], at: '1s', for: '2s' },
      { fault: 'latency', links: ['repl:n2->n1', 'client:n3'], latencyMs: 50, jitterMs: 5, every: '10s', for: '3s', from: '2s' },
      { fault: 'bandwidth', links: 'leader-repl', rateKBps: 64, at: 1 },
      { fault: 'clock', target: ['n1', 'n2'], offsetMs: -5000, rate: 0.5, at: '500ms' },
      { fault: 'switchover', target: 'n2', at: '2m' },
    ];
    expect(NemesisScheduleSchema.safeParse(steps).success).toBe(true);
  });
});
