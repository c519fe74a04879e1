/**
 * "What happened", per mode, in one sentence each, for the top of the report: how many
 * acknowledged writes were lost and where they went (from each run's log evidence), then the other
 * anomalies and the longest write outage. Pure: it reads results.json's figures and the run data.
 */
import type { RunResult } from '../suite/results.js';
import type { ModeStory, RunData, Window } from './model.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** "2.0%", "0.06%": two significant digits below 1%, so a small loss does not read as 0.0%. */
export function percent(part: number, whole: number): string {
  if (whole <= 0) return '–';
  const p = (100 * part) / whole;
  return `${p >= 1 ? p.toFixed(1) : Number(p.toPrecision(2))}%`;
}

/** "the partition of n1 at 13 s", "the kill of n2 at 4 s", "the disk-full at 6 s". */
export function faultPhrase(f: Window): string {
  return `the ${f.fault}${f.nodes.length ? ` of ${f.nodes.join(', ')}` : ''} at ${Math.round(f.from)} s`;
}

/** Where a lost write's record went, as a class: "rewound by n2", "left only in n1's log", "in no node's log". */
export function whereClass(where: string): string {
  const rewound = /^rewound by (\S+)/.exec(where);
  if (rewound) return `rewound by ${rewound[1]}`;
  const only = /^only in (\S+)'s log/.exec(where);
  if (only) return `left only in ${only[1]}'s log`;
  return "in no node's log";
}

/** Counts of equal phrases, largest first. */
function counts(items: string[]): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]);
}

/** "all rewound by n2" (or "rewound by n2" for one), "30 rewound by n2, 4 in no node's log". */
function tally(items: string[]): string {
  const c = counts(items);
  if (c.length === 1) return `${items.length === 1 ? '' : 'all '}${c[0]![0]}`;
  return c.map(([k, n]) => `${n} ${k}`).join(', ');
}

/**
 * When lost writes were acknowledged, against the run's faults: during a fault's window, or after
 * the last one that started before it. Only said for a single run (seeds have their own times).
 */
function when(run: RunData): string[] {
  return run.lostWrites.map((w) => {
    const during = run.faults.find((f) => f.from <= w.at && w.at <= f.to);
    if (during) return `during ${faultPhrase(during)}`;
    const before = run.faults.filter((f) => f.from <= w.at).at(-1);
    return before ? `after ${faultPhrase(before)}` : 'before any fault';
  });
}

function lossSentence(mode: string, results: RunResult[], runs: RunData[]): string {
  const lost = results.reduce((a, r) => a + (r.lostAcked ?? 0), 0);
  const acked = results.reduce((a, r) => a + r.acked, 0);
  const seeds = results.length > 1 ? ` over ${results.length} seeds` : '';
  if (results.every((r) => r.lostAcked === null)) return `${mode}: loss not judged (no evidence)`;
  if (lost === 0) return `${mode} lost no acknowledged write${seeds}`;
  const withLoss = results.filter((r) => (r.lostAcked ?? 0) > 0).length;
  const head = `${mode} lost ${plural(lost, 'acknowledged write')} (${percent(lost, acked)} of ${acked.toLocaleString('en-US')})${seeds}${results.length > 1 ? `, in ${withLoss} of them` : ''}`;
  const writes = runs.flatMap((r) => r.lostWrites);
  if (!writes.length) return `${head}, counted by the final reads (no node's log says where they went)`;
  // Who acknowledged them and when, in one phrase when they agree ("all acknowledged by n2 at epoch 2 during the partition of n1 at 13 s").
  const who = counts(writes.map((w) => `${w.node ?? 'an unknown node'}${w.epoch === null ? '' : ` at epoch ${w.epoch}`}`));
  const timing = runs.length === 1 ? counts(when(runs[0]!)) : [];
  const all = writes.length === 1 ? '' : 'all ';
  const whoText = who.length === 1 ? `${all}acknowledged by ${who[0]![0]}` : `acknowledged by ${who.map(([k, n]) => `${k} (${n})`).join(', ')}`;
  const whenText = timing.length === 1 ? ` ${timing[0]![0]}` : timing.length > 1 ? ` (${timing.map(([k, n]) => `${n} ${k}`).join(', ')})` : '';
  const where = tally(writes.map((w) => whereClass(w.where)));
  const unlisted = writes.length < lost ? ` (${writes.length} of them listed)` : '';
  return `${head}: ${whoText}${whenText}, ${where}${unlisted}`;
}

