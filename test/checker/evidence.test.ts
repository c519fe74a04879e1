/**
 * Loss and indeterminate writes decided from node logs (src/checker/evidence.ts), and the
 * linearizability verdict on log-resolved histories against a brute-force search over every
 * order of the ops (small cases, so all permutations are affordable).
 */
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { applyResolutions, checkEvidence, type EvidenceInput, type EvidenceRecord, type NodeEvidence } from '../../src/checker/evidence.js';
import { checkLoss } from '../../src/checker/loss.js';
import { type Op, PairedHistory } from '../../src/history/op.js';
import { Rng } from '../../src/lib/rng.js';

const effect: EvidenceInput['effect'] = (inv) => {
  if (inv.key === undefined) return undefined;
  if (inv.f === 'write') return { key: inv.key, value: String(inv.value) };
  if (inv.f === 'cas' && Array.isArray(inv.value)) return { key: inv.key, value: String(inv.value[1]) };
  return undefined;
};

/** A history built from [type, process, f, key, value, extra] steps; time = position. */
function hist(...steps: Array<[Op['type'], number | string, string, string | undefined, unknown, Partial<Op>?]>): Op[] {
  return steps.map(([type, process, f, key, value, extra], index) => ({ index, time: index * 1e6, process, type, f, key, value, ...extra }));
}

const rec = (lsn: number, epoch: number, key: string, value: string): EvidenceRecord => ({ lsn, epoch, key, value });

function node(
  id: string,
  records: EvidenceRecord[],
  o: { rewound?: EvidenceRecord[]; history?: Array<{ epoch: number; startLsn: number }>; checkpointLsn?: number } = {},
): NodeEvidence {
  const lastLsn = records.length ? records[records.length - 1]!.lsn : (o.checkpointLsn ?? 0);
  return {
    node: id,
    rewound: o.rewound ?? [],
    log: { epochHistory: o.history ?? [{ epoch: 1, startLsn: 1 }], lastLsn, checkpointLsn: o.checkpointLsn ?? 0, checkpointEntries: [], records },
  };
}

