/**
 * What a system tells the harness about its own failover manager: a leader declared dead, a
 * promotion, a node repointed, fenced or rewound. Every system reports them the same way, through
 * the `events` sink the harness hands to `up()` (`options.events.emit({...})`), whether its
 * failover is done by replab's monitor, Patroni, Sentinel, or a loop in a user's module. The run
 * keeps them as `events.jsonl` in its folder; the report draws them and measures each failover's
 * outage from them. A system that reports none shows "no failover" even when one happened, so a
 * module whose failover manager is out of its sight should say so in its docs.
 */
import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.js';

export const SYSTEM_EVENTS = [
  /** The failover manager gave up on the leader (`leader`: who, `silentMs`: for how long it was not heard from). */
  'leader-declared-dead',
  /** A node now leads (`node`; `from`: the old leader; `epoch`: its epoch or term; `detectionMs`, `promotionMs`, `unreachableMs`, `oldLeader`). */
  'promoted',
  /** A follower now replicates from `upstream` (`node`). */
  'repointed',
  /** A deposed leader was stopped from taking writes (`node`; `how`: e.g. read_only, lease). */
  'fenced',
  /** A node set aside records the new leader does not have (`node`; `records`: how many). */
  'rewound',
  /** A failover was wanted but could not happen (`why`). */
  'failover-blocked',
  /** A planned switchover to `node` completed. */
  'switchover',
] as const;
export type SystemEventName = (typeof SYSTEM_EVENTS)[number];

/**
 * One event. The names in SYSTEM_EVENTS have the meanings above; a system may emit others of its
 * own (`errant-transactions`, `monitor-started`). `timeMs` (wall clock, ms since the epoch) defaults to when it is emitted: give it
 * when the event happened earlier (read from a log afterwards, say). Other fields are kept as
 * given, for the report's detail; these have fixed meanings.
 */
export const SystemEventSchema = z
  .looseObject({
    /** One of SYSTEM_EVENTS, which the report draws, or a name of the system's own (kept, listed, not drawn). */
    event: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'an event name is lowercase words joined by "-", such as "promoted"'),
    timeMs: z.number().finite().positive().optional(),
    /** The node the event is about: promoted, repointed, fenced, rewound. */
    node: z.string().min(1).max(64).optional(),
    /** The leader declared dead (`leader-declared-dead`). */
    leader: z.string().min(1).max(64).optional(),
    /** The old leader a promotion replaced (`promoted`): the report judges the failover needed or needless by it. */
    from: z.string().min(1).max(64).optional(),
    /** Whether the old leader still answered at its own address (its clients' link) when its failover began. */
    oldLeader: z.looseObject({ answered: z.boolean() }).optional(),
    /** The new leader's epoch or term (`promoted`), when the system has one. */
    epoch: z.number().int().nonnegative().optional(),
    /** How long the leader went unheard before it was declared dead. */
    detectionMs: z.number().nonnegative().optional(),
    /** From declaring the leader dead to the new leader taking writes. */
    promotionMs: z.number().nonnegative().optional(),
    /** How long the old leader had been unreachable to the failover manager when the failover began. */
    unreachableMs: z.number().nonnegative().optional(),
  })
  .refine((e) => e.event !== 'promoted' || e.node !== undefined, { message: 'a "promoted" event names the new leader in `node`', path: ['node'] });
export type SystemEvent = z.input<typeof SystemEventSchema>;

/** Where a system sends its events (the harness's sink; `emit` validates and throws on a bad event). */
export interface EventSink {
  emit(event: SystemEvent): void;
}

/** A sink that keeps nothing, for systems started outside a run (`replab cluster up`, benches). */
export const DISCARD_EVENTS: EventSink = { emit: () => {} };

/**
 * The run's sink: every event, checked, one JSON line each in `file`, in the order emitted. A
 * bad event throws a ConfigError naming what is wrong, and is also remembered (`problems`), so a
 * module that swallows the throw still fails the run with it.
 */
export class RunEvents implements EventSink {
  private readonly bad: string[] = [];
  private count = 0;

  constructor(
    private readonly file: string,
    /** Who emits, for messages: `system module ./x.mjs`, `system postgres`. */
    private readonly who: string,
  ) {}

  emit(event: SystemEvent): void {
    const r = SystemEventSchema.safeParse(event);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const where = issue.path.map(String).join('.') || 'the event';
      const message = `${this.who}: events.emit(): ${where}: ${issue.message} (in ${JSON.stringify(event)?.slice(0, 120)}; see docs/systems.md)`;
      this.bad.push(message);
      throw new ConfigError(message);
    }
    // Written at once (synchronously): an event is rare, and a run that dies keeps what it had.
    appendFileSync(this.file, `${JSON.stringify({ timeMs: r.data.timeMs ?? Date.now(), ...r.data })}\n`);
    this.count++;
  }

  /** How many events were kept. */
  get emitted(): number {
    return this.count;
  }

  /** Every bad event's message, in order. */
  problems(): readonly string[] {
    return this.bad;
  }
}
