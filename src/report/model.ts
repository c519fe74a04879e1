/**
 * The shapes of what the report shows: read from a run folder by data.ts, told in words by
 * story.ts, drawn by charts.ts and laid out by html.ts. Types only, so each of those modules can
 * depend on them without depending on one another.
 */
import type { CheckFile } from '../checker/check-file.js';
import type { SessionGuarantee } from '../checker/session.js';
import type { RunResult, SuiteResults } from '../suite/results.js';

export interface TimePoint {
  t: number;
  [series: string]: number | string | null;
}

/** A failover's judgement (src/report/detection.ts): "not known" when the run folder cannot tell. */
export type FailoverNeed = 'needed' | 'needless' | 'not known';

export interface Window {
  fault: string;
  from: number;
  to: number;
  detail: string;
  /** The nodes it hit (killed, paused, cut off), when the nemesis recorded them. */
  nodes: string[];
  /** The links it acted on (`client:n1`, `monitor:n1`, …), when the nemesis recorded them. */
  links?: string[];
}

export interface TimelineOp {
  /**
   * The op's row on the timeline: its own (unique within an anomaly) so labels never overlap, or
   * one shared on purpose (a session violation puts the op that set the bar and the op that fell
   * below it on one row).
   */
  row: string;
  process: string;
  from: number;
  to: number;
  type: string;
  label: string;
  focus: boolean;
  /** Colour group (e.g. which node and epoch acknowledged it). */
  group?: string;
  /** Where its record went, for lost and split-brain writes; the serving node and its lag, for session violations. */
  where?: string;
  /** A few words written beside the op on the timeline (the serving node and its lag). */
  note?: string;
}

export interface Anomaly {
  kind: 'non-linearizable' | 'lost' | 'split-brain' | 'session';
  title: string;
  text: string;
  /** Ops on a timeline (seconds since start), one row each. */
  ops: TimelineOp[];
  /** The same ops as a table (every one, also those the timeline leaves out). */
  table?: { header: string[]; rows: string[][] };
  /** The table's footnote when it does not hold every case (the checker lists only the first ones). */
  tableNote?: string;
  /** Tooltip titles of an op's group and where, when they mean something else than for lost writes. */
  tooltipTitles?: { group: string; where: string };
  /** Fixed colours per group, where the groups are roles rather than nodes. */
  groupColors?: Record<string, string>;
}

/** Staleness of reads: versions of its key a read missed, and for how long (ms) it had been overwritten. */
export interface StaleFigures {
  /** Reads whose version could be placed (session.ts `judged`). */
  judged: number;
  versions: { p50: number; p99: number; max: number };
  ms: { p50: number; p99: number; max: number };
}

/** One node's share of a mode's ok reads. */
export interface ReadNode {
  node: string;
  okReads: number;
  share: number;
  stale: StaleFigures;
}

/**
 * The read side of one mode, over its seeds: counts are sums, max is the max, and p50/p99 are the
 * median over seeds of each seed's quantile (quantiles of different runs cannot be merged).
 */
export interface ModeReads {
  mode: string;
  /** Runs of the mode with session results, out of `seeds`. */
  runs: number;
  seeds: number;
  /** Routing policies the reads named ("unspecified" when the workload records none). */
  policies: string[];
  okReads: number;
  followerShare: number | null;
  readP50Ms: number | null;
  readP99Ms: number | null;
  violations: Record<SessionGuarantee, number>;
  stale: StaleFigures;
  nodes: ReadNode[];
}

export interface RunData {
  result: RunResult;
  /** Seconds since the run's start that every chart of the run spans, so fault shading lines up across them. */
  timeDomain: [number, number];
  /** When the run started on the clock (run.json), null when not recorded. */
  startedAtMs: number | null;
  /** The length of the latency and throughput buckets (seconds). */
  bucketSec: number;
  /** When the clients ran (seconds), null without client ops. */
  load: { from: number; to: number } | null;
  latency: TimePoint[];
  throughput: TimePoint[];
  lag: TimePoint[];
  faults: Window[];
  events: Array<{ t: number; event: string; detail: string }>;
  outage: { from: number; to: number } | null;
  /** Per failover: the gap between acknowledged writes around the promotion (seconds). */
  outages: Array<{ from: number; to: number; node: string }>;
  anomalies: Anomaly[];
  rewound: Record<string, number>;
  /**
   * Per promotion: its figures, when it was recorded (seconds), the old leader, how long that was
   * unreachable before the failover began (null: the event does not say), and whether the
   * failover was needed, with the evidence (src/report/detection.ts).
   */
  failovers: Array<{
    node: string;
    /** A figure the system's event did not give (Patroni, Sentinel: no epoch or timings) is null. */
    epoch: number | null;
    detectionMs: number | null;
    promotionMs: number | null;
    outageMs: number | null;
    at: number;
    from: string | null;
    unreachableMs: number | null;
    need: FailoverNeed;
    why: string;
  }>;
  /** Each acknowledged write the logs show lost: when it was acknowledged (seconds), by whom, and where its record went. */
  lostWrites: Array<{ at: number; node: string | null; epoch: number | null; where: string }>;
  /** Reads that returned a write the final state lacks: when (seconds), which client, from which node, what. */
  lostReads?: Array<{ t: number; process: number | string; node: string | null; key: string; value: unknown; write: string; where?: string }>;
  /** MariaDB runs: where the sampled lost acknowledged writes went, by the binlogs (where → how many). */
  lostWritesWhere?: { sampled: number; where: Record<string, number> };
  /** The session checker's and read placement's results, when the run was checked for them. */
  sessions?: SessionsCheck;
  readPlacement?: PlacementCheck;
}

export type SessionsCheck = Exclude<NonNullable<CheckFile['sessions']>, { crashed: true }>;
export type PlacementCheck = Exclude<NonNullable<CheckFile['readPlacement']>, { crashed: true }>;

/** "What happened" in one mode, over its seeds. */
export interface ModeStory {
  mode: string;
  control: boolean;
  passed: boolean;
  /** Plain text, one sentence (or two): the report escapes it. */
  text: string;
}

export interface ReportData {
  results: SuiteResults;
  runs: RunData[];
  /** Per mode whose runs made ok reads (as the session checker counts them); empty when none did (no read section then). */
  reads: ModeReads[];
  /** "What happened", one sentence per mode, over every run. */
  story: ModeStory[];
  /** The median wall time of a run (ms), from each run's start to the next one's (the last: to the suite's end); null when unknown. */
  runWallMs: number | null;
}
