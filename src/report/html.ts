/**
 * The report page: one self-contained HTML file (inline CSS, charts as inline SVG, no scripts),
 * readable top to bottom: verdict, the headline chart, the read side (when the runs made reads),
 * the verdict table, then each run with its charts, failovers, rewound writes and anomalies.
 */

import { explainVerdict } from '../suite/gate.js';
import { measuredText, type RunResult } from '../suite/results.js';
import { anomalyCounts, noRunsText, summarizeModes } from '../suite/summary.js';
import { describeBuiltinMode } from '../systems/describe.js';
import { GUARANTEE_ABBR } from './data.js';
import type { Anomaly, ModeReads, ReportData } from './model.js';

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const num = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '–' : v.toFixed(d));

export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1d1d1f;padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{margin-top:1.6rem}
.verdict{display:inline-block;padding:.2rem .7rem;border-radius:4px;font-weight:600;color:#fff}
.pass{background:#2a9d8f}.fail{background:#c1121f}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f5f5f7}td.l,th.l{text-align:left}tr.bad td{background:#fdecea}
figure.chart{margin:1rem 0;overflow-x:auto}figure.chart svg{max-width:100%;height:auto}
.muted{color:#666}.need-needless{color:#d62828;font-weight:600}.need-not-known{color:#6c757d}.anomaly{border-left:4px solid #c1121f;padding:.2rem .8rem;margin:1rem 0;background:#fff8f8}
code{background:#f5f5f7;padding:0 .2rem;border-radius:3px}p code{overflow-wrap:anywhere}
td.hot{background:#fdecea;font-weight:600}
.scroll{overflow-x:auto;max-width:100%}.nw{white-space:nowrap}
.summary li{margin:.3rem 0}.summary .tag{font-weight:600}
.held{color:#1b7a6e}.broken{color:#c1121f;font-weight:600}.broken .muted{font-weight:400}p.gate{margin:.3rem 0}p.gate.broken{color:inherit}
figcaption{color:#666;font-size:13px;margin-top:.3rem}
`;

/** A table in a box of its own that scrolls sideways on a narrow screen, so the page itself never does. */
const scroll = (table: string) => `<div class="scroll">${table}</div>`;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * An ISO timestamp as "4 Dec 2026, 12:49:01 UTC" (UTC, said so: the page is static, so it cannot
 * show the reader's own zone, and the same folder must give the same page wherever it is rebuilt).
 * With `sameDayAs`, a time on that day is only "12:50:31 UTC". Anything unparsable is shown as is.
 */
export function formatTime(iso: string, sameDayAs?: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  const day = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  const other = sameDayAs ? new Date(sameDayAs) : undefined;
  if (other && !Number.isNaN(other.getTime()) && other.toISOString().slice(0, 10) === d.toISOString().slice(0, 10)) return time;
  return `${day}, ${time}`;
}

/** "31 s", "2 min 5 s", "1 h 3 min". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.round((s % 3600) / 60) ? ` ${Math.round((s % 3600) / 60)} min` : ''}`;
}

/**
 * A mode's settings in words: what the run recorded (its system's own words, or a module's
 * describeMode), else, for a results.json from before they were kept, the system's words
 * for the replication block.
 */
export function settingsText(m: { system?: string; settingsText?: string; replication: Record<string, unknown>; fencing: string } | undefined): string {
  if (!m) return '';
  return m.settingsText ?? describeBuiltinMode(m);
}

/**
 * When the suite ran and how long a run takes: the workload's duration and, beside it, the wall
 * time of a whole run (starting the cluster, the load, healing, convergence and the checks), which
 * is what a reader waits for.
 */
function timesText(data: ReportData): string {
  const r = data.results;
  const started = formatTime(r.startedAt);
  const total = Date.parse(r.finishedAt) - Date.parse(r.startedAt);
  const finished = r.finishedAt
    ? `finished ${esc(formatTime(r.finishedAt, r.startedAt))}${total > 0 ? ` (${formatDuration(total)} in all)` : ''}`
    : 'unfinished';
  const runs = `${r.runs.length} run${r.runs.length === 1 ? '' : 's'}`;
  const wall = data.runWallMs === null ? '' : `, each about ${formatDuration(data.runWallMs)} on the clock from starting the cluster to the checks' verdict`;
  return `Started ${esc(started)}, ${finished}. ${runs}: ${r.durationSec} s of load per run${wall}.`;
}

/** Why a mode's gate leaves lost writes alone, when its replication says so. */
function expectedLoss(mode: ReportData['results']['modes'][number] | undefined, notGated: string[]): string {
  if (mode?.replication.mode !== 'async' || !notGated.some((n) => n.startsWith('lost writes'))) return '';
  return 'async acknowledges a write before any follower has it, so a failover is expected to lose some: the gate does not count them.';
}

/**
 * The mode table's gate cell. One run: its verdict's own sentence ("gate: split-brain writes == 0 ✓
 * — not gated: lost writes 34"). Several seeds: each rule with the runs it held in, and every
 * figure some run left unjudged.
 */
function modeGate(runs: RunResult[], mode: ReportData['results']['modes'][number] | undefined): string {
  if (!runs.length) return '–';
  const verdicts = runs.map((x) => explainVerdict(x, mode?.control ?? x.control));
  const why = expectedLoss(
    mode,
    verdicts.flatMap((v) => v.notGated),
  );
  const note = why ? `<br><span class="muted">${esc(why)}</span>` : '';
  if (verdicts.length === 1) return `${esc(verdicts[0]!.line)}${note}`;
  const labels = [...new Set(verdicts.flatMap((v) => v.checks.map((c) => c.label)))];
  const checks = labels.map((label) => {
    const held = verdicts.filter((v) => v.checks.find((c) => c.label === label)?.ok !== false).length;
    const mark = held === runs.length ? '<span class="held">✓</span>' : '<span class="broken">✗</span>';
    return `${mark} ${esc(label)} <span class="muted">(${held} of ${runs.length} runs)</span>`;
  });
  const notGated = [...new Set(verdicts.flatMap((v) => v.notGatedShort))];
  return `${verdicts[0]!.control ? 'control: ' : ''}${checks.join('<br>')}${notGated.length ? `<br><span class="muted">not gated: ${esc(notGated.join(', '))}</span>` : ''}${note}`;
}

/** A run card's gate line: what was checked, with the observed values, and what was not. */
function runGate(run: RunResult, mode: ReportData['results']['modes'][number] | undefined): string {
  const v = explainVerdict(run, mode?.control ?? run.control);
  const why = expectedLoss(mode, v.notGated);
  return `<p class="gate${v.passed ? '' : ' broken'}">${esc(v.line)}${why ? ` <span class="muted">(${esc(why)})</span>` : ''}</p>`;
}

/** "What happened": one sentence per mode, the worst news first in each. */
function storySection(data: ReportData): string {
  if (!data.story.length) return '';
  const r = data.results;
  const items = data.story
    .map((s) => {
      // The mode's name in bold where the sentence starts with it, then what its gate judged.
      const text = s.text.startsWith(s.mode) ? `<b>${esc(s.mode)}</b>${esc(s.text.slice(s.mode.length))}` : esc(s.text);
      const gate = modeGate(
        r.runs.filter((x) => x.mode === s.mode),
        r.modes.find((m) => m.name === s.mode),
      );
      // A broken gate in red; the sentence itself stays plain, whatever the verdict.
      return `<li data-mode="${esc(s.mode)}">${text}<br><span class="${s.passed ? 'muted' : 'broken'}">${gate}</span></li>`;
    })
    .join('\n');
  return `<section id="summary" class="summary"><h2>What happened</h2>
<ul>
${items}
</ul></section>`;
}

/** What the marks of an anomaly's timeline mean, under it (the SVG has no tooltips offline). */
function timelineCaption(a: Anomaly): string {
  const bars = "Each bar runs from an operation's invocation to its completion (drawn at least a few pixels wide, however short).";
  const what: Record<Anomaly['kind'], string> = {
    'non-linearizable':
      "Red: the operation no order of the others explains. Blue: writes that were acknowledged and later lost. Green, yellow, orange: the others' outcomes (ok, failed, indeterminate). @n: the node that answered.",
    lost: 'Each row is one lost write, coloured by the node and epoch that acknowledged it; a dot marks its middle.',
    'split-brain': 'Each row is one write acknowledged by a superseded leader, coloured by the node and epoch that acknowledged it.',
    session: "Each row is one violation: the session's earlier op and the op that fell below it, joined by a grey line.",
  };
  return `${bars} ${what[a.kind]} Orange shading: a fault. Dashed lines: the monitor declaring the leader dead, then promoting another node.`;
}

/** Every op of an anomaly, in a collapsed table under its timeline. */
function anomalyTable(t: { header: string[]; rows: string[][] }, shown: number, tableNote?: string): string {
  const note = t.rows.length > shown ? ` (the timeline shows the first ${shown})` : '';
  const summary = tableNote ? `${t.rows.length} in a table: ${tableNote}` : `All ${t.rows.length} in a table${note}`;
  return `<details><summary>${esc(summary)}</summary><div class="scroll"><table><tr>${t.header.map((h) => `<th class="l">${esc(h)}</th>`).join('')}</tr>${t.rows.map((r) => `<tr>${r.map((c) => `<td class="l">${esc(c)}</td>`).join('')}</tr>`).join('')}</table></div></details>`;
}

export function renderHtml(data: ReportData, svgs: { headline: string; reads?: string; runs: string[]; anomalies: string[][]; seeds?: string }): string {
  const r = data.results;
  const modes = summarizeModes(r);
  const verdict = `<span class="verdict ${r.passed ? 'pass' : 'fail'}">${r.passed ? 'PASSED' : 'FAILED'}</span>`;
  const modeName = (m: { mode: string; control: boolean }) => `${esc(m.mode)}${m.control ? ' <span class="muted">(negative control)</span>' : ''}`;
  // What each mode is and what its gate checks, apart from its figures: both tables stay readable.
  const modeRows = modes
    .map(
      (m) =>
        `<tr class="${m.passed ? '' : 'bad'}" data-mode="${esc(m.mode)}"><td class="l nw">${modeName(m)}</td><td class="l">${esc(settingsText(r.modes.find((x) => x.name === m.mode)))}</td><td class="l">${modeGate(
          r.runs.filter((x) => x.mode === m.mode),
          r.modes.find((x) => x.name === m.mode),
        )}</td><td class="l">${m.runs === 0 ? `<span class="muted">${esc(noRunsText(r))}</span>` : m.passed ? 'pass' : '<b>FAIL</b>'}</td></tr>`,
    )
    .join('\n');
  const figureRows = modes
    .map((m) =>
      // No figures for a mode that did not run here: 0 ops/s and "true" would read as measured.
      m.runs === 0
        ? `<tr data-mode="${esc(m.mode)}"><td class="l nw">${modeName(m)}</td><td class="l muted" colspan="13">${esc(noRunsText(r))}</td></tr>`
        : `<tr class="${m.passed ? '' : 'bad'}" data-mode="${esc(m.mode)}"><td class="l nw">${modeName(m)}</td><td>${num(m.throughput, 0)}</td><td>${num(m.p50WriteMs)}</td><td>${num(m.p99WriteMs)}</td><td>${num(m.p999WriteMs)}</td><td>${m.acked}</td><td>${m.lostAcked ?? '–'}${m.lossEvidence === 'final-reads' ? ' <span class="muted">(final reads)</span>' : ''}${m.lossUnknown ? ` <span class="muted">(+${m.lossUnknown} unknown)</span>` : ''}</td><td>${m.lostAckedFinalReads ?? '–'}</td><td>${m.infoResolved} / ${m.infoOpen}</td><td>${esc(m.linearizable ?? '–')}</td><td>${measuredText(m.splitBrainWrites)}</td><td>${num(m.outageMs, 0)}</td><td>${m.staleReads}</td><td>${m.readsOfLostWrites ?? '–'}</td></tr>`,
    )
    .join('\n');
  const runRows = r.runs
    .map(
      (x) =>
        `<tr class="${x.passed ? '' : 'bad'}"><td class="l nw"><a href="#run-${esc(x.mode)}-${x.seed}">${esc(x.mode)}</a></td><td>${x.seed}</td><td class="l">${esc(x.nemesis)}${x.nemesisErrors.length ? ` <b>(${x.nemesisErrors.length} did not start)</b>` : ''}</td><td>${num(x.throughput, 0)}</td><td>${num(x.p50WriteMs)}</td><td>${num(x.p99WriteMs)}</td><td>${x.acked}</td><td>${x.lostAcked ?? '–'}${x.lossEvidence === 'final-reads' ? ' <span class="muted">(final reads)</span>' : ''}</td><td>${x.lostAckedFinalReads ?? '–'}</td><td>${x.infoResolved ?? 0} / ${x.infoOpen ?? 0}</td><td>${x.recovered ?? '–'}</td><td>${esc(x.linearizable ?? '–')}</td><td>${measuredText(x.splitBrainWrites)}</td><td>${num(x.outageMs, 0)}</td><td>${(100 * (x.failedShare + x.indeterminateShare)).toFixed(1)}%</td><td class="l">${x.passed ? 'pass' : x.violations.map((v) => `${esc(v.invariant)}: observed ${esc(JSON.stringify(v.observed))}`).join('<br>')}</td></tr>`,
    )
    .join('\n');
  const runSections = data.runs
    .map((run, i) => {
      const x = run.result;
      const failovers = run.failovers.length
        ? scroll(
            `<table class="failovers"><tr><th class="l">promoted</th><th>epoch</th><th class="l">old leader</th><th>unreachable before the failover, ms</th><th>detection ms</th><th>promotion ms</th><th>write outage ms</th><th class="l">needed?</th><th class="l">evidence</th></tr>${run.failovers.map((f) => `<tr data-need="${f.need}"><td class="l">${esc(f.node)}</td><td>${f.epoch ?? '–'}</td><td class="l">${esc(f.from ?? 'not known')}</td><td>${f.unreachableMs ?? 'not known'}</td><td>${f.detectionMs ?? '–'}</td><td>${f.promotionMs ?? '–'}</td><td>${f.outageMs ?? '–'}</td><td class="l need-${f.need.replace(' ', '-')}">${f.need}</td><td class="l">${esc(f.why)}</td></tr>`).join('')}</table><p class="muted">Needed: the old leader was down or cut off (a kill or partition of it in force, or it answered no one and served no client). Needless: it was alive and reachable from clients (it answered at its own address, served clients while the monitor could not reach it, or was only paused or slowed and came back). Not known: the run folder does not say.</p>`,
          )
        : '<p class="muted">No failover in this run.</p>';
      const rewound = Object.entries(run.rewound);
      const lostReads = run.lostReads ?? [];
      const lostReadRows = lostReads
        .slice(0, 20)
        .map(
          (l) =>
            `<tr><td>${l.t.toFixed(2)}</td><td>${esc(String(l.process))}</td><td>${esc(l.node ?? '?')}</td><td class="l">${esc(l.key)} = ${esc(JSON.stringify(l.value))}</td><td>${esc(l.write)}</td>${l.where ? `<td class="l">${esc(l.where)}</td>` : ''}</tr>`,
        )
        .join('');
      const lostReadsPart = lostReads.length
        ? `<div class="anomaly" data-kind="lost-read"><h4>Reads of lost writes: ${x.readsOfLostWrites ?? lostReads.length}</h4><p>A client read a value whose write is absent from the final state (purple lines on the latency chart). The write was visible before it was safe, and a failover went on without it.</p>${scroll(`<table><tr><th>at s</th><th>client</th><th>served by</th><th class="l">read</th><th>the write's own outcome</th>${lostReads.some((l) => l.where) ? '<th class="l">where the write went (binlogs)</th>' : ''}</tr>${lostReadRows}</table>`)}${lostReads.length > 20 ? `<p class="muted">The first 20 of ${lostReads.length} shown; check.json lists them all.</p>` : ''}</div>`
        : '';
      const anomalies = run.anomalies.length
        ? run.anomalies
            .map(
              (a, j) =>
                `<div class="anomaly" data-kind="${a.kind}"><h4>${esc(a.title)}</h4><p>${esc(a.text)}</p>${svgs.anomalies[i]![j] ? `<figure class="chart" data-chart="anomaly">${svgs.anomalies[i]![j]}<figcaption>${esc(timelineCaption(a))}</figcaption></figure>` : ''}${a.table ? anomalyTable(a.table, new Set(a.ops.map((o) => o.row)).size, a.tableNote) : ''}</div>`,
            )
            .join('\n')
        : '<p class="muted">No anomaly found by the checker.</p>';
      const evidence = x.noLogEvidence?.length
        ? `<p class="anomaly">${x.noLogEvidence.map((n) => `No log evidence for ${esc(n)}.`).join(' ')} Loss is judged ${x.lossEvidence === 'logs' ? 'from the other logs' : 'from the final reads only'}; ${x.lossUnknown} acknowledged write(s) could not be classified.</p>`
        : x.lossEvidence === 'final-reads'
          ? '<p class="muted">No log evidence was kept for this run: loss is judged from the final reads.</p>'
          : `<p class="muted">Log evidence: every node's final log was kept (<code>log-&lt;node&gt;.jsonl</code>). ${x.acked} acknowledged writes classified: ${x.acked - (x.lostAcked ?? 0) - x.lossUnknown} in the final leader's log, ${x.lostAcked ?? 0} lost${x.lossUnknown ? `, ${x.lossUnknown} unknown` : ''}; ${x.infoResolved} indeterminate write(s) resolved from the logs, ${x.infoOpen} still open.</p>`;
      return `<section id="run-${esc(x.mode)}-${x.seed}">
<h3>${esc(x.mode)} · seed ${x.seed} ${x.passed ? '' : '<span class="verdict fail">FAILED</span>'}</h3>
<p class="muted">Nemesis: ${esc(x.nemesis)} · ${x.ops} history lines · files in <code>${esc(x.dir)}/</code>${x.converged ? '' : ' · <b>did not converge after healing</b>'}</p>
${runGate(
  x,
  r.modes.find((m) => m.name === x.mode),
)}
${x.nemesisErrors.length ? `<p class="anomaly">Faults that did not start (this run never saw them): ${x.nemesisErrors.map((e) => esc(e)).join('; ')}.</p>` : ''}
<figure class="chart" data-chart="run">${svgs.runs[i]}</figure>
<p class="muted">Shaded orange: faults. Shaded red: write outages (each failover's, and the longest of the run). Dashed lines: the monitor declaring a leader dead and promoting another; each promotion is labelled needed, needless or need not known (the table below says on what evidence). Latency and ops/s are per ${Number(run.bucketSec.toFixed(2))} s of load. The three charts share one time axis, from the run's start to its last history line or lag sample.</p>
${failovers}
${evidence}
${
  run.lostWritesWhere
    ? `<p>Where the lost acknowledged writes went, by the binlogs (${run.lostWritesWhere.sampled} sampled): ${Object.entries(run.lostWritesWhere.where)
        .map(([w, n]) => `${n} ${esc(w)}`)
        .join('; ')}.</p>`
    : ''
}
${rewound.length ? `<p>Rewound on rejoin (acknowledged or not, discarded by a returning node): ${rewound.map(([n, c]) => `${esc(n)} ${c}`).join(', ')}.</p>` : ''}
${lostReadsPart}
${anomalies}
</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>replab · ${esc(r.suite)} · ${esc(formatTime(r.startedAt))}</title><style>${REPORT_CSS}</style></head>
<body>
<h1>replab: ${esc(r.suite)} ${verdict}</h1>
<p class="muted">${esc(r.description ?? '')}</p>
<p>${timesText(data)} Workload: ${esc(r.workload)}. Suite file: <code>${esc(r.file)}</code>.</p>
${storySection(data)}
<h2>Latency against durability</h2>
<figure class="chart" data-chart="headline">${svgs.headline}</figure>
<p class="muted">Each point is one run (mode × seed). Further right: slower acknowledged writes. Higher: more acknowledged writes lost. Bigger: more operations failed or ended indeterminate.</p>
${data.reads.length ? readsSection(data.reads, svgs.reads) : ''}
<h2>Modes</h2>
<div class="scroll"><table id="modes"><tr><th class="l">mode</th><th class="l">settings</th><th class="l">gate: what was checked (and what was not)</th><th class="l">verdict</th></tr>
${modeRows}</table></div>
<div class="scroll"><table id="mode-figures"><tr><th class="l">mode</th><th>ops/s</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>acked</th><th>lost</th><th>lost (final reads)</th><th>info resolved / open</th><th>linearizable</th><th>split-brain writes</th><th>longest outage ms</th><th>stale reads</th><th>reads of lost writes</th></tr>
${figureRows}</table></div>
<p class="muted"><b>lost</b>: acknowledged writes whose record is absent from the final leader's log, read from the node's data dir after the run (<code>replab wal dump</code>); the gate uses it. Where no log can be read (PostgreSQL) it is the final-read count, marked so. <b>lost (final reads)</b>: a second, independent count from reading every node after healing; it cannot see a lost write that a later write to the same key overwrote. <b>info resolved / open</b>: writes that ended indeterminate (a timeout, a lost connection) and that the logs decide (in the final log: happened; in no log: did not) or leave open.</p>
${svgs.seeds ? seedsSection(r, svgs.seeds, data.runs.length) : ''}
<h2>Runs</h2>
<div class="scroll"><table id="runs"><tr><th class="l">mode</th><th>seed</th><th class="l">nemesis</th><th>ops/s</th><th>p50 ms</th><th>p99 ms</th><th>acked</th><th>lost</th><th>lost (final reads)</th><th>info resolved / open</th><th>recovered</th><th>linearizable</th><th>split-brain</th><th>outage ms</th><th>failed+info</th><th class="l">gate</th></tr>
${runRows}</table></div>
<h2>${svgs.seeds ? 'Failed runs' : 'Each run'}</h2>
${runSections || '<p class="muted">No run failed its gate.</p>'}
<p class="muted">Rebuild this page from the run folder with <code>replab report ${esc('<run dir>')}</code>.</p>
</body></html>
`;
}

/** Many seeds: per mode, how the figures spread over seeds and how many seeds found each anomaly. */
function seedsSection(r: ReportData['results'], svg: string, detailed: number): string {
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : 0;
  };
  const rows = anomalyCounts(r)
    .map((c) => {
      const rs = r.runs.filter((x) => x.mode === c.mode);
      const lost = rs.map((x) => x.lostAcked ?? 0);
      const outage = rs.map((x) => x.outageMs);
      const spread = (xs: number[]) => `${q(xs, 0)} / ${q(xs, 0.5)} / ${q(xs, 0.9)} / ${Math.max(0, ...xs)}`;
      return `<tr class="${c.gateFailed ? 'bad' : ''}"><td class="l">${esc(c.mode)}</td><td>${c.seeds}</td><td>${spread(lost)}</td><td>${spread(outage)}</td><td>${c.lost}</td><td>${measuredText(c.splitBrain)}</td><td>${c.notLinearizable}${c.undecided ? ` (+${c.undecided} undecided)` : ''}</td><td>${c.staleReads}</td><td>${c.lostWriteReads}</td><td>${c.notConverged}</td><td>${c.gateFailed}</td></tr>`;
    })
    .join('\n');
  const failed = r.runs.filter((x) => !x.passed).length;
  return `<h2>Seeds per mode</h2>
<p class="muted">${r.runs.length} runs: each mode's figures across its seeds (min / median / p90 / max), and how many seeds found each kind of anomaly. ${failed ? `The first ${detailed} of the ${failed} failed run(s) are detailed below; every run is in the table above.` : 'No run failed its gate.'}</p>
<figure class="chart" data-chart="seeds">${svg}</figure>
<div class="scroll"><table><tr><th class="l">mode</th><th>seeds</th><th>lost writes (min / med / p90 / max)</th><th>outage ms (min / med / p90 / max)</th><th>seeds with lost writes</th><th>with split brain</th><th>not linearizable</th><th>with stale reads</th><th>with reads of lost writes</th><th>not converged</th><th>gate failed</th></tr>
${rows}</table></div>`;
}

const POLICY_TEXT = (p: string) => (p === 'unspecified' ? '–' : p);

/**
 * The read side per mode: the chart of read latency against staleness, then a table of reads,
 * follower share, the four session guarantees and staleness, and one of reads per serving node.
 */
function readsSection(reads: ModeReads[], svg: string | undefined): string {
  const pctText = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
  const count = (n: number) => `<td${n > 0 ? ' class="hot"' : ''}>${n}</td>`;
  const trio = (q: { p50: number; p99: number; max: number }, d: number) => `<td>${num(q.p50, d)}</td><td>${num(q.p99, d)}</td><td>${num(q.max, d)}</td>`;
  const rows = reads
    .map(
      (m) =>
        `<tr data-mode="${esc(m.mode)}"><td class="l">${esc(m.mode)}</td><td class="l">${m.policies.map((p) => esc(POLICY_TEXT(p))).join(', ')}</td><td>${m.okReads}</td><td>${pctText(m.followerShare)}</td><td>${num(m.readP50Ms)}</td><td>${num(m.readP99Ms)}</td>${count(m.violations['read-your-writes'])}${count(m.violations['monotonic-reads'])}${count(m.violations['monotonic-writes'])}${count(m.violations['writes-follow-reads'])}${trio(m.stale.versions, 0)}${trio(m.stale.ms, 1)}</tr>`,
    )
    .join('\n');
  const nodeRows = reads
    .flatMap((m) =>
      m.nodes.map(
        (n, i) =>
          `<tr data-mode="${esc(m.mode)}" data-node="${esc(n.node)}">${i === 0 ? `<td class="l" rowspan="${m.nodes.length}">${esc(m.mode)}</td>` : ''}<td class="l">${esc(n.node === '?' ? 'not recorded' : n.node)}</td><td>${n.okReads}</td><td>${pctText(n.share)}</td><td>${num(n.stale.versions.p99, 0)}</td><td>${num(n.stale.ms.p99, 1)}</td><td>${num(n.stale.ms.max, 1)}</td></tr>`,
      ),
    )
    .join('\n');
  const manySeeds = reads.some((m) => m.runs > 1);
  const partial = reads.filter((m) => m.runs < m.seeds);
  return `<h2>Reads</h2>
${svg ? `<figure class="chart" data-chart="reads">${svg}</figure>\n<p class="muted">Each point is one mode. Further right: slower reads. Higher: staler reads (how long the version read had already been overwritten by an acknowledged write, or how many such writes it missed). The label gives the share of ok reads that a node other than the leader of the moment served.</p>` : '<p class="muted">No read was judged for staleness, so there is no chart.</p>'}
<div class="scroll"><table id="reads"><tr><th class="l" rowspan="2">mode</th><th class="l" rowspan="2">policy</th><th rowspan="2">ok reads</th><th rowspan="2">from followers</th><th rowspan="2">read p50 ms</th><th rowspan="2">read p99 ms</th><th colspan="4">session-guarantee violations</th><th colspan="3">versions behind</th><th colspan="3">ms behind</th></tr>
<tr><th title="read-your-writes">RYW</th><th title="monotonic reads">MR</th><th title="monotonic writes">MW</th><th title="writes-follow-reads">WFR</th><th>p50</th><th>p99</th><th>max</th><th>p50</th><th>p99</th><th>max</th></tr>
${rows}</table></div>
<p class="muted"><b>${GUARANTEE_ABBR['read-your-writes']}</b> read-your-writes: a read older than the session's own acknowledged write. <b>${GUARANTEE_ABBR['monotonic-reads']}</b> monotonic reads: older than a version the session had read. <b>${GUARANTEE_ABBR['monotonic-writes']}</b> monotonic writes and <b>${GUARANTEE_ABBR['writes-follow-reads']}</b> writes-follow-reads: a write ordered before the session's earlier write, or before a version it had read. Each client is one session. <b>Behind</b>: acknowledged writes to the key, acknowledged before the read was sent, that the version read lacked, and how long the oldest of them had been acknowledged. <b>policy</b>: the routing policy the reads named (–: the workload does not record one in the history).${manySeeds ? ' Counts are sums over seeds; p50 and p99 are the median of the seeds’ own quantiles, max the largest.' : ''}${partial.length ? ` Runs without session results are left out: ${partial.map((m) => `${esc(m.mode)} ${m.runs} of ${m.seeds}`).join(', ')}.` : ''}</p>
<h3>Reads per serving node</h3>
<div class="scroll"><table id="reads-per-node"><tr><th class="l">mode</th><th class="l">node</th><th>ok reads</th><th>share</th><th>versions behind p99</th><th>ms behind p99</th><th>ms behind max</th></tr>
${nodeRows}</table></div>`;
}
