/**
 * Split-brain writes: writes acknowledged by a leader of epoch e after some write of a higher
 * epoch had already been acknowledged — two leaders accepting writes at once, which fencing must
 * prevent. Needs the `epoch` the node reported on each ok (replab's workloads record it).
 */
import { isClientProcess, type Op, WRITE_FS } from '../history/op.js';

export interface SplitBrainResult {
  /** Acknowledged writes from a superseded epoch after the newer epoch acknowledged one. */
  splitBrainWrites: number;
  /** Up to 10 of them, for a terminal. */
  samples: SplitBrainWrite[];
  /** Every one of them (the report draws each on a timeline). */
  writes: SplitBrainWrite[];
  /** Distinct epochs that acknowledged writes. */
  epochs: number[];
}

export interface SplitBrainWrite {
  /** History index of the acknowledgement. */
  index: number;
  epoch: number;
  node?: string;
  key?: string;
  newerEpoch: number;
}

export function checkSplitBrain(history: readonly Op[]): SplitBrainResult {
  const acks = history.filter((op) => op.type === 'ok' && isClientProcess(op.process) && WRITE_FS.has(op.f) && typeof op.epoch === 'number');
  let highest = 0;
  let count = 0;
  const writes: SplitBrainWrite[] = [];
  const epochs = new Set<number>();
  // History order is completion order: walk it, remembering the highest epoch acknowledged so far.
  for (const op of acks) {
    const e = op.epoch!;
    epochs.add(e);
    if (e < highest) {
      count++;
      writes.push({ index: op.index, epoch: e, node: op.node, key: op.key, newerEpoch: highest });
    }
    highest = Math.max(highest, e);
  }
  return { splitBrainWrites: count, samples: writes.slice(0, 10), writes, epochs: [...epochs].sort((a, b) => a - b) };
}
