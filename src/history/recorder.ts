/**
 * Recording a history as it happens: each op is appended as one JSON line to a write stream, with
 * `index` assigned in order and `time` in monotonic nanoseconds since the recorder started. Nothing
 * is kept in memory but a counter; `close()` flushes and closes the file.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Op, OpType, Process } from './op.js';

export type OpInput = Omit<Op, 'index' | 'time'> & { time?: number };

export class HistoryRecorder {
  private readonly out: WriteStream;
  private readonly startNs: bigint;
  private index = 0;
  private closed = false;

  constructor(file: string, startNs: bigint = process.hrtime.bigint()) {
    this.out = createWriteStream(file, { flags: 'w' });
    this.startNs = startNs;
  }

  /** Nanoseconds since the recorder's start (monotonic). */
  now(): number {
    return Number(process.hrtime.bigint() - this.startNs);
  }

  record(op: OpInput): Op {
    const { time, ...rest } = op;
    const full = { index: this.index++, time: time ?? this.now(), ...rest } as Op;
    if (!this.closed) this.out.write(`${JSON.stringify(full)}\n`);
    return full;
  }

  invoke(process: Process, f: string, fields: { key?: string; value?: unknown; extra?: Record<string, unknown> } = {}): Op {
    return this.record({
      ...fields.extra,
      process,
      type: 'invoke',
      f,
      value: fields.value ?? null,
      ...(fields.key !== undefined ? { key: fields.key } : {}),
    });
  }

  complete(invoke: Op, type: Exclude<OpType, 'invoke'>, fields: Partial<Op> = {}): Op {
    return this.record({
      process: invoke.process,
      type,
      f: invoke.f,
      value: invoke.value,
      ...(invoke.key !== undefined ? { key: invoke.key } : {}),
      ...fields,
    });
  }

  get count(): number {
    return this.index;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve, reject) => this.out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}
