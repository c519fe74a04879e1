/**
 * Session guarantees (Terry et al., 1994, "Session Guarantees for Weakly Consistent Replicated
 * Data"), judged from a history alone, with how stale each read was. Each client `process` is one
 * session; only `read` and `write` ops with a string `key` are looked at (other ops, string
 * processes and nemesis events are ignored).
 *
 * Try it: `checkSessions(PairedHistory.of(await loadHistory('reports/latest/<run>/history.jsonl')))`.
 *
 * Versions. Every written value is unique, so a read's value names the write it returned; `null`
 * names the key's initial, absent state, which precedes every write. A write's position is its
 * `logLsn` (its LSN in the final leader's log, set by the evidence step) when present, else the LSN
 * of its `ok` acknowledgement. LSNs are positions in one log, so positions order writes to all
 * keys, and a key's versions are its writes in position order. "Version g is at least version e"
 * means g is e, or g's position is strictly greater: two different writes at one position (an LSN
 * reused after a rewind) are not ordered, and counting that as "at least" would hide a lost write.
 *
 * The four guarantees, each checked per session against the highest version it requires (one
 * violation per op and guarantee, however many earlier ops required it):
 * - read-your-writes: an ok read returns at least the highest-positioned `ok` write the session
 *   made to that key before it;
 * - monotonic reads: an ok read returns at least the highest version the session read earlier from
 *   that key;
 * - monotonic writes: a write (that may have taken effect) is positioned after every `ok` write the
 *   session made before it, on any key;
 * - writes-follow-reads: a write (that may have taken effect) is positioned after every version the
 *   session read before it, on any key, whoever wrote it.
 * A session is sequential (PairedHistory pairs an invocation with the next completion of its process), so
 * "before" in session order is "completed before this op was invoked". One op may break two
 * guarantees (a read older than both the session's own write and its previous read); it is then
 * counted under each.
 *
 * Decisions:
 * - `fail` writes did not happen: they require nothing and are not judged. `info` and pending
 *   writes may have happened: they require nothing of later ops (the session was never told they
 *   took effect), and they are judged as the later write of monotonic writes and writes-follow-reads
 *   only when they have a position (`logLsn`: the final leader's log holds them). A write without a
 *   position, or a read returning one (which proves that write happened, and is counted), cannot be
 *   ordered and is skipped rather than guessed at.
 * - A read whose value no write wrote, or only a `fail` write wrote, is an anomaly of the history
 *   (the linearizability and evidence checks own those), counted apart and not judged here. So is a
 *   value written twice (values are meant to be unique; the first write keeps the name).
 * - Keys with a `delete` are not judged on reads of `null`: null would not name one version there.
 *
 * Staleness, per judged ok read:
 * - versions behind: `ok` writes to the key acknowledged before the read was invoked and positioned
 *   after the version it returned;
 * - ms behind: read invocation time − the acknowledgement time of the earliest such write (0 when
 *   not behind). Acknowledgement time is a conservative stand-in for when the leader applied the
 *   overwrite (it applies before acknowledging), so this under-states staleness; pass
 *   `overwrittenAtNs` (e.g. apply times from the servers' logs) to refine it.
 * Both are computed with per-key Fenwick trees over version ranks, swept in history order:
 * O(n log n) for n ops.
 *
 * Known gaps: writes without any LSN (systems whose acknowledgements carry none) cannot be
 * ordered, so such histories are not judged; the served `lsn` and the `token` are reported, not
 * checked against each other.
 */
import { type ClientOp, type ClientPair, isClientPair, type Op, type PairedHistory } from '../history/op.js';

export type SessionGuarantee = 'read-your-writes' | 'monotonic-reads' | 'monotonic-writes' | 'writes-follow-reads';
export const SESSION_GUARANTEES: readonly SessionGuarantee[] = ['read-your-writes', 'monotonic-reads', 'monotonic-writes', 'writes-follow-reads'];

export interface SessionCheckOptions {
  /**
   * When the leader applied a write (ns since the run started, like `time`), if known; given the
   * write's invocation. Refines "ms behind", which otherwise uses the acknowledgement time.
   */
  overwrittenAtNs?: (write: Op) => number | undefined;
  /** Violations listed in the result (all are counted). @default 50 */
  maxViolations?: number;
}

/** One version of a key: a write, or the key's initial state (`value` null, `lsn` and `index` null). */
export interface VersionRef {
  key: string;
  value: unknown;
  /** The write's position (logLsn, else its acknowledged LSN). */
  lsn: number | null;
  /** The index of the write's invocation. */
  index: number | null;
}

