/**
 * runNemesis with a cluster whose process control fails: the fault that cannot start is an event
 * with its error (what run-one turns into RunResult.nemesisErrors), the run goes on, and a fault
 * that did start is stopped at its time. A fault that cannot be made at all (bad input: a node or
 * link the system does not have) stops the schedule instead.
 */
import { describe, expect, it } from 'vitest';
import type { NemesisCluster } from '../../src/faults/nemesis/faults.js';
import { parseNemesisSchedule, runNemesis } from '../../src/faults/nemesis/schedule.js';

function cluster(killFails: boolean): NemesisCluster & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    nodeIds: () => ['n1', 'n2', 'n3'],
    currentLeaderId: async () => 'n1',
    links: () => ({}),
    // Process faults never touch the proxy; an empty client is enough.
    toxiproxy: () => ({}) as never,
    kill: async (id) => {
      calls.push(`kill ${id}`);
      if (killFails) throw new Error(`cannot kill ${id}: no such process`);
    },
    pause: async (id) => void calls.push(`pause ${id}`),
    resume: async (id) => void calls.push(`resume ${id}`),
    restart: async (id) => void calls.push(`restart ${id}`),
    simulatesPowerLoss: () => false,
  };
}

describe('runNemesis', () => {
  it('reports a fault that could not start, and carries on with the next', async () => {
    const c = cluster(true);
    const steps = parseNemesisSchedule(
      [
        { fault: 'kill', target: 'leader', at: '0.05s', for: '0.05s' },
        { fault: 'pause', target: 'n2', at: '0.1s', for: '0.05s' },
      ],
      'test',
    );
    const events = await runNemesis({ cluster: c, steps, durationMs: 400, seed: 1 });
    const kill = events.find((e) => e.f === 'start-kill')!;
    expect(kill.value.error).toBe('cannot kill n1: no such process');
    expect(events.map((e) => e.f)).toEqual(['start-kill', 'start-pause', 'stop-pause']);
    expect(c.calls).toEqual(['kill n1', 'pause n2', 'resume n2']);
  });

  it('gives up on a fault whose start never returns, and still ends the run on time', async () => {
    const c = cluster(false);
    // A system whose kill never settles (a user module that hangs).
    c.kill = () => new Promise<void>(() => {});
    const steps = parseNemesisSchedule([{ fault: 'kill', target: 'n2', at: '0.05s', for: '0.05s' }], 'test');
    const t0 = Date.now();
    const events = await runNemesis({ cluster: c, steps, durationMs: 600, seed: 1, stepTimeoutMs: 200 });
    expect(events.find((e) => e.f === 'start-kill')!.value.error).toMatch(/starting kill did not finish within 200 ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('stops at a fault the suite asks for that cannot be made (a node the system does not have), after undoing what it started', async () => {
    const c = cluster(false);
    const steps = parseNemesisSchedule(
      [
        { fault: 'pause', target: 'n2', at: '0.05s', for: '1s' },
        { fault: 'kill', target: 'n9', at: '0.1s', for: '0.05s' },
      ],
      'test',
    );
    await expect(runNemesis({ cluster: c, steps, durationMs: 2000, seed: 1 })).rejects.toThrow('nemesis target "n9" is not a node or selector');
    // The pause that had started was undone; the run did not go on to its end without the kill.
    expect(c.calls).toEqual(['pause n2', 'resume n2']);
  });
});
