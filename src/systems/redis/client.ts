/**
 * Redis as a workload's DataClient, with ioredis: the register is plain string keys (write = SET,
 * read = GET, cas = a Lua script that compares and sets in one step), the set is one Redis set
 * (`add` = SADD of the element's key into SET_KEY, the final read = SMEMBERS). Semi-sync and sync
 * follow every write with WAIT on the same connection (mapping.ts says how many replicas).
 *
 * The primary is found the way Redis clients do it: every Sentinel is asked
 * `SENTINEL get-master-addr-by-name`, and the address most of them answer names the node. The
 * Sentinels are asked directly; the data itself goes through the node's `client:` proxy link.
 * Reads go to the primary only (Redis replicas have no position a session could wait for here).
 *
 * Outcomes (`redisOutcome`):
 *   fail  nothing was sent (no connection, no primary known), or Redis answered an error: a
 *         command either runs whole or not at all, so an error reply (READONLY from a replica,
 *         NOREPLICAS under min-replicas-to-write, LOADING, MASTERDOWN …) means it did not run;
 *   info  a timeout or a lost connection after the command was sent (it may have run), and a
 *         write whose WAIT answered fewer replicas than asked: it ran on the primary, and whether
 *         it survives a failover depends on which replica Sentinel promotes.
 */
import { Redis } from 'ioredis';
import type { Outcome } from '../../client/kv-http.js';
import type { DataClient, ReadRequest } from '../../workloads/data-client.js';
import { MASTER_NAME } from './mapping.js';

/** The Redis set holding the set workload's elements. */
export const SET_KEY = 'replab-set';

/** Compare-and-set in one step: ARGV = absent|value, the expected value, the new value. */
export const CAS_SCRIPT = `local v = redis.call('GET', KEYS[1])
if (ARGV[1] == 'absent' and v == false) or (ARGV[1] == 'value' and v == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[3])
  return 1
end
return 0`;

export interface RedisNodeAddr {
  id: string;
  /** host:port of the node's client: proxy link. */
  client: string;
  /** host:port every other process reaches the node at: what Sentinel answers for it. */
  announced: string;
}

export interface RedisClientOptions {
  nodes: RedisNodeAddr[];
  /** host:port of each Sentinel. */
  sentinels: string[];
  /** Replicas every write waits for with WAIT (0: none). */
  waitReplicas: number;
  waitTimeoutMs: number;
  refreshMs?: number;
}

/** Maps an error to an outcome; `sent`: whether the command may have reached the server. */
export function redisOutcome(e: unknown, sent: boolean, node?: string): Outcome {
  const err = e as { name?: string; message?: string };
  const message = err.message ?? String(e);
  if (!sent) return { type: 'fail', error: `not connected (${message})`, node };
  if (err.name === 'ReplyError') {
    const code = /^[A-Z]+/.exec(message)?.[0];
    return { type: 'fail', error: code === 'READONLY' ? 'READONLY (not the primary)' : message, node };
  }
  return { type: 'info', error: /timeout|timed out/i.test(message) ? 'timeout' : `connection lost (${message})`, node };
}

/** The outcome of a write that ran on the primary and then waited: ok only with enough replicas. */
export function waitOutcome(acked: number, wanted: number, waitMs: number, node: string, value: unknown): Outcome {
  if (acked >= wanted) return { type: 'ok', value, node };
  return {
    type: 'info',
    error: `WAIT ${wanted}: ${acked} replica(s) acknowledged within ${waitMs} ms; the write ran on the primary and may or may not survive a failover`,
    node,
  };
}

/** `*`, `?`, `[`, `]` and `\` in a key prefix, escaped for a SCAN MATCH pattern. */
export const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

interface Conn {
  redis: Redis;
  ready: Promise<void>;
  broken: boolean;
}

type Ran = { ok: true; value: unknown } | { ok: false; outcome: Outcome };