describe('log evidence: acknowledged writes', () => {
  // n1 led epoch 1 and acknowledged a then b (lsn 1, 2); n2 was promoted at lsn 2 in epoch 2,
  // so b (lsn 2, epoch 1) was rewound by n1 when it rejoined; c was written in epoch 2.
  const history = hist(
    ['invoke', 0, 'write', 'k', 'a'],
    ['ok', 0, 'write', 'k', 'a', { node: 'n1', lsn: 1, epoch: 1 }],
    ['invoke', 1, 'write', 'k', 'b'],
    ['ok', 1, 'write', 'k', 'b', { node: 'n1', lsn: 2, epoch: 1 }],
    ['invoke', 2, 'write', 'k', 'c'],
    ['ok', 2, 'write', 'k', 'c', { node: 'n2', lsn: 2, epoch: 2 }],
    ['invoke', 3, 'write', 'k', 'd'],
    ['info', 3, 'write', 'k', 'd', { error: 'timeout' }],
    ['invoke', 4, 'write', 'k', 'e'],
    ['info', 4, 'write', 'k', 'e', { error: 'timeout' }],
  );
  const epochs = [
    { epoch: 1, startLsn: 1 },
    { epoch: 2, startLsn: 2 },
  ];
  const nodes = [
    node('n1', [rec(1, 1, 'k', 'a'), rec(2, 2, 'k', 'c')], { history: epochs, rewound: [rec(2, 1, 'k', 'b')] }),
    node('n2', [rec(1, 1, 'k', 'a'), rec(2, 2, 'k', 'c'), rec(3, 2, 'k', 'd')], { history: epochs }),
  ];

  it('counts a write overwritten later but rewound as lost, and says where it went', () => {
    const r = checkEvidence(PairedHistory.of(history), { nodes, finalLeader: 'n2', effect });
    expect(r.acked).toBe(3);
    expect(r.survived).toBe(2);
    expect(r.lostAcked).toBe(1);
    expect(r.lost[0]).toMatchObject({ key: 'k', value: 'b', node: 'n1', epoch: 1, lsn: 2 });
    expect(r.lost[0]!.where).toBe("rewound by n1 at epoch 1, lsn 2; it never left n1 (not in any other node's log)");
    // The final reads alone cannot see it: the key ends at c, written after b.
    const finals = hist(['invoke', 'final', 'final-read', 'k', null, { node: 'n2' }], ['ok', 'final', 'final-read', 'k', 'c', { node: 'n2' }]);
    expect(checkLoss(PairedHistory.of([...history, ...finals.map((o, i) => ({ ...o, index: history.length + i }))])).lostAcked).toBe(0);
  });

  it('resolves an info write in the final log as happened, one in no log as not happened', () => {
    const r = checkEvidence(PairedHistory.of(history), { nodes, finalLeader: 'n2', effect });
    expect(r.resolutions.map((x) => [x.value, x.outcome, x.lsn])).toEqual([
      ['d', 'happened', 3],
      ['e', 'not-happened', undefined],
    ]);
    expect(r.infoResolved).toBe(2);
    expect(r.infoOpen).toBe(0);
  });

  it('leaves an info write open when a read saw it, when a node has no log, or when it is only on a rewound node', () => {
    const seen = [...history, ...hist(['invoke', 9, 'read', 'k', null], ['ok', 9, 'read', 'k', 'e']).map((o, i) => ({ ...o, index: history.length + i }))];
    expect(checkEvidence(PairedHistory.of(seen), { nodes, finalLeader: 'n2', effect }).resolutions[1]).toMatchObject({
      value: 'e',
      outcome: 'open',
      why: 'a read observed its value, yet it is in no log',
    });
    const blind = [...nodes, { node: 'n3', rewound: [], unavailable: 'data dir gone' }];
    const r = checkEvidence(PairedHistory.of(history), { nodes: blind, finalLeader: 'n2', effect });
    expect(r.resolutions[1]).toMatchObject({ outcome: 'open', why: 'in no log, but no log evidence for n3' });
    expect(r.nodesWithoutEvidence).toEqual([{ node: 'n3', why: 'data dir gone' }]);
    expect(r.message).toContain('no log evidence for n3');
    const withE = [nodes[0]!, node('n2', [rec(1, 1, 'k', 'a'), rec(2, 2, 'k', 'c')], { history: epochs, rewound: [rec(3, 2, 'k', 'e')] })];
    expect(checkEvidence(PairedHistory.of(history), { nodes: withE, finalLeader: 'n2', effect }).resolutions[1]).toMatchObject({ value: 'e', outcome: 'open' });
  });

  it('says "no log evidence" and counts nothing as lost when the final leader has no log', () => {
    const r = checkEvidence(PairedHistory.of(history), {
      nodes: [nodes[0]!, { node: 'n2', rewound: [], unavailable: 'volume removed' }],
      finalLeader: 'n2',
      effect,
    });
    expect(r.lostAcked).toBe(0);
    expect(r.unknown).toHaveLength(3);
    expect(r.unknown[0]!.why).toBe('no log evidence for n2: volume removed');
    const c = checkHistory(history, {
      model: 'register',
      evidence: { nodes: [nodes[0]!, { node: 'n2', rewound: [], unavailable: 'volume removed' }], finalLeader: 'n2', effect },
    });
    expect(c.valid).toBe('unknown');
  });

  it('below a checkpoint, (epoch, lsn) decides: the epoch history names the record at that lsn', () => {
    const compacted: NodeEvidence = {
      node: 'n2',
      rewound: [],
      log: { epochHistory: epochs, lastLsn: 3, checkpointLsn: 3, checkpointEntries: [['k', 'd']], records: [] },
    };
    const r = checkEvidence(PairedHistory.of(history), { nodes: [nodes[0]!, compacted], finalLeader: 'n2', effect });
    expect(r.survived).toBe(2); // a (1, epoch 1) and c (2, epoch 2)
    expect(r.lost.map((l) => l.value)).toEqual(['b']); // lsn 2 belongs to epoch 2 there
  });

  it('names why a write cannot be judged: no leader, a leader outside the cluster, a compacted log, a record only elsewhere', () => {
    const whys = (finalLeader: string | null, ns: NodeEvidence[]) => {
      const r = checkEvidence(PairedHistory.of(history), { nodes: ns, finalLeader, effect });
      return { acked: r.unknown.map((u) => u.why), info: r.resolutions.map((x) => [x.value, x.outcome, x.why]), message: r.message };
    };
    const none = whys(null, nodes);
    expect(new Set(none.acked)).toEqual(new Set(['no node led at the end of the run']));
    expect(none.info).toEqual([
      ['d', 'open', 'no node led at the end of the run'],
      ['e', 'open', 'no node led at the end of the run'],
    ]);
    expect(none.message).toBe("3 acknowledged write(s): 0 in the final leader's log, 0 lost, 3 unknown; 0 of 2 indeterminate write(s) resolved from the logs");
    expect(new Set(whys('n9', nodes).acked)).toEqual(new Set(['no log evidence for n9 (not in the cluster)']));
    // Compacted through lsn 3 with nothing of k left in the records: a write that carries no lsn cannot be placed.
    const bare = hist(['invoke', 0, 'write', 'k', 'a'], ['ok', 0, 'write', 'k', 'a', { node: 'n2' }]);
    const compacted: NodeEvidence = {
      node: 'n2',
      rewound: [],
      log: { epochHistory: epochs, lastLsn: 3, checkpointLsn: 3, checkpointEntries: [], records: [] },
    };
    const c = checkEvidence(PairedHistory.of(bare), { nodes: [compacted], finalLeader: 'n2', effect });
    expect(c.unknown.map((u) => u.why)).toEqual(["n2's log is compacted through lsn 3 and the write carries no lsn"]);
    // e only in n1's log, not on the final leader n2's.
    const onN1 = [node('n1', [rec(1, 1, 'k', 'a'), rec(2, 2, 'k', 'c'), rec(3, 2, 'k', 'e')], { history: epochs }), nodes[1]!];
    expect(whys('n2', onN1).info[1]).toEqual(['e', 'open', "written, but not on the final leader: only in n1's log"]);
    expect(whys('n2', onN1).message).toBe("3 acknowledged write(s): 2 in n2's log, 1 lost, 0 unknown; 1 of 2 indeterminate write(s) resolved from the logs");
  });
});

