/** Checkpoint encoding: the sliced encoder writes exactly the bytes of the one-pass definition. */

import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotYielding, type Snapshot } from '../../src/kv/state/snapshot.js';
import { systemClock } from '../../src/lib/io/clock.js';

describe('encodeSnapshotYielding', () => {
  it('equals encodeSnapshot for empty, small and many-slice states, unicode and escapes included', async () => {
    const states: Snapshot[] = [
      { lsn: 0, epoch: 0, timeMs: 0, entries: [] },
      {
        lsn: 2 ** 40 + 3,
        epoch: 7,
        timeMs: 1764441234567.25,
        entries: [
          ['k', 'v'],
          ['ключ', 'значение "quoted" \\ \n\u0001 😀'],
        ],
      },
      { lsn: 5000, epoch: 2, timeMs: 1, entries: Array.from({ length: 5000 }, (_, i): [string, string] => [`key-${i}`, 'x'.repeat(i % 700)]) },
    ];
    for (const s of states) {
      const sliced = await encodeSnapshotYielding(s, systemClock, 4096);
      expect(sliced.equals(encodeSnapshot(s))).toBe(true);
      expect(decodeSnapshot(sliced, 'test')).toEqual(s);
    }
  });
});
