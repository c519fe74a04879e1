/**
 * Checking histories within a heap bound, and never killed for it. Each file is checked in a worker
 * thread whose V8 heap is capped (`heapMib`): V8 then collects before it grows, so the process's
 * memory stays near what the check really holds (1M register ops: 581 MiB peak, against 1.4 GiB
 * when V8 may grow lazily). A file that needs more than the bound is checked again on the main
 * thread without one, and the result says so.
 */
import { Worker } from 'node:worker_threads';
import type { CheckResult } from '../checker/checker.js';
import { type ExitCode, HarnessError } from '../lib/errors.js';
import { type CheckFileOptions, checkFile } from './check-file.js';

export const DEFAULT_HEAP_MIB = 512;

export interface BoundedResult {
  result: CheckResult;
  /** False when the bounded try ran out of heap and the file was checked without a bound. */
  bounded: boolean;
}

/** What the check worker (check-worker.ts) sends back for one file. */
export type WorkerAnswer = { result: CheckResult } | { error: { message: string; exitCode?: ExitCode } };

/** What the worker is sent: one file to check. */
export interface WorkerRequest {
  file: string;
  options: CheckFileOptions;
}

export class BoundedChecker {
  private worker: Worker | undefined;

  constructor(private readonly heapMib = DEFAULT_HEAP_MIB) {}

  private spawn(): Worker {
    this.worker ??= new Worker(new URL('./check-worker.js', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: this.heapMib } });
    return this.worker;
  }

  async check(file: string, options: CheckFileOptions): Promise<BoundedResult> {
    const w = this.spawn();
    const answer = await new Promise<WorkerAnswer | { outOfMemory: true }>((resolve) => {
      const onMessage = (m: WorkerAnswer) => {
        w.off('error', onError);
        resolve(m);
      };
      const onError = (e: Error & { code?: string }) => {
        w.off('message', onMessage);
        this.worker = undefined;
        resolve(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? { outOfMemory: true } : { error: { message: e.message } });
      };
      w.once('message', onMessage);
      w.once('error', onError);
      const request: WorkerRequest = { file, options };
      w.postMessage(request);
    });
    if ('result' in answer) return { result: answer.result, bounded: true };
    if ('outOfMemory' in answer) return { result: await checkFile(file, options), bounded: false };
    if (answer.error.exitCode !== undefined) throw new HarnessError(answer.error.message, answer.error.exitCode);
    throw new Error(answer.error.message);
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