export interface SessionViolation {
  kind: SessionGuarantee;
  session: number;
  f: 'read' | 'write';
  key: string;
  /** The violating op's invocation: its index and time (ns since the run started). */
  index: number;
  time: number;
  /** The node that served the read or acknowledged the write (null when the completion names none). */
  node: string | null;
  policy: string | null;
  /** The session token sent with the read (null for writes and reads sent without one). */
  token: number | null;
  /** For a read, the LSN the serving node had applied when it answered. */
  servedLsn: number | null;
  /** The version required at least, and the index of the session's earlier op that required it. */
  expected: VersionRef;
  requiredBy: number;
  /** The version the read returned, or the write itself. */
  got: VersionRef;
}

export interface Quantiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface StalenessSummary {
  /** Judged ok reads (their version could be placed). */
  judged: number;
  /** Of those, reads at least one version behind. */
  behind: number;
  versionsBehind: Quantiles;
  msBehind: Quantiles;
}

export interface SessionCheckResult {
  sessions: number;
  /** Ok reads, and those judged (returning the initial state or a positioned write). */
  okReads: number;
  readsJudged: number;
  /** Ok reads returning a write that happened but has no position (not judged). */
  readsUnordered: number;
  /** Writes invoked, and those judged as the later write (not `fail`, and positioned). */
  writes: number;
  writesJudged: number;
  /** Writes that may have happened (ok, info, pending) without a position. */
  writesUnpositioned: number;
  /** `info` or pending writes that some read returned: they happened. */
  infoWritesSeen: number;
  violations: Record<SessionGuarantee, number>;
  /** The first violations in history order (at most `maxViolations`). */
  violationList: SessionViolation[];
  /** Not session violations: reads naming no write, or a failed one; values written twice. */
  anomalies: {
    unknownValue: number;
    failedWriteValue: number;
    duplicateValue: number;
    examples: Array<{ index: number; session: number; key: string; value: unknown; node: string | null; why: 'unknown-value' | 'failed-write-value' }>;
  };
  staleness: StalenessSummary;
  /** Per routing policy (the read's `policy`; "unspecified" without one), with its violations. */
  perPolicy: Record<string, StalenessSummary & { okReads: number; violations: number }>;
  /** Per serving node ("?" when the read names none), with its share of all ok reads. */
  perNode: Record<string, StalenessSummary & { okReads: number; share: number }>;
}

const NS_PER_MS = 1e6;
const MAX_EXAMPLES = 10;
const NO_POLICY = 'unspecified';

/** A write of the history, with what the checker knows of it. */
interface Write {
  pair: ClientPair;
  key: string;
  value: unknown;
  status: 'ok' | 'info' | 'fail';
  /** Log position, when known (undefined: cannot be ordered). */
  pos: number | undefined;
  /** 1-based rank among the key's positioned ok writes (0 for others). */
  rank: number;
}

/** A version as the sessions see it; `write` null is the initial state. */
interface Version {
  key: string;
  write: Write | null;
  pos: number;
}

/** What a session has been promised: the highest version, and the op that promised it. */
interface Floor {
  version: Version;
  since: ClientOp;
}

interface SessionState {
  ownWrites: Map<string, Floor>;
  reads: Map<string, Floor>;
  lastWrite: Floor | undefined;
  lastRead: Floor | undefined;
}

/** Checks the four session guarantees and measures read staleness; see the module comment. */
export function checkSessions(history: PairedHistory, options: SessionCheckOptions = {}): SessionCheckResult {
  const { pairs } = history;
  const relevant = pairs.filter(
    (p): p is ClientPair => isClientPair(p) && (p.invoke.f === 'read' || p.invoke.f === 'write') && typeof p.invoke.key === 'string',
  );
  const catalog = catalogWrites(relevant, history.ops);
  const writeAt = catalog.writeAt;
  const orders = buildKeyOrders(catalog.writes);
  const acks = catalog.writes.filter((w) => w.status === 'ok' && w.rank > 0).sort((a, b) => a.pair.completePos! - b.pair.completePos!);
  const judge = new Judge(options.maxViolations ?? 50, catalog);
  let nextAck = 0;
  for (let i = 0; i < relevant.length; i++) {
    const p = relevant[i]!;
    // Every write acknowledged before this invocation counts against the reads invoked from here on.
    while (nextAck < acks.length && acks[nextAck]!.pair.completePos! < p.invokePos) {
      const w = acks[nextAck++]!;
      orders.get(w.key)!.add(w.rank, options.overwrittenAtNs?.(w.pair.invoke) ?? w.pair.complete!.time);
    }
    const session = judge.session(p.invoke.process);
    if (p.invoke.f === 'write') judge.write(session, writeAt[i]!);
    else if (p.complete?.type === 'ok') judge.read(session, p, orders);
  }
  return judge.result();
}

