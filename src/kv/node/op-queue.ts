/** Pending ops kept between append and visibility, in LSN order (a queue with a moving head). */
import type { Op } from '../wal/record.js';

export interface QueuedOp {
  lsn: number;
  op: Op;
  /** The leader's wall clock when the record was written (a follower's apply delay counts from it). */
  timeMs: number;
}

export class OpQueue {
  private items: QueuedOp[] = [];
  private head = 0;

  push(lsn: number, op: Op, timeMs = 0): void {
    this.items.push({ lsn, op, timeMs });
  }

  /** The oldest queued op, if any. */
  peek(): QueuedOp | undefined {
    return this.items[this.head];
  }

  /** Forgets every op after `lsn` (records the log could not write). */
  dropAfter(lsn: number): void {
    let end = this.items.length;
    while (end > this.head && this.items[end - 1]!.lsn > lsn) end--;
    this.items.length = end;
  }

  /** Removes and returns every op with lsn ≤ upto (and, if given, written at or before `writtenBy` ms). */
  takeThrough(upto: number, writtenBy = Infinity): QueuedOp[] {
    const start = this.head;
    while (this.head < this.items.length && this.items[this.head]!.lsn <= upto && this.items[this.head]!.timeMs <= writtenBy) this.head++;
    const out = this.items.slice(start, this.head);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