const SEEDS = Array.from({ length: 200 }, (_, i) => 500 + i);

describe('log evidence: linearizability on resolved histories matches brute force', () => {
  it('the random cases are not vacuous: log order changes the verdict in some, and some are invalid', () => {
    let changed = 0;
    let invalid = 0;
    for (const seed of SEEDS) {
      const { history, log } = randomCase(seed);
      const truth = bruteForce(history, log);
      if (!truth) invalid++;
      if (checkHistory(history, { model: 'register' }).linearizable?.valid !== truth) changed++;
    }
    expect(invalid).toBeGreaterThan(10);
    expect(changed).toBeGreaterThanOrEqual(2);
  });

  it('an info write placed by its lsn before an acknowledged one cannot be read after it', () => {
    // w1 (info, lsn 1) and w2 (ok, lsn 2) overlap; a later read returns w1's value. Log order
    // says w1 then w2, so the read must see w2: not linearizable once the logs are used.
    const history = hist(
      ['invoke', 0, 'write', 'k', 'w2'],
      ['invoke', 1, 'write', 'k', 'w1'],
      ['ok', 0, 'write', 'k', 'w2'],
      ['invoke', 2, 'read', 'k', null],
      ['ok', 2, 'read', 'k', 'w1'],
      ['info', 1, 'write', 'k', 'w1'],
    );
    const log = [rec(1, 1, 'k', 'w1'), rec(2, 1, 'k', 'w2')];
    const evidence = { nodes: [node('n1', log)], finalLeader: 'n1', effect };
    expect(checkHistory(history, { model: 'register' }).linearizable).toMatchObject({ valid: true });
    expect(checkHistory(history, { model: 'register', evidence }).linearizable).toMatchObject({ valid: false });
    expect(bruteForce(history, log)).toBe(false);
  });

  it.each(SEEDS)('seed %i: random small history, with and without log order', (seed) => {
    const { history, log } = randomCase(seed);
    const evidence = { nodes: [node('n1', log)], finalLeader: 'n1', effect };
    const checked = checkHistory(history, { model: 'register', evidence });
    const lin = checked.linearizable!;
    expect(lin.crashed).toBeFalsy();
    expect(lin.valid, `seed ${seed}`).toBe(bruteForce(history, log));
  });
});

/**
 * Small random single-key histories from a real sequential execution (so most are linearizable),
 * with some writes timing out (info) and some reads mutated; the log lists the writes that took
 * effect, in the order they did.
 */