interface Catalog {
  writes: Write[];
  /** Each relevant op's write, by its place among the relevant ops (undefined for reads). */
  writeAt: Array<Write | undefined>;
  /** key → value name (valueName) → the first write that wrote it. */
  byValue: Map<string, Map<unknown, Write>>;
  deletedKeys: Set<string>;
  duplicateValue: number;
}

function catalogWrites(relevant: ClientPair[], history: readonly Op[]): Catalog {
  const c: Catalog = { writes: [], writeAt: new Array(relevant.length), byValue: new Map(), deletedKeys: new Set(), duplicateValue: 0 };
  for (const op of history) if (op.f === 'delete' && op.type === 'invoke' && typeof op.key === 'string') c.deletedKeys.add(op.key);
  for (let i = 0; i < relevant.length; i++) {
    const p = relevant[i]!;
    if (p.invoke.f !== 'write') continue;
    const key = p.invoke.key!;
    const done = p.complete?.type;
    const status = done === 'ok' || done === 'fail' ? done : 'info';
    const w: Write = { pair: p, key, value: p.invoke.value, status, pos: status === 'fail' ? undefined : positionOf(p), rank: 0 };
    c.writes.push(w);
    c.writeAt[i] = w;
    const values = bucket(c.byValue, key, newValueNames);
    const name = valueName(w.value);
    if (values.has(name)) c.duplicateValue++;
    else values.set(name, w);
  }
  return c;
}

/** logLsn (from either event) is authoritative; otherwise the LSN an ok acknowledgement carried. */
function positionOf(p: ClientPair): number | undefined {
  const logLsn = p.invoke.logLsn ?? p.complete?.logLsn;
  if (typeof logLsn === 'number') return logLsn;
  return p.complete?.type === 'ok' && typeof p.complete.lsn === 'number' ? p.complete.lsn : undefined;
}

/**
 * A map key naming a value: strings, numbers, booleans and null as they are (a Map tells 1 from
 * "1"; no copy, no serialising at millions of writes), arrays and objects as JSON behind a NUL no
 * string value starts with in practice.
 */
function valueName(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? `\u0000${JSON.stringify(v)}` : v;
}

/**
 * One key's positioned ok writes in position order, and a Fenwick tree over them (reversed, so a
 * prefix is "positioned after rank r") holding which are acknowledged so far and the earliest
 * overwrite time among them.
 */
class KeyOrder {
  readonly positions: number[];
  private readonly count: Int32Array;
  private readonly earliest: Float64Array;
  constructor(writes: Write[]) {
    writes.sort((a, b) => a.pos! - b.pos!);
    writes.forEach((w, i) => {
      w.rank = i + 1;
    });
    this.positions = writes.map((w) => w.pos!);
    this.count = new Int32Array(writes.length + 1);
    this.earliest = new Float64Array(writes.length + 1).fill(Number.POSITIVE_INFINITY);
  }
  add(rank: number, timeNs: number): void {
    for (let j = this.positions.length - rank + 1; j < this.count.length; j += j & -j) {
      this.count[j]!++;
      if (timeNs < this.earliest[j]!) this.earliest[j] = timeNs;
    }
  }
  /** Acknowledged writes positioned after `pos`, and the earliest time one of them overwrote it. */
  after(pos: number): { count: number; earliestNs: number } {
    let count = 0;
    let earliestNs = Number.POSITIVE_INFINITY;
    for (let j = this.positions.length - upperBound(this.positions, pos); j > 0; j -= j & -j) {
      count += this.count[j]!;
      if (this.earliest[j]! < earliestNs) earliestNs = this.earliest[j]!;
    }
    return { count, earliestNs };
  }
}

/** How many of `sorted` (ascending) are at most `value`. */
function upperBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function buildKeyOrders(writes: Write[]): Map<string, KeyOrder> {
  const byKey = new Map<string, Write[]>();
  for (const w of writes) {
    if (!byKey.has(w.key)) byKey.set(w.key, []);
    if (w.status === 'ok' && w.pos !== undefined) byKey.get(w.key)!.push(w);
  }
  return new Map([...byKey].map(([key, ws]) => [key, new KeyOrder(ws)]));
}

