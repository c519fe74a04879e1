/**
 * What the linearizability search (linearizable.ts) remembers of where it has been. A search
 * configuration is a model state plus the set of ops linearized so far; reaching one again can
 * lead nowhere new (Lowe's memoisation), so the search prunes it. The linearized set needs a
 * compact identity for that, and the memo a bound on its memory.
 */

/**
 * The set of linearized op ids: every id below the watermark `w`, plus `extras` above it. Its
 * identity for the search cache is (w, |extras|, two 32-bit Zobrist hashes of extras), updated in
 * O(1) per change; two different sets collide with probability about 2^-64 per comparison.
 */
export class LinearizedSet {
  w = 0;
  private readonly extras = new Set<number>();
  private h1 = 0;
  private h2 = 0;
  private readonly z1: Uint32Array;
  private readonly z2: Uint32Array;

  constructor(size: number) {
    this.z1 = new Uint32Array(size);
    this.z2 = new Uint32Array(size);
    let seed = 0x2545f491;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < size; i++) {
      this.z1[i] = next();
      this.z2[i] = next();
    }
  }

  private toggle(id: number): void {
    this.h1 ^= this.z1[id]!;
    this.h2 ^= this.z2[id]!;
  }

  add(id: number): void {
    if (id !== this.w) {
      this.extras.add(id);
      this.toggle(id);
      return;
    }
    this.w++;
    while (this.extras.delete(this.w)) {
      this.toggle(this.w);
      this.w++;
    }
  }

  remove(id: number): void {
    if (id >= this.w) {
      if (this.extras.delete(id)) this.toggle(id);
      return;
    }
    for (let j = id + 1; j < this.w; j++) {
      this.extras.add(j);
      this.toggle(j);
    }
    this.w = id;
  }

  has(id: number): boolean {
    return id < this.w || this.extras.has(id);
  }

  /** A number when nothing above the watermark is linearized (the common case), else a string. */
  key(): number | string {
    return this.extras.size === 0 ? this.w : `${this.w}:${this.extras.size}:${this.h1}:${this.h2}`;
  }
}

// What the memo costs in the process's RSS, calibrated on kv searches here (a 64 MiB cap gave
// 380 MB RSS before calibration): a Map entry, a Set, a Set item, strings at 2 bytes a character,
// all times the garbage a search leaves between collections.
const ENTRY_BYTES = 300;
const SET_BYTES = 600;
const SET_ITEM_BYTES = 150;
const keyBytes = (k: unknown) => (typeof k === 'string' ? 90 + 8 * k.length : 0);

/**
 * The configurations visited, within a memory budget: model state key → the linearized-set key
 * seen with it, or a Set of them once there are several (most states are only ever reached with
 * one, and a Set each is heavy). When the estimate passes the budget everything is forgotten and
 * the search goes on: the memo only prunes repeats, so the verdict stays exact; the search may
 * revisit configurations (slower), and `evictions` says how often that happened.
 */
export class VisitedConfigurations {
  private readonly seen = new Map<unknown, number | string | Set<number | string>>();
  private bytes = 0;
  /** How many times the memo filled up and was cleared. */
  evictions = 0;

  constructor(private readonly capBytes: number) {}

  /** Records the configuration; false when it had been visited (since the last clearing). */
  visit(stateKey: unknown, linKey: number | string): boolean {
    const seen = this.seen.get(stateKey);
    if (seen === undefined) {
      this.seen.set(stateKey, linKey);
      this.bytes += ENTRY_BYTES + keyBytes(stateKey) + keyBytes(linKey);
    } else if (seen instanceof Set) {
      if (seen.has(linKey)) return false;
      seen.add(linKey);
      this.bytes += SET_ITEM_BYTES + keyBytes(linKey);
    } else {
      if (seen === linKey) return false;
      this.seen.set(stateKey, new Set([seen, linKey]));
      this.bytes += SET_BYTES + keyBytes(linKey);
    }
    if (this.bytes > this.capBytes) {
      this.seen.clear();
      this.bytes = 0;
      this.evictions++;
    }
    return true;
  }
}
