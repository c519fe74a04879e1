/**
 * Scripts for cluster tests: start a real process cluster under the test state root, talk to it
 * over HTTP, run a background writer that remembers every acknowledged write, and always tear
 * down (tests call `cluster.down()` in afterEach; global teardown is the backstop).
 */
import os from 'node:os';
import path from 'node:path';
import type { Outcome } from '../../src/client/kv-http.js';
import { ReplabCluster, type UpOptions } from '../../src/cluster/replab-cluster.js';
import { parseClusterSpec } from '../../src/cluster/spec.js';
import { waitFor } from '../../src/lib/wait.js';

export const stateRoot = () => process.env.REPLAB_TEST_STATE_ROOT ?? path.join(os.tmpdir(), 'replab-test-adhoc');

let counter = 0;

export async function startCluster(spec: Record<string, unknown>, options: UpOptions = {}): Promise<ReplabCluster> {
  const name = `${String(spec.name ?? 'c')}-${process.pid}-${++counter}`;
  const parsed = parseClusterSpec({ ...spec, name }, 'test spec', name);
  return ReplabCluster.up(parsed, { stateRoot: stateRoot(), ...options });
}

export interface HttpResult {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export async function request(address: string, method: string, urlPath: string, body?: string, timeoutMs = 5000): Promise<HttpResult> {
  // A POST (cas) is JSON, which nodes require of it; a PUT's body is the raw value.
  const headers = method === 'POST' ? { 'content-type': 'application/json' } : undefined;
  const res = await fetch(`http://${address}${urlPath}`, { method, body, headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export const put = (address: string, key: string, value: string, timeoutMs?: number) =>
  request(address, 'PUT', `/kv/${encodeURIComponent(key)}`, value, timeoutMs);
export const get = (address: string, key: string) => request(address, 'GET', `/kv/${encodeURIComponent(key)}`);
export const status = async (address: string) => (await request(address, 'GET', '/status')).body;

/** Every key/value a node currently serves. */
export async function dump(address: string): Promise<Record<string, string>> {
  const r = await request(address, 'GET', '/kv?prefix=');
  const out: Record<string, string> = {};
  for (const item of r.body.items as Array<{ key: string; value: string }>) out[item.key] = item.value;
  return out;
}

/**
 * Writes unique keys in a loop with `concurrency` clients until stopped; remembers which writes
 * were acknowledged. Errors (a leader that is down, a timeout) are counted, not thrown.
 */
export class BackgroundWriter {
  readonly acked = new Map<string, string>();
  errors = 0;
  private running = true;
  private loops: Promise<void>[] = [];
  private seq = 0;

  constructor(
    private readonly address: () => string,
    private readonly options: { concurrency?: number; prefix?: string; timeoutMs?: number; valueBytes?: number } = {},
  ) {
    for (let i = 0; i < (options.concurrency ?? 4); i++) this.loops.push(this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const key = `${this.options.prefix ?? 'w'}${this.seq++}`;
      const value = `v${key}`.padEnd(this.options.valueBytes ?? 0, '.');
      try {
        const r = await put(this.address(), key, value, this.options.timeoutMs ?? 3000);
        if (r.status === 200) this.acked.set(key, value);
        else this.errors++;
      } catch {
        this.errors++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Resolves once at least `n` more writes have been acknowledged. */
  async waitForAcks(n: number, timeoutMs = 20_000): Promise<void> {
    const target = this.acked.size + n;
    const ok = await waitFor(() => this.acked.size >= target, timeoutMs, 10);
    if (!ok) throw new Error(`only ${this.acked.size} of ${target} writes acknowledged within ${timeoutMs} ms (${this.errors} errors)`);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

export interface AckedWrite {
  key: string;
  value: string;
  node?: string;
  epoch?: number;
  /** ms since the writer started. */
  atMs: number;
}

/**
 * Like BackgroundWriter, but each write goes through `send` (the cluster client, or a router) and
 * the writer keeps the outcome kinds apart: acknowledged (with the node and epoch that answered),
 * definitely failed, and indeterminate (may or may not have happened).
 */
export class OutcomeWriter {
  readonly acked: AckedWrite[] = [];
  readonly indeterminate: string[] = [];
  failed = 0;
  private running = true;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private readonly started = Date.now();

  constructor(
    private readonly send: (key: string, value: string) => Promise<Outcome>,
    private readonly options: { concurrency?: number; prefix?: string } = {},
  ) {
    for (let i = 0; i < (options.concurrency ?? 4); i++) this.loops.push(this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const key = `${this.options.prefix ?? 'w'}${this.seq++}`;
      const value = `v${key}`;
      const out = await this.send(key, value);
      if (out.type === 'ok') this.acked.push({ key, value, node: out.node, epoch: out.epoch, atMs: Date.now() - this.started });
      else if (out.type === 'info') this.indeterminate.push(key);
      else {
        this.failed++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  async waitForAcks(n: number, timeoutMs = 20_000, where: (w: AckedWrite) => boolean = () => true): Promise<void> {
    const target = this.acked.filter(where).length + n;
    const ok = await waitFor(() => this.acked.filter(where).length >= target, timeoutMs, 10);
    if (!ok)
      throw new Error(
        `only ${this.acked.filter(where).length} of ${target} matching writes acknowledged within ${timeoutMs} ms (${this.failed} failed, ${this.indeterminate.length} indeterminate)`,
      );
  }

  /** The longest time between two consecutive acknowledgements (ms). */
  longestGapMs(): number {
    let gap = 0;
    const times = this.acked.map((a) => a.atMs).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    return gap;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