/** g is at least e: the same version, or one positioned strictly after it. */
function atLeast(g: Version, e: Version): boolean {
  return g.write === e.write || g.pos > e.pos;
}

function higher(floor: Floor | undefined, v: Version, since: ClientOp): Floor {
  return floor && floor.version.pos >= v.pos ? floor : { version: v, since };
}

interface Samples {
  versions: number[];
  ms: number[];
}

type PolicySamples = Samples & { okReads: number; violations: number };
type NodeSamples = Samples & { okReads: number };

// Made once per session, policy or node, so the per-op path allocates no closures.
const newValueNames = (): Map<unknown, Write> => new Map();
const newSession = (): SessionState => ({ ownWrites: new Map(), reads: new Map(), lastWrite: undefined, lastRead: undefined });
const newPolicySamples = (): PolicySamples => ({ versions: [], ms: [], okReads: 0, violations: 0 });
const newNodeSamples = (): NodeSamples => ({ versions: [], ms: [], okReads: 0 });

function record(s: Samples, versions: number, ms: number): void {
  s.versions.push(versions);
  s.ms.push(ms);
}

/** Accumulates judgements in history order and builds the result. */
class Judge {
  private readonly sessions = new Map<number, SessionState>();
  private readonly counts: Record<SessionGuarantee, number> = {
    'read-your-writes': 0,
    'monotonic-reads': 0,
    'monotonic-writes': 0,
    'writes-follow-reads': 0,
  };
  private readonly listed: SessionViolation[] = [];
  private readonly examples: SessionCheckResult['anomalies']['examples'] = [];
  private readonly seenInfo = new Set<Write>();
  private readonly all: Samples = { versions: [], ms: [] };
  private readonly byPolicy = new Map<string, PolicySamples>();
  private readonly byNode = new Map<string, NodeSamples>();
  private okReads = 0;
  private readsJudged = 0;
  private readsUnordered = 0;
  private writesJudged = 0;
  private unknownValue = 0;
  private failedWriteValue = 0;

  constructor(
    private readonly maxViolations: number,
    private readonly catalog: Catalog,
  ) {}

  session(process: number): SessionState {
    return bucket(this.sessions, process, newSession);
  }

  write(s: SessionState, w: Write): void {
    if (w.status === 'fail' || w.pos === undefined) return;
    this.writesJudged++;
    const v: Version = { key: w.key, write: w, pos: w.pos };
    const op = w.pair.invoke;
    if (s.lastWrite && !atLeast(v, s.lastWrite.version)) this.violation('monotonic-writes', op, w.pair.complete, s.lastWrite, v);
    if (s.lastRead && !atLeast(v, s.lastRead.version)) this.violation('writes-follow-reads', op, w.pair.complete, s.lastRead, v);
    // Only an acknowledged write is a promise to the session; info writes may not have happened.
    if (w.status !== 'ok') return;
    s.lastWrite = higher(s.lastWrite, v, op);
    s.ownWrites.set(w.key, higher(s.ownWrites.get(w.key), v, op));
  }

  read(s: SessionState, p: ClientPair, orders: Map<string, KeyOrder>): void {
    const op = p.invoke;
    const done = p.complete!;
    const key = op.key!;
    const policy = typeof op.policy === 'string' ? op.policy : NO_POLICY;
    const node = done.node ?? '?';
    this.okReads++;
    const pol = this.policy(policy);
    const nod = bucket(this.byNode, node, newNodeSamples);
    pol.okReads++;
    nod.okReads++;
    const v = this.versionRead(p, key);
    if (!v) return;
    this.readsJudged++;
    if (s.ownWrites.has(key) && !atLeast(v, s.ownWrites.get(key)!.version)) this.violation('read-your-writes', op, done, s.ownWrites.get(key)!, v);
    if (s.reads.has(key) && !atLeast(v, s.reads.get(key)!.version)) this.violation('monotonic-reads', op, done, s.reads.get(key)!, v);
    s.reads.set(key, higher(s.reads.get(key), v, op));
    s.lastRead = higher(s.lastRead, v, op);
    const behind = orders.get(key)?.after(v.pos) ?? { count: 0, earliestNs: Number.POSITIVE_INFINITY };
    const ms = behind.count > 0 ? Math.max(0, (op.time - behind.earliestNs) / NS_PER_MS) : 0;
    record(this.all, behind.count, ms);
    record(pol, behind.count, ms);
    record(nod, behind.count, ms);
  }

