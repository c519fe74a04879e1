/**
 * A workload's `reads:` names a routing policy (or the older `leader` / `followers`), is refused
 * naming the field when it is neither, and reaches the data client as that policy; under
 * `session` each register client slot sends the highest LSN it has seen.
 */
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/client/kv-http.js';
import { Rng } from '../../src/lib/rng.js';
import type { DataClient, ReadRequest } from '../../src/workloads/data-client.js';
import { createWorkload } from '../../src/workloads/driver.js';
import { parseWorkloadSpec } from '../../src/workloads/spec.js';

const spec = (reads: unknown) => parseWorkloadSpec({ workload: 'register', reads, mix: { read: 1, write: 1, cas: 0 } }, 'w.yaml');

/** A data client that answers every write with the next LSN and records what reads asked for. */
function recordingClient(): DataClient & { reads: Array<ReadRequest & { highest: number | null }> } {
  let lsn = 0;
  const reads: Array<ReadRequest & { highest: number | null }> = [];
  const ok = (): Promise<Outcome> => Promise.resolve({ type: 'ok', value: null, node: 'n1', lsn: ++lsn });
  return {
    reads,
    read: (req) => {
      // Every operation so far was answered ok with the next LSN: the highest one handed out is the slot's token.
      reads.push({ ...req, highest: lsn === 0 ? null : lsn });
      return ok();
    },
    write: ok,
    cas: ok,
    add: ok,
    scan: ok,
    nodeIds: () => ['n1'],
    noteLeaderHint: () => {},
    refresh: () => Promise.resolve(),
    close: () => {},
  };
}

async function run(reads: string, ops: number): Promise<Array<ReadRequest & { highest: number | null }>> {
  const w = createWorkload(spec(reads));
  const client = recordingClient();
  const rng = new Rng(5);
  for (let i = 0; i < ops; i++) {
    const op = w.next(rng, 0);
    w.observe?.(op, await w.perform(op, client, rng, 1000));
  }
  return client.reads;
}

describe('workload reads: a routing policy', () => {
  it.each(['leader', 'followers', 'leader-only', 'round-robin', 'least-lag', 'bounded-staleness:250', 'session'])('accepts %s', (reads) => {
    expect(spec(reads).reads).toBe(reads);
  });

  it('refuses anything else in one line naming the field', () => {
    expect(() => spec('nearest')).toThrow(
      'w.yaml: reads: must be leader, followers or a read policy (leader-only, round-robin, least-lag, bounded-staleness:<ms>, session), got "nearest"',
    );
    expect(() => spec('bounded-staleness:soon')).toThrow('w.yaml: reads: bounded-staleness:<ms> must be a non-negative integer, got "soon"');
    expect(() => spec(5)).toThrow(/^w\.yaml: reads: /);
  });

  it('the register passes the policy to the client: leader and followers as before, the others as named', async () => {
    expect((await run('leader', 20)).map((r) => r.policy)).toContainEqual({ kind: 'leader-only' });
    expect(new Set((await run('followers', 20)).map((r) => r.policy.kind))).toEqual(new Set(['round-robin']));
    expect(new Set((await run('bounded-staleness:250', 20)).map((r) => JSON.stringify(r.policy)))).toEqual(new Set(['{"kind":"bounded-staleness","ms":250}']));
    // Without a session the token stays null.
    expect((await run('least-lag', 20)).every((r) => r.token === null)).toBe(true);
  });

  it('under session each read carries the highest LSN the slot has seen', async () => {
    const reads = await run('session', 40);
    expect(reads.length).toBeGreaterThan(5);
    expect(reads.map((r) => r.token)).toEqual(reads.map((r) => r.highest));
    expect(reads[reads.length - 1]!.token).toBeGreaterThan(0);
  });
});
