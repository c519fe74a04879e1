/** The key-value state machine: applies WAL ops in LSN order. Pure and in memory. */
import type { Op } from '../wal/record.js';

export class KvState {
  private readonly map = new Map<string, string>();
  private at = 0;

  /** The LSN of the last op applied. */
  get lsn(): number {
    return this.at;
  }

  /** The whole state, read-only (a checkpoint copies it). */
  get data(): ReadonlyMap<string, string> {
    return this.map;
  }

  apply(lsn: number, op: Op): void {
    if (op.type === 'put') this.map.set(op.key, op.value);
    else this.map.delete(op.key);
    this.at = lsn;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  reset(lsn: number, entries: Iterable<readonly [string, string]>): void {
    this.map.clear();
    for (const [k, v] of entries) this.map.set(k, v);
    this.at = lsn;
  }

  /** Keys starting with `prefix`, sorted, with their values. */
  scan(prefix: string): Array<{ key: string; value: string }> {
    const out: Array<{ key: string; value: string }> = [];
    for (const [key, value] of this.map) if (key.startsWith(prefix)) out.push({ key, value });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
