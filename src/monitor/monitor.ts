/**
 * The monitor (`replab monitor`), in the role Patroni or Orchestrator play: every `heartbeatMs` it
 * renews the leader's lease (which doubles as the leader's health check) and probes every other
 * node. After `failoverTimeoutMs` without a good answer from the leader it fails over:
 *
 *   1. stop renewing (renewals stop `leaseMs` before the timeout, so the old lease has run out);
 *   2. probe the followers and choose one (candidate.ts), or say why none qualifies and retry;
 *   3. persist epoch = highest ever seen + 1, then promote the chosen follower with that epoch;
 *   4. repoint every other node, relays and the old leader included, at the new leader (the
 *      reconcile step keeps doing so until each one streams from the right place).
 *
 * Each step is an event with a wall-clock time (events.jsonl and the log), so a report can show
 * detection time, promotion time and, from the history, the first acknowledged write after it.
 * A planned switchover fences the leader, waits for the target to hold everything, then promotes.
 */

import { performance } from 'node:perf_hooks';
import { type LeaseAnchor, leaseHoldMs, leaseWaitMs } from '../kv/node/lease.js';
import { shortOf } from '../kv/node/status.js';
import { EnvironmentError, toError, UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { waitFor } from '../lib/wait.js';
import type { FailoverState, MonitorView, SwitchoverAnswer } from './api-types.js';
import { type Choice, chooseCandidate, type NodeView } from './candidate.js';
import type { MonitorConfig } from './config.js';
import { NodeApi, type ShortStatus } from './node-api.js';
import { appendEvent, type MonitorEvent, type MonitorState, readMonitorState, writeMonitorState } from './state.js';

interface Probe {
  at: number;
  ok: boolean;
  status?: ShortStatus;
  error?: string;
}

export type { FailoverState };

const RECENT_EVENTS = 200;

/** The old leader as it answered at its own address when its failover began (the `promoted` event's `oldLeader`). */
type OldLeaderFacts = { answered: true; role: string; epoch: number; leaseValid: boolean } | { answered: false; error: string };

export class Monitor {
  state!: MonitorState;
  readonly events: MonitorEvent[] = [];
  failover: FailoverState = { state: 'healthy' };
  private readonly api: NodeApi;
  private readonly probes = new Map<string, Probe>();
  private lastLeaderOkAt = Date.now();
  /** Each node's newest lease anchor (kv/node/lease.ts) and when it arrived, on this monitor's monotonic clock. */
  private readonly anchors = new Map<string, { anchor: LeaseAnchor; receivedAt: number }>();
  /**
   * This monitor's monotonic reading after which no lease it granted can still hold on a node whose
   * clock rate stays within maxClockDrift: each grant moves it to the anchor's receipt + leaseWaitMs.
   */
  private leasesEndAt = 0;
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking: Promise<void> | undefined;

  constructor(
    readonly config: MonitorConfig,
    private readonly stateDir: string,
    token: string,
    private readonly log: Logger,
    /** How it reaches the nodes (a test may wrap it to lose an answer). */
    api?: NodeApi,
  ) {
    this.api = api ?? new NodeApi(token);
    // Admin calls are signed for the node at the address they go to: its proxy link or its own.
    const ids: Record<string, string> = {};
    for (const n of config.nodes) {
      ids[n.http] = n.id;
      ids[this.httpOf(n.id)] = n.id;
    }
    this.api.useCluster(config.cluster, ids);
  }

  private stateWrites: Promise<void> = Promise.resolve();

  /** Persists `state`; writes are queued so the file always ends with the latest state. */
  private saveState(): Promise<void> {
    const next = this.stateWrites.then(() => writeMonitorState(this.stateDir, this.state));
    this.stateWrites = next.catch(() => {});
    return next;
  }

  get probeTimeoutMs(): number {
    return Math.min(Math.max(2 * this.config.heartbeatMs, 250), Math.max(50, Math.floor(this.config.failoverTimeoutMs / 2)));
  }

  async start(): Promise<void> {
    const stored = await readMonitorState(this.stateDir);
    this.state = stored ?? {
      epoch: 1,
      highestEpoch: 1,
      leader: this.config.leader,
      upstreams: { ...this.config.upstreams },
      syncStandbys: [...this.config.syncStandbys],
    };
    // Nodes added since the state was written follow what the config says.
    for (const [id, up] of Object.entries(this.config.upstreams)) if (id !== this.state.leader && !(id in this.state.upstreams)) this.state.upstreams[id] = up;
    await this.saveState();
    await this.event(stored ? 'monitor-restarted' : 'monitor-started', { leader: this.state.leader, epoch: this.state.epoch });
    this.lastLeaderOkAt = Date.now();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    this.api.close();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const began = Date.now();
      this.ticking = this.tick()
        .catch((e: unknown) => this.log.error({ err: toError(e).message }, 'monitor tick failed'))
        .finally(() => this.schedule(Math.max(0, this.config.heartbeatMs - (Date.now() - began))));
    }, delayMs);
  }

  private node(id: string): MonitorConfig['nodes'][number] {
    const n = this.config.nodes.find((x) => x.id === id);
    if (!n) throw new UsageError(`no node "${id}" in cluster ${this.config.cluster}`);
    return n;
  }

  private httpOf(id: string): string {
    return this.config.monitorLinks[id] ?? this.node(id).http;
  }

  /** The address `from` dials to reach `to`'s replication port. */
  replAddress(from: string, to: string): string {
    return this.config.replLinks[`${from}->${to}`] ?? this.node(to).repl;
  }

  private async event(event: string, fields: Record<string, unknown> = {}): Promise<void> {
    const e: MonitorEvent = { timeMs: Date.now(), event, ...fields };
    this.events.push(e);
    if (this.events.length > RECENT_EVENTS) this.events.shift();
    this.log.info(e, event);
    await appendEvent(this.stateDir, e).catch((err: unknown) => this.log.error({ err: toError(err).message }, 'cannot append to events.jsonl'));
  }

  private async tick(): Promise<void> {
    const leader = this.state.leader;
    await Promise.all(this.config.nodes.map((n) => (n.id === leader ? this.renewLeader(n.id) : this.probe(n.id))));
    this.noteEpochs();
    if (this.busy) return;
    if (this.probes.get(leader)?.ok) {
      if (this.failover.state !== 'healthy') await this.event('leader-back', { leader, epoch: this.state.epoch });
      this.failover = { state: 'healthy' };
      await this.reconcile();
      return;
    }
    const silentMs = Date.now() - this.lastLeaderOkAt;
    if (this.failover.state === 'healthy') {
      this.failover = { state: 'leader-down', sinceMs: this.lastLeaderOkAt };
      await this.event('leader-unreachable', { leader, error: this.probes.get(leader)?.error });
    }
    if (silentMs >= this.config.failoverTimeoutMs) await this.failOver(silentMs);
  }

  private async probe(id: string): Promise<Probe> {
    const r = await this.api.status(this.httpOf(id), this.probeTimeoutMs);
    const p: Probe = r.ok ? { at: Date.now(), ok: true, status: shortOf(r.body) } : { at: Date.now(), ok: false, error: r.error };
    if (r.ok) this.noteAnchor(id, r.body.leaseAnchor);
    this.probes.set(id, p);
    return p;
  }

  private async renewLeader(id: string): Promise<void> {
    // Stop renewing early enough that, when the timeout declares the leader dead, every lease
    // this monitor sent has already run out.
    const renew = Date.now() - this.lastLeaderOkAt < this.config.failoverTimeoutMs - this.config.leaseMs;
    if (!renew) {
      // A leader that answers again, still leading the current epoch, is back (for instance after
      // a partition healed while no follower qualified): renew its lease again. That is safe: a
      // failover still waits until the last lease sent has run out before it promotes anyone.
      const p = await this.probe(id);
      const back = p.ok && p.status?.role === 'leader' && p.status.epoch === this.state.epoch;
      if (!back) {
        this.probes.set(id, {
          ...p,
          ok: false,
          error: p.ok ? `answers as ${p.status?.role} at epoch ${p.status?.epoch}; lease renewal stopped` : `${p.error}; lease renewal stopped`,
        });
        return;
      }
    }
    const r = await this.api.admin(this.httpOf(id), 'lease', { epoch: this.state.epoch, ...this.grant(id) }, this.probeTimeoutMs);
    if (r.ok) this.noteAnchor(id, r.body.leaseAnchor);
    if (r.ok && r.body.role === 'leader' && r.body.epoch === this.state.epoch) {
      this.lastLeaderOkAt = Date.now();
      this.probes.set(id, { at: Date.now(), ok: true, status: r.body });
    } else {
      this.probes.set(id, {
        at: Date.now(),
        ok: false,
        error: r.ok ? `answers as ${r.body.role} at epoch ${r.body.epoch}` : r.error,
        status: r.ok ? r.body : this.probes.get(id)?.status,
      });
    }
  }

  /** A node's answer carried its monotonic reading: the anchor the next grant to it echoes. */
  private noteAnchor(id: string, anchor: LeaseAnchor | undefined): void {
    if (anchor) this.anchors.set(id, { anchor, receivedAt: performance.now() });
  }

  /**
   * The lease a renewal or promotion of `id` carries: the hold, shortened by the drift margin, after
   * the newest anchor `id` sent. Sending it, answered or not, moves the time this monitor must wait
   * before anyone else may lead. Without an anchor the grant gives no lease (the next one will).
   */
  private grant(id: string): { leaseMs: number; anchor?: LeaseAnchor } {
    const leaseMs = leaseHoldMs(this.config.leaseMs, this.config.maxClockDrift);
    const a = this.anchors.get(id);
    if (!a) return { leaseMs };
    this.leasesEndAt = Math.max(this.leasesEndAt, a.receivedAt + leaseWaitMs(this.config.leaseMs, this.config.maxClockDrift));
    return { leaseMs, anchor: a.anchor };
  }

  /** A node that has seen a higher epoch than this monitor (state lost?) raises the monitor's. */
  private noteEpochs(): void {
    for (const p of this.probes.values()) {
      // An epoch this monitor reserved itself (a promote whose answer was lost) is not news: the
      // failover that reserved it records that promotion (see failOver).
      if (p.ok && p.status && p.status.epoch > this.state.epoch && p.status.epoch > this.state.highestEpoch) {
        this.log.warn({ node: p.status.id, epoch: p.status.epoch }, 'a node reports a higher epoch than the monitor stored; adopting it');
        this.state = { ...this.state, epoch: p.status.epoch, highestEpoch: Math.max(this.state.highestEpoch, p.status.epoch) };
        void this.saveState();
      }
    }
  }

  /** Points every reachable non-leader at its upstream under the current epoch. */
  private async reconcile(): Promise<void> {
    const leader = this.state.leader;
    await Promise.all(
      this.config.nodes
        .filter((n) => n.id !== leader)
        .map(async (n) => {
          const p = this.probes.get(n.id);
          if (!p?.ok || !p.status) return;
          const upId = this.state.upstreams[n.id] ?? leader;
          const want = this.replAddress(n.id, upId);
          const s = p.status;
          const wrongPlace = s.role === 'leader' || s.upstream !== want;
          if (!wrongPlace && s.epoch >= this.state.epoch) return;
          const r = await this.api.admin(
            this.httpOf(n.id),
            'follow',
            { epoch: this.state.epoch, upstream: want, upstreamId: upId, leaderHttp: this.node(leader).http },
            this.probeTimeoutMs,
          );
          if (wrongPlace)
            await this.event(r.ok ? 'repointed' : 'repoint-failed', {
              node: n.id,
              upstream: upId,
              wasRole: s.role,
              epoch: this.state.epoch,
              ...(r.ok ? {} : { error: r.error }),
            });
        }),
    );
  }

  /** The leader has been silent for `silentMs`: promote the best follower, or say why none may be. */
  private async failOver(silentMs: number): Promise<void> {
    this.busy = true;
    try {
      const old = this.state.leader;
      const declaredAt = Date.now();
      // Whether the old leader was alive as the failover began, asked at its own address (past any
      // fault proxy on the monitor's link): a fact for whoever judges the failover needed or
      // needless, never used to decide it. Asked alongside the lease wait, so it costs no time.
      const oldLeaderCheck = this.oldLeaderFacts(old);
      if (this.failover.state !== 'blocked')
        await this.event('leader-declared-dead', { leader: old, silentMs, failoverTimeoutMs: this.config.failoverTimeoutMs });
      await this.waitOutLease();
      const oldLeader = await oldLeaderCheck;
      const others = this.config.nodes.filter((n) => n.id !== old).map((n) => n.id);
      await Promise.all(others.map((id) => this.probe(id)));
      const earlier = this.unrecordedPromotion(others);
      if (earlier) {
        await this.recordPromotion(
          old,
          earlier.id,
          this.state.highestEpoch,
          earlier.status,
          'an earlier promote went unanswered but took effect',
          silentMs,
          declaredAt,
          oldLeader,
        );
        return;
      }
      const choice = this.chooseSuccessor(old, others);
      if (!choice.ok) await this.blockFailover(old, choice.why, declaredAt);
      else await this.promote(old, choice, silentMs, declaredAt, oldLeader);
    } finally {
      this.busy = false;
    }
  }

  /** What the old leader answers at its own address (not through the monitor's link), within a probe timeout. */
  private async oldLeaderFacts(id: string): Promise<OldLeaderFacts> {
    const r = await this.api.status(this.node(id).http, this.probeTimeoutMs);
    if (!r.ok) return { answered: false, error: r.error };
    return { answered: true, role: r.body.role, epoch: r.body.epoch, leaseValid: r.body.leaseValid };
  }

  /**
   * With lease fencing, no one is promoted before every lease this monitor granted has run out on
   * its holder's clock, for any holder whose clock rate is within maxClockDrift (kv/node/lease.ts).
   * Counted on the monotonic clock: a step of this machine's wall clock changes nothing.
   */
  private async waitOutLease(): Promise<void> {
    if (this.config.fencing !== 'lease') return;
    const wait = this.leasesEndAt - performance.now();
    if (wait > 0) await sleep(wait + 5);
  }

  /**
   * A promote whose answer was lost may still have taken effect: a node leading the epoch this
   * monitor reserved last is that promotion, to be recorded rather than another node promoted.
   */
  private unrecordedPromotion(others: string[]): { id: string; status: ShortStatus } | undefined {
    for (const id of others) {
      const status = this.probes.get(id)?.ok ? this.probes.get(id)?.status : undefined;
      if (status?.role === 'leader' && status.epoch === this.state.highestEpoch && status.epoch > this.state.epoch) return { id, status };
    }
    return undefined;
  }

  /** The follower to promote in `old`'s place, by the mode's rules, from what the probes just saw. */
  private chooseSuccessor(old: string, others: string[]): Choice {
    const views: NodeView[] = others.map((id) => {
      const p = this.probes.get(id)!;
      return { id, reachable: p.ok, role: p.status?.role, lastEpoch: p.status?.lastEpoch, flushedLsn: p.status?.flushedLsn };
    });
    const lastLeader = this.probes.get(old)?.status;
    const direct = Object.entries(this.state.upstreams)
      .filter(([, up]) => up === old)
      .map(([id]) => id);
    return chooseCandidate({
      mode: this.config.mode,
      k: this.config.k,
      oldLeader: old,
      directFollowers: direct,
      syncStandbys: this.state.syncStandbys.length ? this.state.syncStandbys : direct,
      leaderLastLsn: lastLeader?.lastLsn ?? 0,
      leaderDegraded: lastLeader?.degraded ?? false,
      maxLagOnFailover: this.config.maxLagOnFailover,
      views,
    });
  }

  /** No one may be promoted: the failover state says why, and a new reason is logged and recorded once. */
  private async blockFailover(old: string, why: string, declaredAt: number): Promise<void> {
    const prev = this.failover.state === 'blocked' ? this.failover.why : undefined;
    this.failover = { state: 'blocked', why, sinceMs: this.failover.state === 'blocked' ? this.failover.sinceMs : declaredAt };
    if (prev !== why) {
      this.log.warn({ leader: old, why }, 'no candidate qualifies for promotion; not failing over');
      await this.event('failover-blocked', { leader: old, why });
    }
  }

  /** Promotes the chosen node at a freshly reserved epoch, and records it when it answers. */
  private async promote(old: string, choice: { id: string; why: string }, silentMs: number, declaredAt: number, oldLeader: OldLeaderFacts): Promise<void> {
    const epoch = await this.reserveEpoch();
    const { syncStandbys } = this.afterPromotion(old, choice.id);
    // Even an unanswered promote may have arrived, and it carried a lease: grant() already moved
    // the time the next attempt must wait out before promoting anyone else.
    const r = await this.api.admin(this.httpOf(choice.id), 'promote', { epoch, ...this.grant(choice.id), syncStandbys }, Math.max(this.probeTimeoutMs, 2000));
    if (r.ok) this.noteAnchor(choice.id, r.body.leaseAnchor);
    if (!r.ok) {
      await this.event('promote-failed', { node: choice.id, epoch, error: r.error });
      return;
    }
    await this.recordPromotion(old, choice.id, epoch, r.body, choice.why, silentMs, declaredAt, oldLeader);
  }

  /** Upstreams and sync standbys once `to` replaces `old` as the leader. */
  private afterPromotion(old: string, to: string): { upstreams: Record<string, string>; syncStandbys: string[] } {
    const upstreams = repointedUpstreams(this.state.upstreams, old, to);
    return {
      upstreams,
      syncStandbys: Object.entries(upstreams)
        .filter(([id, up]) => up === to && id !== old)
        .map(([id]) => id),
    };
  }

  /** `to` leads `epoch` now: store it, announce it, and repoint everyone else. */
  private async recordPromotion(
    old: string,
    to: string,
    epoch: number,
    status: ShortStatus,
    why: string,
    silentMs: number,
    declaredAt: number,
    oldLeader?: OldLeaderFacts,
  ): Promise<void> {
    this.state = { epoch, highestEpoch: epoch, leader: to, ...this.afterPromotion(old, to) };
    await this.saveState();
    this.lastLeaderOkAt = Date.now();
    this.probes.set(to, { at: Date.now(), ok: true, status });
    await this.event('promoted', {
      node: to,
      from: old,
      epoch,
      why,
      detectionMs: silentMs,
      promotionMs: Date.now() - declaredAt,
      lastLsn: status.lastLsn,
      // How long the old leader was unreachable from the monitor before its failover began, and
      // what it answered at its own address then (a report can mark the failover needless).
      unreachableMs: silentMs,
      ...(oldLeader ? { oldLeader } : {}),
    });
    this.failover = { state: 'healthy' };
    await Promise.all(this.config.nodes.map((n) => (n.id === to ? undefined : this.probe(n.id))));
    await this.reconcile();
  }

  /**
   * The epoch for a promotion: above any this monitor handed out or any node reported. It is
   * persisted before use (so a crash mid-promotion never reuses it), but leases keep carrying the
   * current leader's epoch until the promotion succeeded.
   */
  private async reserveEpoch(): Promise<number> {
    let max = Math.max(this.state.epoch, this.state.highestEpoch ?? 0);
    for (const p of this.probes.values()) if (p.status) max = Math.max(max, p.status.epoch);
    const epoch = max + 1;
    this.state = { ...this.state, highestEpoch: epoch };
    await this.saveState();
    return epoch;
  }

  /**
   * Planned switchover to `to` without losing a write: fence the leader (it refuses new writes),
   * wait until `to` has flushed everything the leader has and the leader committed it, promote
   * `to` with a new epoch, and repoint the rest. On timeout the leader is unfenced and nothing
   * changes.
   */
  async switchover(to: string, timeoutMs = Math.max(5000, this.config.failoverTimeoutMs)): Promise<SwitchoverAnswer> {
    this.node(to);
    const from = this.state.leader;
    if (to === from) throw new UsageError(`${to} is already the leader`);
    if (this.busy) throw new EnvironmentError('a failover or switchover is already in progress; try again when it is done');
    this.busy = true;
    const started = Date.now();
    this.failover = { state: 'switching-over', to };
    try {
      await this.event('switchover-started', { from, to, epoch: this.state.epoch });
      const target = await this.probe(to);
      if (!target.ok || target.status?.role !== 'follower')
        throw new EnvironmentError(`switchover target ${to} is not a reachable follower (${target.error ?? target.status?.role})`);
      const fence = await this.api.admin(this.httpOf(from), 'fence', { epoch: this.state.epoch, fenced: true }, 2000);
      if (!fence.ok) throw new EnvironmentError(`cannot fence leader ${from}: ${fence.error}`);
      const lastLsn = fence.body.lastLsn;
      const caughtUp = await waitFor(async () => {
        const [t, l] = await Promise.all([this.probe(to), this.probe(from)]);
        return !!t.status && t.status.flushedLsn >= lastLsn && !!l.status && l.status.commitLsn >= lastLsn;
      }, timeoutMs);
      if (!caughtUp) {
        await this.api.admin(this.httpOf(from), 'fence', { epoch: this.state.epoch, fenced: false }, 2000);
        await this.event('switchover-aborted', { from, to, lastLsn, why: `target did not catch up within ${timeoutMs} ms` });
        throw new EnvironmentError(`switchover to ${to} aborted: it did not reach lsn ${lastLsn} within ${timeoutMs} ms; ${from} stays leader`);
      }
      const epoch = await this.reserveEpoch();
      const upstreams = repointedUpstreams(this.state.upstreams, from, to);
      const syncStandbys = Object.entries(upstreams)
        .filter(([, up]) => up === to)
        .map(([id]) => id);
      const r = await this.api.admin(this.httpOf(to), 'promote', { epoch, ...this.grant(to), syncStandbys }, 5000);
      if (!r.ok) throw new EnvironmentError(`promoting ${to} failed: ${r.error}; ${from} stays fenced until the monitor fails over`);
      this.noteAnchor(to, r.body.leaseAnchor);
      this.state = { epoch, highestEpoch: epoch, leader: to, upstreams, syncStandbys };
      await this.saveState();
      this.lastLeaderOkAt = Date.now();
      await this.probe(from);
      await this.reconcile();
      const durationMs = Date.now() - started;
      await this.event('switchover', { from, to, epoch, lastLsn, durationMs });
      return { from, to, epoch, durationMs, lastLsn };
    } finally {
      this.failover = { state: 'healthy' };
      this.busy = false;
    }
  }

  /** What `GET /status` of the monitor shows; clients and the router route by it. */
  view(): MonitorView {
    const leader = this.state.leader;
    return {
      cluster: this.config.cluster,
      leader,
      leaderHttp: this.node(leader).http,
      epoch: this.state.epoch,
      fencing: this.config.fencing,
      failover: this.failover,
      settings: {
        heartbeatMs: this.config.heartbeatMs,
        failoverTimeoutMs: this.config.failoverTimeoutMs,
        leaseMs: this.config.leaseMs,
        maxClockDrift: this.config.maxClockDrift,
        maxLagOnFailover: this.config.maxLagOnFailover,
        mode: this.config.mode,
        k: this.config.k,
      },
      nodes: this.config.nodes.map((n) => {
        const p = this.probes.get(n.id);
        return {
          id: n.id,
          http: n.http,
          repl: n.repl,
          reachable: p?.ok ?? false,
          role: p?.status?.role ?? null,
          epoch: p?.status?.epoch ?? null,
          lastLsn: p?.status?.lastLsn ?? null,
          flushedLsn: p?.status?.flushedLsn ?? null,
          upstream: n.id === leader ? null : (this.state.upstreams[n.id] ?? leader),
          error: p?.ok ? undefined : p?.error,
        };
      }),
      events: this.events.slice(-50),
    };
  }
}

/** The upstream map after `newLeader` replaced `oldLeader`: the old leader and its followers now follow the new one. */
export function repointedUpstreams(ups: Record<string, string>, oldLeader: string, newLeader: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, up] of Object.entries(ups)) {
    if (id === newLeader) continue;
    out[id] = up === oldLeader ? newLeader : up;
  }
  out[oldLeader] = newLeader;
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