function randomCase(seed: number): { history: Op[]; log: EvidenceRecord[] } {
  const rng = new Rng(seed);
  const events: Array<[Op['type'], number, string, string, unknown]> = [];
  const log: EvidenceRecord[] = [];
  let value: string | null = null;
  let n = 0;
  const open: Array<{ p: number; f: string; v: unknown; done: unknown; info: boolean }> = [];
  for (let p = 0; p < 4 + rng.int(4); p++) {
    const f = rng.next() < 0.4 ? 'read' : 'write';
    const v = f === 'write' ? `v${++n}` : null;
    events.push(['invoke', p, f, 'k', v]);
    const takesEffect = rng.next() < 0.8;
    const info = f === 'write' && rng.next() < 0.4;
    let observed: unknown = null;
    if (f === 'write' && (takesEffect || !info)) {
      value = v;
      log.push(rec(log.length + 1, 1, 'k', v!));
    } else if (f === 'read') {
      // Mostly the current value; sometimes a logged value from elsewhere, or one never written.
      const r = rng.next();
      observed = r < 0.3 && log.length ? rng.pick(log).value : r < 0.35 ? 'never-written' : value;
    }
    open.push({ p, f, v, done: observed, info });
    // Complete some of the open ops now, in random order.
    while (open.length && rng.next() < 0.4) {
      const o = open.splice(rng.int(open.length), 1)[0]!;
      events.push([o.info ? 'info' : 'ok', o.p, o.f, 'k', o.f === 'read' ? o.done : o.v]);
    }
  }
  for (const o of open) events.push([o.info ? 'info' : 'ok', o.p, o.f, 'k', o.f === 'read' ? o.done : o.v]);
  return { history: hist(...events), log };
}

/**
 * Ground truth by enumeration: is there an order of the ops that respects real time (an op that
 * returned before another was invoked comes first), puts the logged writes in log order, leaves
 * out writes in no log (they did not happen: every log is complete here), and reads in it only
 * what the register holds?
 */
function bruteForce(history: Op[], log: EvidenceRecord[]): boolean {
  const order = new Map(log.map((r) => [r.value, r.lsn]));
  const ops: Array<{ f: string; value: unknown; output: unknown; inv: number; ret: number; lsn?: number }> = [];
  const open = new Map<unknown, { f: string; value: unknown; inv: number }>();
  history.forEach((op, pos) => {
    if (op.type === 'invoke') open.set(op.process, { f: op.f, value: op.value, inv: pos });
    else {
      const o = open.get(op.process)!;
      const ret = op.type === 'ok' ? pos : Infinity;
      if (o.f === 'write' && !order.has(String(o.value))) return; // never took effect
      if (o.f === 'read' && op.type !== 'ok') return;
      ops.push({ f: o.f, value: o.value, output: op.value, inv: o.inv, ret, lsn: o.f === 'write' ? order.get(String(o.value)) : undefined });
    }
  });
  const used = new Array<boolean>(ops.length).fill(false);
  const search = (state: unknown, lastLsn: number, placed: number): boolean => {
    if (placed === ops.length) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const o = ops[i]!;
      // Every unplaced op that returned before this one was invoked must come first.
      if (ops.some((x, j) => !used[j] && j !== i && x.ret < o.inv)) continue;
      if (o.f === 'write' && o.lsn! <= lastLsn) continue;
      if (o.f === 'read' && o.output !== state) continue;
      used[i] = true;
      const ok = search(o.f === 'write' ? o.value : state, o.f === 'write' ? o.lsn! : lastLsn, placed + 1);
      used[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return search(null, 0, 0);
}

describe('applyResolutions', () => {
  it('annotates logged writes, fails what did not happen, completes what did at the end', () => {
    const history = hist(
      ['invoke', 0, 'write', 'k', 'a'],
      ['info', 0, 'write', 'k', 'a'],
      ['invoke', 1, 'write', 'k', 'b'],
      ['info', 1, 'write', 'k', 'b'],
      ['invoke', 2, 'read', 'k', null],
      ['ok', 2, 'read', 'k', 'a'],
    );
    const out = applyResolutions(
      PairedHistory.of(history),
      [
        { invokeIndex: 0, completeIndex: 1, process: 0, f: 'write', key: 'k', value: 'a', outcome: 'happened', lsn: 1, why: '' },
        { invokeIndex: 2, completeIndex: 3, process: 1, f: 'write', key: 'k', value: 'b', outcome: 'not-happened', why: '' },
      ],
      [rec(1, 1, 'k', 'a')],
      effect,
    );
    expect(out.map((o) => `${o.type}:${o.process}:${String(o.value)}${o.logLsn ? `@${o.logLsn}` : ''}`)).toEqual([
      'invoke:0:a@1',
      'invoke:1:b',
      'fail:1:b',
      'invoke:2:null',
      'ok:2:a',
      'ok:0:a',
    ]);
    expect(history[1]!.type).toBe('info'); // the input is untouched
  });
});
