/**
 * Linearizability with keys checked in parallel on worker threads (as many as cores): keys are
 * independent, so each is checked on its own, biggest first, each with its own time budget and
 * memo. Keys the search-free deciders settle, or that a short first try on the main thread
 * decides, never leave it. The merged result is the one `checkLinearizable` would give (keys in
 * history order), except that with `maxFailures` reached no further key is started.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { isClientProcess, type Op, type PairedHistory } from '../history/op.js';
import {
  checkLinearizable,
  DEFAULT_MEMO_MIB,
  decideKeysWithoutSearch,
  emptyResult,
  type KeyMethod,
  type LinearizabilityOptions,
  type LinearizabilityResult,
} from './linearizable.js';
import type { Model } from './models/model.js';

/** How long a key is tried on the main thread before it goes to a worker. */
const QUICK_TRY_MS = 200;
const QUICK_TRY_MS_PER_OP = 0.02;

export async function checkLinearizableParallel(
  history: PairedHistory,
  model: Model<unknown>,
  options: LinearizabilityOptions & { threads?: number } = {},
): Promise<LinearizabilityResult> {
  // Small histories, or a model the workers do not know: not worth a thread.
  if (history.ops.length < 2000 || (model.name !== 'register' && model.name !== 'kv')) return checkLinearizable(history, model, options);
  const { threads: _t, ...perKey } = options;
  const maxFailures = options.maxFailures ?? 10;
  // Keys the deciders settle take milliseconds and need no copy of their own: those first, on
  // this thread, from the history's own pairs.
  const first = decideKeysWithoutSearch(history, model);
  const results = new Map<string, LinearizabilityResult>(first.decided);
  let failures = 0;
  for (const r of first.decided.values()) failures += r.failures.length;
  for (const { key, reason } of first.problems) results.set(key, { ...emptyResult(model.name), valid: 'unknown', unknown: [{ key, reason }] });
  const order = keyOrder(history);
  if (first.search.length === 0) return merge(order, results, model, maxFailures);
  const byKey = history.byKey();
  const threads = Math.max(1, Math.min(options.threads ?? os.availableParallelism(), first.search.length));
  // Most keys left take milliseconds too, and sending a key to a thread costs a copy of its ops:
  // every key gets a short try here first, and only the ones that need a real search go to the threads.
  const budget = options.budgetMsPerKey ?? 10_000;
  const queue: Array<[string, readonly Op[], number]> = [];
  /** How long each queued key's first try took: its searchMs covers the try and the worker. */
  const tried = new Map<string, number>();
  for (const key of first.search) {
    if (failures >= maxFailures) break;
    const keyed = byKey.get(key)!;
    // Long keys that are easy take time in proportion to their length: the try grows with it.
    // With one thread there is nowhere else to go: the try is the whole budget.
    const quick = threads > 1 ? Math.min(budget, QUICK_TRY_MS + keyed.ops.length * QUICK_TRY_MS_PER_OP) : budget;
    const r = checkLinearizable(keyed, model, { ...perKey, budgetMsPerKey: quick });
    // A worker takes the key's ops (pairs do not cross threads as they are) and pairs them there.
    // The budget is wall-clock per key: the worker spends only what the try left of it.
    if (r.unknown.length > 0 && quick < budget) {
      queue.push([key, keyed.ops, quick]);
      tried.set(key, r.searchMs?.[0]?.ms ?? 0);
    } else {
      results.set(key, r);
      failures += r.failures.length;
    }
  }
  queue.sort((a, b) => b[1].length - a[1].length);
  // The memory given is for the whole check: each thread's memo gets its share.
  const memoryMib = Math.max(1, Math.floor((options.memoryMib ?? DEFAULT_MEMO_MIB) / Math.min(threads, Math.max(1, queue.length))));
  const workers =
    queue.length === 0 ? [] : Array.from({ length: Math.min(threads, queue.length) }, () => new Worker(new URL('./key-worker.js', import.meta.url)));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let current: string | undefined;
            const next = () => {
              const item = failures < maxFailures ? queue.shift() : undefined;
              if (!item) return resolve();
              current = item[0];
              w.postMessage({ id: 0, model: model.name, initial: model.init(), ops: item[1], options: { ...perKey, memoryMib, spentMsPerKey: item[2] } });
            };
            w.on('message', (m: { result: LinearizabilityResult }) => {
              const spent = tried.get(current!) ?? 0;
              results.set(current!, { ...m.result, searchMs: m.result.searchMs?.map((x) => ({ ...x, ms: x.ms + spent })) });
              failures += m.result.failures.length;
              next();
            });
            w.on('error', reject);
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return merge(order, results, model, maxFailures);
}

/** Client keys in order of first invocation (the order checkLinearizable reports keys in). */
function keyOrder(history: PairedHistory): string[] {
  const seen = new Set<string>();
  for (const p of history.pairs) if (isClientProcess(p.invoke.process)) seen.add(p.invoke.key ?? '');
  return [...seen];
}

/** The per-key results as one, keys in history order, failures cut at `maxFailures`. */
function merge(
  order: readonly string[],
  results: ReadonlyMap<string, LinearizabilityResult>,
  model: Model<unknown>,
  maxFailures: number,
): LinearizabilityResult {
  const merged = emptyResult(model.name);
  for (const key of order) {
    const r = results.get(key);
    if (!r) continue;
    merged.keys += r.keys;
    merged.opsChecked += r.opsChecked;
    merged.failures.push(...r.failures);
    merged.unknown.push(...r.unknown);
    merged.memoEvictions.push(...r.memoEvictions);
    if (r.decidedByOrder) merged.decidedByOrder = (merged.decidedByOrder ?? 0) + r.decidedByOrder;
    for (const [method, n] of Object.entries(r.decidedBy ?? {}) as Array<[KeyMethod, number]>)
      merged.decidedBy = { ...merged.decidedBy, [method]: (merged.decidedBy?.[method] ?? 0) + n };
    if (r.searchMs) merged.searchMs = [...(merged.searchMs ?? []), ...r.searchMs];
  }
  merged.failures = merged.failures.slice(0, maxFailures);
  merged.valid = merged.failures.length > 0 ? false : merged.unknown.length > 0 ? 'unknown' : true;
  return merged;
}
