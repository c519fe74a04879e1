/**
 * A suite's results in the forms CI systems read:
 * - JUnit XML (Jenkins, GitLab, GitHub test reporters): one <testsuite> per mode, one <testcase>
 *   per run and invariant (plus "converges after healing"), a <failure> naming mode, seed,
 *   invariant, observed value and run folder; each testcase's <system-out> says what the rule
 *   means, what was observed, and which headline figures the run's gate did not judge, and each
 *   testsuite's <properties> list the mode's rules and its unjudged figures;
 * - a markdown summary (GitHub's job summary): the verdict, the per-mode table, what each mode's
 *   gate checked and left unjudged, and every failed invariant.
 */
import path from 'node:path';
import { explainVerdict } from './gate.js';
import { measuredText, type SuiteResults } from './results.js';
import { explainMode, noRunsText, summarizeModes, verdictCell } from './summary.js';

const xml = (s: unknown) => String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

interface Case {
  name: string;
  classname: string;
  seconds: number;
  failure?: string;
  /** What the testcase checked and what its run left unjudged, in words. */
  out: string;
}

export function junitXml(results: SuiteResults, runDir: string): string {
  const suites: Array<{ name: string; cases: Case[]; properties: Array<[string, string]> }> = [];
  for (const mode of results.modes) {
    const cases: Case[] = [];
    for (const r of results.runs.filter((x) => x.mode === mode.name)) {
      const classname = `replab.${results.suite}.${mode.name}`;
      const folder = path.join(runDir, r.dir);
      const invariants = [...r.gate, 'the cluster converges after healing'];
      const e = explainVerdict(r, mode.control);
      const notGated = e.notGated.length > 0 ? e.notGated.join('; ') : 'not gated: none (every headline figure has a rule)';
      for (const inv of invariants) {
        const broken = r.violations.filter((v) => v.invariant === inv);
        const check = inv === invariants.at(-1) ? e.checks.find((c) => c.rule === 'converged') : e.checks.find((c) => c.rule === inv);
        cases.push({
          name: `seed ${r.seed}: ${inv}`,
          classname,
          seconds: r.durationSec / invariants.length,
          out: `checked: ${check ? `${check.label} (observed ${check.observed})` : inv}\nrun: ${e.line}\n${notGated}`,
          ...(broken.length
            ? {
                failure: `${mode.name} seed ${r.seed}: ${inv} failed (observed ${broken.map((v) => JSON.stringify(v.observed)).join(', ')}); run folder ${folder}`,
              }
            : {}),
        });
      }
    }
    const me = explainMode(results, mode.name);
    suites.push({
      name: `${results.suite}/${mode.name}`,
      cases,
      properties: [
        ...mode.gate.map((g): [string, string] => ['gate', g]),
        ...(mode.control ? [['control', 'true'] as [string, string]] : []),
        ...(me?.notGated ?? []).map((t): [string, string] => ['not-gated', t]),
      ],
    });
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
    // JUnit's schema wants <properties> first in a testsuite, and <failure> before <system-out>.
    if (s.properties.length > 0) {
      lines.push('    <properties>');
      for (const [k, v] of s.properties) lines.push(`      <property name="${xml(k)}" value="${xml(v)}"/>`);
      lines.push('    </properties>');
    }
    for (const t of s.cases) {
      lines.push(`    <testcase name="${xml(t.name)}" classname="${xml(t.classname)}" time="${t.seconds.toFixed(3)}">`);
      if (t.failure) lines.push(`      <failure message="${xml(t.failure)}" type="invariant">${xml(t.failure)}</failure>`);
      lines.push(`      <system-out>${xml(t.out)}</system-out>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  });
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** Text safe inside a markdown table cell or list item: a pipe would end the cell. */
const md = (s: string) => s.replace(/\|/g, '\\|');

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
    const e = explainMode(results, m.mode);
    const gate = e ? verdictCell(e).replace(/^FAIL/, '**FAIL**') : noRunsText(results);
    if (m.runs === 0) {
      out.push(`| ${md(m.mode)}${m.control ? ' (negative control)' : ''} | – | – | – | – | – | – | – | – | ${md(gate)} |`);
      continue;
    }
    out.push(
      `| ${md(m.mode)}${m.control ? ' (negative control)' : ''} | ${m.throughput.toFixed(0)} | ${cell(m.p50WriteMs)} | ${cell(m.p99WriteMs)} | ${m.acked} | ${m.lostAcked ?? '–'} | ${String(m.linearizable ?? '–')} | ${measuredText(m.splitBrainWrites)} | ${m.outageMs.toFixed(0)} | ${md(gate)} |`,
    );
  }
  // The table's gate column is terse; here each mode's gate in full, so a pass is read with the
  // rules it stands for and the figures no rule judged.
  out.push('', 'What each gate checked:', '');
  for (const m of results.modes) {
    const e = explainMode(results, m.name);
    if (e) out.push(`- **${md(m.name)}**: ${md(e.line)}`);
  }
  const failed = results.runs.filter((r) => !r.passed);
  out.push('');
  if (failed.length === 0) out.push(`All invariants hold (${results.runs.length} runs) — only the ones listed above.`);
  else {
    out.push('Failed invariants:', '');
    for (const r of failed)
      for (const v of r.violations)
        out.push(`- ${r.mode} seed ${r.seed}: ${v.invariant} (observed ${JSON.stringify(v.observed)}) — \`${path.join(runDir, r.dir)}\``);
  }
  out.push('', `Report: \`${path.join(runDir, 'report.html')}\``, '');
  return out.join('\n');
}
