/** The key-value state machine: applies WAL ops in LSN order. Pure and in memory. */
import type { Op } from './record.js';

export class KvState {
  readonly data = new Map<string, string>();
  /** The LSN of the last op applied. */
  lsn = 0;

  apply(lsn: number, op: Op): void {
    if (op.type === 'put') this.data.set(op.key, op.value);
    else this.data.delete(op.key);
    this.lsn = lsn;
  }

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  reset(lsn: number, entries: Iterable<[string, string]>): void {
    this.data.clear();
    for (const [k, v] of entries) this.data.set(k, v);
    this.lsn = lsn;
  }

  /** Keys starting with `prefix`, sorted, with their values. */
  scan(prefix: string): Array<{ key: string; value: string }> {
    const out: Array<{ key: string; value: string }> = [];
    for (const [key, value] of this.data) if (key.startsWith(prefix)) out.push({ key, value });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
