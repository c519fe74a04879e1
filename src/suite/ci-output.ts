/**
 * A suite's results in the forms CI systems read:
 * - JUnit XML (Jenkins, GitLab, GitHub test reporters): one <testsuite> per mode, one <testcase>
 *   per run and invariant (plus "converges after healing"), a <failure> naming mode, seed,
 *   invariant, observed value and run folder;
 * - a markdown summary (GitHub's job summary): the verdict, the per-mode table, the headline
 *   numbers and every failed invariant.
 */
import path from 'node:path';
import type { SuiteResults } from './results.js';
import { summarizeModes } from './summary.js';

const xml = (s: unknown) => String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

interface Case {
  name: string;
  classname: string;
  seconds: number;
  failure?: string;
}

export function junitXml(results: SuiteResults, runDir: string): string {
  const suites: Array<{ name: string; cases: Case[] }> = [];
  for (const mode of results.modes) {
    const cases: Case[] = [];
    for (const r of results.runs.filter((x) => x.mode === mode.name)) {
      const classname = `replab.${results.suite}.${mode.name}`;
      const folder = path.join(runDir, r.dir);
      const invariants = [...r.gate, 'the cluster converges after healing'];
      for (const inv of invariants) {
        const broken = r.violations.filter((v) => v.invariant === inv);
        cases.push({
          name: `seed ${r.seed}: ${inv}`,
          classname,
          seconds: r.durationSec / invariants.length,
          ...(broken.length
            ? {
                failure: `${mode.name} seed ${r.seed}: ${inv} failed (observed ${broken.map((v) => JSON.stringify(v.observed)).join(', ')}); run folder ${folder}`,
              }
            : {}),
        });
      }
    }
    suites.push({ name: `${results.suite}/${mode.name}`, cases });
  }
  const count = (cs: Case[]) => ({ tests: cs.length, failures: cs.filter((c) => c.failure).length, time: cs.reduce((a, c) => a + c.seconds, 0) });
  const all = suites.flatMap((s) => s.cases);
  const total = count(all);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="replab ${xml(results.suite)}" tests="${total.tests}" failures="${total.failures}" errors="0" time="${total.time.toFixed(3)}">`,
  ];
  suites.forEach((s, i) => {
    const c = count(s.cases);
    lines.push(
      `  <testsuite name="${xml(s.name)}" id="${i}" tests="${c.tests}" failures="${c.failures}" errors="0" skipped="0" time="${c.time.toFixed(3)}" timestamp="${xml(results.startedAt.slice(0, 19))}">`,
    );
    for (const t of s.cases) {
      if (t.failure)
        lines.push(
          `    <testcase name="${xml(t.name)}" classname="${xml(t.classname)}" time="${t.seconds.toFixed(3)}">`,
          `      <failure message="${xml(t.failure)}" type="invariant">${xml(t.failure)}</failure>`,
          '    </testcase>',
        );
      else lines.push(`    <testcase name="${xml(t.name)}" classname="${xml(t.classname)}" time="${t.seconds.toFixed(3)}"/>`);
    }
    lines.push('  </testsuite>');
  });
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

const cell = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '–' : v.toFixed(d));

export function markdownSummary(results: SuiteResults, runDir: string): string {
  const modes = summarizeModes(results);
  const out = [`## replab: ${results.suite} — ${results.passed ? 'PASSED' : 'FAILED'}`, ''];
  if (results.description) out.push(results.description, '');
  out.push(
    '| mode | ops/s | p50 ms | p99 ms | acked | lost | linearizable | split-brain | longest outage ms | gate |',
    '|---|---:|---:|---:|---:|---:|---|---:|---:|---|',
  );
  for (const m of modes) {
    out.push(
      `| ${m.mode}${m.control ? ' (negative control)' : ''} | ${m.throughput.toFixed(0)} | ${cell(m.p50WriteMs)} | ${cell(m.p99WriteMs)} | ${m.acked} | ${m.lostAcked ?? '–'} | ${String(m.linearizable ?? '–')} | ${m.splitBrainWrites} | ${m.outageMs.toFixed(0)} | ${m.passed ? 'pass' : '**FAIL**'} |`,
    );
  }
  const failed = results.runs.filter((r) => !r.passed);
  out.push('');
  if (failed.length === 0) out.push(`All invariants hold (${results.runs.length} runs).`);
  else {
    out.push('Failed invariants:', '');
    for (const r of failed)
      for (const v of r.violations)
        out.push(`- ${r.mode} seed ${r.seed}: ${v.invariant} (observed ${JSON.stringify(v.observed)}) — \`${path.join(runDir, r.dir)}\``);
  }
  out.push('', `Report: \`${path.join(runDir, 'report.html')}\``, '');
  return out.join('\n');
}