  /** The version an ok read returned, or undefined (counted) when it cannot be placed. */
  private versionRead(p: ClientPair, key: string): Version | undefined {
    const value = p.complete!.value;
    if (value === null || value === undefined) {
      if (!this.catalog.deletedKeys.has(key)) return { key, write: null, pos: Number.NEGATIVE_INFINITY };
      this.readsUnordered++;
      return undefined;
    }
    const w = this.catalog.byValue.get(key)?.get(valueName(value));
    if (!w || w.status === 'fail') {
      if (w) this.failedWriteValue++;
      else this.unknownValue++;
      if (this.examples.length < MAX_EXAMPLES)
        this.examples.push({
          index: p.invoke.index,
          session: p.invoke.process,
          key,
          value,
          node: p.complete!.node ?? null,
          why: w ? 'failed-write-value' : 'unknown-value',
        });
      return undefined;
    }
    if (w.status === 'info') this.seenInfo.add(w);
    if (w.pos === undefined) {
      this.readsUnordered++;
      return undefined;
    }
    return { key, write: w, pos: w.pos };
  }

  private policy(name: string): PolicySamples {
    return bucket(this.byPolicy, name, newPolicySamples);
  }

  private violation(kind: SessionGuarantee, op: ClientOp, done: ClientOp | undefined, floor: Floor, got: Version): void {
    this.counts[kind]++;
    const policy = typeof op.policy === 'string' ? op.policy : null;
    this.policy(policy ?? NO_POLICY).violations++;
    if (this.listed.length >= this.maxViolations) return;
    this.listed.push({
      kind,
      session: op.process,
      f: op.f === 'read' ? 'read' : 'write',
      key: op.key!,
      index: op.index,
      time: op.time,
      node: done?.node ?? null,
      policy,
      token: typeof op.token === 'number' ? op.token : null,
      servedLsn: op.f === 'read' && typeof done?.lsn === 'number' ? done.lsn : null,
      expected: ref(floor.version),
      requiredBy: floor.since.index,
      got: ref(got),
    });
  }

  result(): SessionCheckResult {
    const writes = this.catalog.writes;
    const perPolicy: SessionCheckResult['perPolicy'] = {};
    for (const [name, b] of this.byPolicy) perPolicy[name] = { ...summarise(b), okReads: b.okReads, violations: b.violations };
    const perNode: SessionCheckResult['perNode'] = {};
    for (const [name, b] of this.byNode) perNode[name] = { ...summarise(b), okReads: b.okReads, share: b.okReads / this.okReads };
    return {
      sessions: this.sessions.size,
      okReads: this.okReads,
      readsJudged: this.readsJudged,
      readsUnordered: this.readsUnordered,
      writes: writes.length,
      writesJudged: this.writesJudged,
      writesUnpositioned: writes.filter((w) => w.status !== 'fail' && w.pos === undefined).length,
      infoWritesSeen: this.seenInfo.size,
      violations: { ...this.counts },
      violationList: this.listed,
      anomalies: {
        unknownValue: this.unknownValue,
        failedWriteValue: this.failedWriteValue,
        duplicateValue: this.catalog.duplicateValue,
        examples: this.examples,
      },
      staleness: summarise(this.all),
      perPolicy,
      perNode,
    };
  }
}

/** The entry for `name`, made on first use. */
function bucket<K, T>(m: Map<K, T>, name: K, make: () => T): T {
  const found = m.get(name);
  if (found !== undefined) return found;
  const made = make();
  m.set(name, made);
  return made;
}

function ref(v: Version): VersionRef {
  return v.write
    ? { key: v.key, value: v.write.value, lsn: v.write.pos ?? null, index: v.write.pair.invoke.index }
    : { key: v.key, value: null, lsn: null, index: null };
}

function summarise(s: Samples): StalenessSummary {
  return {
    judged: s.versions.length,
    behind: s.versions.filter((n) => n > 0).length,
    versionsBehind: distribution(s.versions),
    msBehind: distribution(s.ms),
  };
}

/** Nearest-rank quantiles (the same rank rule as stale.ts), sorted as a typed array: no comparator calls. */
function distribution(xs: number[]): Quantiles {
  if (xs.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = new Float64Array(xs).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1]! };
}