export class RedisDataClient implements DataClient {
  private primary: string | undefined;
  private readonly conns = new Map<string, Conn>();
  private readonly sentinels: Redis[];
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: RedisClientOptions) {
    this.sentinels = o.sentinels.map((addr) => {
      const [host, port] = split(addr);
      const r = new Redis({
        host,
        port,
        lazyConnect: false,
        enableOfflineQueue: true,
        maxRetriesPerRequest: 0,
        connectTimeout: 1000,
        retryStrategy: () => 200,
      });
      r.on('error', () => {});
      return r;
    });
    if (o.refreshMs) {
      this.timer = setInterval(() => void this.refresh(), o.refreshMs);
      this.timer.unref();
    }
  }

  nodeIds(): string[] {
    return this.o.nodes.map((n) => n.id);
  }

  primaryId(): string | undefined {
    return this.primary;
  }

  noteLeaderHint(): void {
    void this.refresh();
  }

  /** Asks every Sentinel for the primary; the address most of them answer wins (concurrent callers share one round). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const found = await askSentinels(this.sentinels, this.o.nodes, 500);
      if (found) this.primary = found;
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.conns.values()) c.redis.disconnect();
    this.conns.clear();
    for (const s of this.sentinels) s.disconnect();
  }

  private conn(nodeId: string): Conn {
    const existing = this.conns.get(nodeId);
    if (existing && !existing.broken) return existing;
    const node = this.o.nodes.find((n) => n.id === nodeId)!;
    const [host, port] = split(node.client);
    // No reconnects and no offline queue: a command is sent on a live connection or not at all,
    // which is what tells fail from info.
    const redis = new Redis({
      host,
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 2000,
    });
    const c: Conn = { redis, ready: redis.connect(), broken: false };
    redis.on('error', () => {});
    redis.on('close', () => (c.broken = true));
    c.ready.catch(() => (c.broken = true));
    this.conns.set(nodeId, c);
    return c;
  }

  /** Runs one command on `nodeId` within `timeoutMs` (connecting included), mapping every failure. */
  private async run(nodeId: string, args: [string, ...(string | number)[]], timeoutMs: number): Promise<Ran> {
    const c = this.conn(nodeId);
    let timer: NodeJS.Timeout | undefined;
    let sent = false;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs} ms`)), Math.max(1, timeoutMs));
      });
      await Promise.race([c.ready, timeout]);
      sent = true;
      const [cmd, ...rest] = args;
      return { ok: true, value: await Promise.race([c.redis.call(cmd, ...rest), timeout]) };
    } catch (e: unknown) {
      const outcome = redisOutcome(e, sent, nodeId);
      if (outcome.type === 'info' || !sent || (outcome.type === 'fail' && /^READONLY/.test(outcome.error))) {
        c.broken = true;
        c.redis.disconnect();
        void this.refresh();
      }
      return { ok: false, outcome };
    } finally {
      clearTimeout(timer);
    }
  }

  private async onPrimary(): Promise<string | undefined> {
    if (!this.primary) await this.refresh();
    return this.primary;
  }

  /** A write command on the primary, then WAIT when the mode asks for replicas. */
  private async writeThenWait(args: [string, ...(string | number)[]], timeoutMs: number, value: (reply: unknown) => Outcome | undefined): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    const id = await this.onPrimary();
    if (!id) return { type: 'fail', error: 'no primary known (no Sentinel answered)' };
    const r = await this.run(id, args, deadline - Date.now());
    if (!r.ok) return r.outcome;
    const refused = value(r.value);
    if (refused) return refused;
    if (this.o.waitReplicas === 0) return { type: 'ok', value: null, node: id };
    // WAIT's own timeout is kept inside the operation's, so its answer arrives before the client gives up.
    const waitMs = Math.max(1, Math.min(this.o.waitTimeoutMs, deadline - Date.now() - 100));
    const w = await this.run(id, ['WAIT', this.o.waitReplicas, waitMs], deadline - Date.now());
    // The write ran: any failure of WAIT leaves it on the primary, so it is info, never fail.
    if (!w.ok) return { type: 'info', error: `the write ran, then WAIT failed: ${w.outcome.type === 'ok' ? '' : w.outcome.error}`, node: id };
    return waitOutcome(Number(w.value), this.o.waitReplicas, waitMs, id, null);
  }

  async read({ key, policy, timeoutMs }: ReadRequest): Promise<Outcome> {
    if (policy.kind !== 'leader-only') return { type: 'fail', error: `read policy ${policy.kind}: the redis system reads on the primary only` };
    const id = await this.onPrimary();
    if (!id) return { type: 'fail', error: 'no primary known (no Sentinel answered)' };
    const r = await this.run(id, ['GET', key], timeoutMs);
    return r.ok ? { type: 'ok', value: r.value ?? null, node: id } : r.outcome;
  }

  write(key: string, value: string, timeoutMs: number): Promise<Outcome> {
    return this.writeThenWait(['SET', key, value], timeoutMs, () => undefined);
  }

  cas(key: string, expected: string | null, value: string, timeoutMs: number): Promise<Outcome> {
    return this.writeThenWait(['EVAL', CAS_SCRIPT, 1, key, expected === null ? 'absent' : 'value', expected ?? '', value], timeoutMs, (reply) =>
      Number(reply) === 1 ? undefined : { type: 'fail', error: 'cas: the value differs from the expected one', node: this.primary },
    );
  }

  add(key: string, timeoutMs: number): Promise<Outcome> {
    return this.writeThenWait(['SADD', SET_KEY, key], timeoutMs, () => undefined);
  }

  /** Every register key and set element under `prefix`, read on `nodeId` itself (primary or replica). */
  async scan(nodeId: string, prefix: string, timeoutMs: number): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    const members = await this.run(nodeId, ['SMEMBERS', SET_KEY], timeoutMs);
    if (!members.ok) return members.outcome;
    const items = (members.value as string[]).filter((m) => m.startsWith(prefix)).map((m) => ({ key: m, value: '1' }));
    let cursor = '0';
    do {
      const page = await this.run(nodeId, ['SCAN', cursor, 'MATCH', `${globEscape(prefix)}*`, 'TYPE', 'string', 'COUNT', 1000], deadline - Date.now());
      if (!page.ok) return page.outcome;
      const [next, keys] = page.value as [string, string[]];
      cursor = next;
      if (keys.length) {
        const values = await this.run(nodeId, ['MGET', ...keys] as [string, ...string[]], deadline - Date.now());
        if (!values.ok) return values.outcome;
        keys.forEach((key, i) => {
          const v = (values.value as Array<string | null>)[i];
          if (v !== null && v !== undefined) items.push({ key, value: v });
        });
      }
    } while (cursor !== '0');
    return { type: 'ok', value: items, node: nodeId };
  }
}

function split(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i), Number(addr.slice(i + 1))];
}

/**
 * The primary's node id as most Sentinels that answer within `timeoutMs` name it, or undefined.
 * An address that is no node's announced one (never expected) names nothing.
 */
export async function askSentinels(sentinels: Redis[], nodes: RedisNodeAddr[], timeoutMs: number): Promise<string | undefined> {
  const answers = await Promise.all(
    sentinels.map(async (s) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const late = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), timeoutMs);
        });
        const a = (await Promise.race([s.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME), late])) as [string, string] | null | undefined;
        return a ? nodes.find((n) => n.announced === `${a[0]}:${a[1]}`)?.id : undefined;
      } catch {
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const votes = new Map<string, number>();
  for (const a of answers) if (a) votes.set(a, (votes.get(a) ?? 0) + 1);
  return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}