/** The other anomalies and the outage, as short clauses. */
function otherClauses(results: RunResult[]): string[] {
  const sum = (f: (r: RunResult) => number | null) => results.reduce((a, r) => a + (f(r) ?? 0), 0);
  const out: string[] = [];
  const sb = sum((r) => r.splitBrainWrites);
  if (sb) out.push(`${plural(sb, 'write')} acknowledged by a superseded leader (split brain)`);
  const notLin = results.filter((r) => r.linearizable === false).length;
  const unknown = results.filter((r) => r.linearizable === 'unknown').length;
  if (notLin) out.push(results.length > 1 ? `not linearizable in ${notLin} of ${results.length} runs` : 'not linearizable');
  else if (unknown) out.push(`linearizability undecided in ${unknown} run(s)`);
  else if (results.every((r) => r.linearizable === true)) out.push('linearizable');
  const stale = sum((r) => r.staleReads);
  if (stale) out.push(plural(stale, 'stale read'));
  const session = sum((r) => r.sessionViolations);
  if (session) out.push(plural(session, 'session-guarantee violation'));
  const outage = Math.max(0, ...results.map((r) => r.outageMs));
  if (outage > 0) out.push(`longest write outage ${outage >= 1000 ? `${(outage / 1000).toFixed(1)} s` : `${Math.round(outage)} ms`}`);
  const unconverged = results.filter((r) => !r.converged).length;
  if (unconverged) out.push(`${unconverged === results.length ? 'did not' : `${unconverged} run(s) did not`} converge after healing`);
  return out;
}

/** "seconds" from ms, to one decimal: "1.2 s". */
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The failovers of a mode's runs, each judged needed or needless (detection.ts), and how long the
 * old leaders were unreachable before theirs began: "3 failovers: 1 needed, 2 needless; leaders
 * unreachable 1.1–3.2 s before each". Null without failovers.
 */
export function failoverClause(runs: Array<Pick<RunData, 'failovers'>>): string | null {
  const all = runs.flatMap((r) => r.failovers);
  if (!all.length) return null;
  const needed = all.filter((f) => f.need === 'needed').length;
  const needless = all.filter((f) => f.need === 'needless').length;
  const unknown = all.length - needed - needless;
  const one = all.length === 1;
  const parts = [needed ? `${needed} needed` : '', needless ? `${needless} needless` : '', unknown ? `${unknown} not known whether needed` : ''].filter(
    Boolean,
  );
  const judged = one ? (unknown ? 'not known whether needed' : needed ? 'needed' : 'needless') : parts.join(', ');
  const known = all.flatMap((f) => (f.unreachableMs === null ? [] : [f.unreachableMs]));
  let unreachable: string;
  if (known.length) {
    const lo = Math.min(...known);
    const hi = Math.max(...known);
    const span = lo === hi ? secs(lo) : `${secs(lo)}–${secs(hi)}`;
    const each = one ? 'it' : known.length === all.length ? 'each' : `${known.length} of them`;
    unreachable = `, the leader unreachable ${span} before ${each} began`;
  } else unreachable = one ? ', and how long the leader was unreachable is not known' : ', and how long the leaders were unreachable is not known';
  return `${one ? '1 failover' : `${plural(all.length, 'failover')}:`} ${judged}${unreachable}`;
}

/** One story per mode of the suite, in the suite's order, over all its runs (also those a grouped report does not detail). */
export function whatHappened(modes: Array<{ name: string; control: boolean }>, results: RunResult[], runs: RunData[], noRuns = 'no runs'): ModeStory[] {
  return modes.map((m) => {
    const rs = results.filter((r) => r.mode === m.name);
    // A mode that did not run here (another shard's) has no story: "linearizable" would be invented.
    if (rs.length === 0) return { mode: m.name, control: m.control, passed: true, text: `${m.name}: ${noRuns}.` };
    const data = runs.filter((r) => r.result.mode === m.name);
    const failovers = failoverClause(data);
    const clauses = [lossSentence(m.name, rs, data), ...otherClauses(rs), ...(failovers ? [failovers] : [])];
    return { mode: m.name, control: m.control, passed: rs.every((r) => r.passed), text: `${clauses.join('; ')}.` };
  });
}
