/**
 * A user's system module (docs/systems.md) that misbehaves must not leave processes behind or hang
 * a run: `replab run` on a suite whose cluster names a module that returns a string for a client,
 * whose up() never settles, throws, or starts processes and then throws, whose client throws,
 * whose down() forgets a process or never settles. Each ends with one line naming the module and
 * what it did, the run folder records what failed, and afterwards nothing the run started is
 * running (checked by the pids the modules wrote down and by every process naming the run's
 * state folder) and no replab-run-* folder is left; also when the run is interrupted. The modules
 * wrap replab's own system, as docs/examples/my-system.mjs does.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidsMentioning } from '../../src/cluster/process-control.js';
import { cliEntry, projectRoot } from '../../src/lib/paths.js';
import { isPidRunning } from '../../src/lib/pid.js';
import { waitFor } from '../../src/lib/wait.js';
import { replab } from '../helpers/cli.js';
import { stateRoot } from '../helpers/cluster.js';

const root = () => path.join(stateRoot(), `user-module-${process.pid}`);
const replabSystem = path.join(projectRoot(), 'dist', 'src', 'systems', 'replab', 'index.js');

/**
 * A module like docs/examples/my-system.mjs; `up` is the body of its up(spec, options), which
 * has `inner()` to start replab's system and `wrap(inner)` for the object the example returns,
 * and `remember(pid)` to write a pid it started where the test can check it.
 */
function moduleText(up: string, overrides = ''): string {
  return `import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { ReplabSystem } from ${JSON.stringify(replabSystem)};
const remember = (pid) => appendFileSync(${JSON.stringify(path.join(root(), 'pids'))}, pid + '\\n');
const inner = async (spec, options) => {
  const sys = await ReplabSystem.up({ ...spec, system: 'replab' }, options);
  for (const p of sys.cluster.processes()) remember(p.pid);
  return sys;
};
const wrap = (s) => ({
  system: 'mine', stateDir: s.stateDir,
  nodeIds: () => s.nodeIds(), currentLeaderId: () => s.currentLeaderId(), links: () => s.links(), toxiproxy: () => s.toxiproxy(),
  kill: (id) => s.kill(id), pause: (id) => s.pause(id), resume: (id) => s.resume(id), restart: (id) => s.restart(id),
  simulatesPowerLoss: () => false, dataClient: (o) => s.dataClient(o), lag: () => s.lag(), waitConverged: (ms) => s.waitConverged(ms),
  down: (o) => s.down(o), keepArtefacts: (dir) => s.keepArtefacts(dir),
  ${overrides}
});
export async function up(spec, options) {
  ${up}
}
`;
}

interface Outcome {
  code: number;
  stderr: string;
  runDir: string | undefined;
}

let n = 0;

/** `replab run` of a one-mode suite on module `text`, in a state root of its own. */
async function runWith(text: string, suiteExtra = '', durationSec = 2): Promise<Outcome & { states: string }> {
  const dir = path.join(root(), `case-${++n}`);
  const states = path.join(dir, 'states');
  await fsp.mkdir(states, { recursive: true });
  await fsp.writeFile(path.join(dir, 'mine.mjs'), text);
  await fsp.writeFile(path.join(dir, 'cluster.yaml'), 'system: ./mine.mjs\nnodes: [{id: n1}, {id: n2}, {id: n3}]\nheartbeatMs: 50\n');
  await fsp.writeFile(
    path.join(dir, 'suite.yaml'),
    `name: mine\ncluster: ./cluster.yaml\nworkload: register\nworkloadOverrides: {concurrency: 2, keys: 2, rateOpsPerSec: 50}\ndurationSec: ${durationSec}\n${suiteExtra}modes: [{name: only}]\n`,
  );
  const r = await replab(['run', path.join(dir, 'suite.yaml'), '--reports', path.join(dir, 'reports')], {
    env: { REPLAB_RUN_STATE_ROOT: states },
    timeoutMs: 80_000,
  });
  const reports = await fsp.readdir(path.join(dir, 'reports')).catch(() => [] as string[]);
  const runDir = reports.find((f) => f.endsWith('-mine'));
  return { code: r.code, stderr: r.stderr, runDir: runDir && path.join(dir, 'reports', runDir), states };
}

/** Nothing the run started still runs, and its state folder is gone. */
async function expectNothingLeft(states: string): Promise<void> {
  const pids = (await fsp.readFile(path.join(root(), 'pids'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
  expect(pids.filter((pid) => isPidRunning(pid))).toEqual([]);
  expect(await pidsMentioning(states)).toEqual([]);
  expect((await fsp.readdir(states)).filter((f) => f.startsWith('replab-run-'))).toEqual([]);
}

async function runFile(runDir: string | undefined): Promise<Record<string, unknown>> {
  expect(runDir).toBeDefined();
  return JSON.parse(await fsp.readFile(path.join(runDir!, 'only-seed1', 'run.json'), 'utf8')) as Record<string, unknown>;
}

/** The last line of stderr: the error the CLI ends with (progress lines come before it). */
const lastLine = (stderr: string) => stderr.trimEnd().split('\n').at(-1) ?? '';

beforeAll(async () => {
  await fsp.mkdir(root(), { recursive: true });
});

afterAll(async () => {
  // Should a case fail, what its module started must still not outlive the test.
  for (const pid of (await fsp.readFile(path.join(root(), 'pids'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number))
    if (isPidRunning(pid)) process.kill(pid, 'SIGKILL');
  await fsp.rm(root(), { recursive: true, force: true });
});

describe('a system module that misbehaves', () => {
  it('dataClient() returning a string: exit 2 naming what is missing; the cluster it started is stopped', async () => {
    const r = await runWith(moduleText('return wrap(await inner(spec, options));', "dataClient: async () => 'not a client',"));
    expect(r.code, r.stderr).toBe(2);
    expect(lastLine(r.stderr)).toMatch(
      /^error: system module \S+mine\.mjs: dataClient\(\) returned a string \("not a client"\), not a client with read, write, cas, add, scan, nodeIds, noteLeaderHint, refresh, close/,
    );
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(await runFile(r.runDir)).toMatchObject({ error: expect.stringMatching(/dataClient\(\) returned a string/) });
    await expectNothingLeft(r.states);
  });

  it('up() that never settles (and keeps a timer): stopped after readyTimeoutSec with one line', async () => {
    const t0 = Date.now();
    const r = await runWith(moduleText('setInterval(() => {}, 1000); return new Promise(() => {});'), 'readyTimeoutSec: 3\n');
    expect(r.code, r.stderr).toBe(4);
    expect(lastLine(r.stderr)).toMatch(/^error: system module \S+mine\.mjs: up\(\) did not return within 3 s \(readyTimeoutSec\)$/);
    expect(Date.now() - t0).toBeLessThan(30_000);
    await expectNothingLeft(r.states);
  });

  it('up() that throws: exit 2 naming the module and its message', async () => {
    const r = await runWith(moduleText("throw new Error('no licence for n1');"));
    expect(r.code, r.stderr).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^error: system module \S+mine\.mjs: up\(\) failed: no licence for n1$/);
    expect(await runFile(r.runDir)).toMatchObject({ error: expect.stringMatching(/up\(\) failed: no licence for n1/) });
    await expectNothingLeft(r.states);
  });

  it('up() that starts processes and then throws: none of them is left running', async () => {
    const r = await runWith(
      moduleText(`await inner(spec, options);
  // One more process with the module's environment, one with none that names the run's folder.
  remember(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' }).pid);
  remember(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', options.stateRoot], { detached: true, stdio: 'ignore', env: {} }).pid);
  throw new Error('the fourth node would not start');`),
    );
    expect(r.code, r.stderr).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^error: system module \S+mine\.mjs: up\(\) failed: the fourth node would not start$/);
    const run = await runFile(r.runDir);
    // What the harness had to stop is on record: the proxy, three nodes, the monitor and the two extras.
    expect((run.leftRunning as unknown[]).length).toBeGreaterThanOrEqual(7);
    await expectNothingLeft(r.states);
  });

  it("a data client's operation that throws: exit 2 naming it, and the nemesis stops before the system is stopped", async () => {
    const calls = path.join(root(), 'calls');
    const log = (what: string) => `appendFileSync(${JSON.stringify(calls)}, ${JSON.stringify(what)} + ' ' + Date.now() + '\\n')`;
    const r = await runWith(
      moduleText(
        'return wrap(await inner(spec, options));',
        `kill: async (id) => { ${log('kill')}; await s.kill(id); },
  restart: async (id) => { ${log('restart')}; await s.restart(id); },
  down: async (o) => { ${log('down')}; await s.down(o); },
  dataClient: async (o) => {
    const c = await s.dataClient(o);
    let writes = 0;
    return { read: (...a) => c.read(...a), cas: (...a) => c.cas(...a), add: (...a) => c.add(...a), scan: (...a) => c.scan(...a),
      nodeIds: () => c.nodeIds(), noteLeaderHint: (l) => c.noteLeaderHint(l), refresh: () => c.refresh(), close: () => c.close(),
      write: async (...a) => { if (++writes > 15) throw new Error('socket exploded'); return c.write(...a); } };
  },`,
      ),
      'nemesis: [{fault: kill, target: n3, every: 400ms, for: 200ms}]\n',
      20,
    );
    expect(r.code, r.stderr).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^error: system module \S+mine\.mjs: the data client's write\(\) failed: socket exploded$/);
    const events = (await fsp.readFile(calls, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    // The nemesis had started, and made no call once the system was being stopped.
    expect(events).toContain('kill');
    expect(events.slice(events.indexOf('down'))).toEqual(['down', 'down']);
    await expectNothingLeft(r.states);
  });

  it('down() that returns with a process of its still running: stopped, and exit 2 naming it', async () => {
    const r = await runWith(
      moduleText(`const s = await inner(spec, options);
  // A helper the module forgets to stop in down().
  remember(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'forgotten-helper'], { detached: true, stdio: 'ignore' }).pid);
  return wrap(s);`),
    );
    expect(r.code, r.stderr).toBe(2);
    expect(lastLine(r.stderr)).toMatch(
      /^error: system module \S+mine\.mjs: down\(\) returned with 1 process still running \(\d+ \S+node -e setInterval.*forgotten-helper\); replab stopped the 1 process it left running \(run folder: /,
    );
    expect(await runFile(r.runDir)).toMatchObject({ leftRunning: [{ pid: expect.any(Number), command: expect.stringMatching(/forgotten-helper$/) }] });
    await expectNothingLeft(r.states);
  });

  it('down() that never settles: bounded by stopTimeoutSec, a clear error, results.json and run.json written, nothing left', async () => {
    const t0 = Date.now();
    const r = await runWith(moduleText('return wrap(await inner(spec, options));', 'down: () => new Promise(() => {}),'), 'stopTimeoutSec: 2\n');
    expect(r.code, r.stderr).toBe(4);
    expect(lastLine(r.stderr)).toMatch(
      /^error: system module \S+mine\.mjs: down\(\) did not return within 2 s \(stopTimeoutSec\); replab stopped the \d+ processes it left running \(run folder: .*only-seed1\)$/,
    );
    expect(Date.now() - t0).toBeLessThan(40_000);
    const run = await runFile(r.runDir);
    expect(run.teardown).toEqual(
      expect.arrayContaining([expect.objectContaining({ step: 'down', error: expect.stringMatching(/did not return within 2 s/) })]),
    );
    expect(existsSync(path.join(r.runDir!, 'results.json'))).toBe(true);
    await expectNothingLeft(r.states);
  });
});

describe('replab run interrupted', () => {
  it('SIGTERM stops the cluster it started, removes its state folder and exits 143', async () => {
    const dir = path.join(root(), 'sigterm');
    const states = path.join(dir, 'states');
    await fsp.mkdir(states, { recursive: true });
    await fsp.writeFile(
      path.join(dir, 'suite.yaml'),
      `name: long\ncluster: three-node\nclusterOverrides: {heartbeatMs: 50}\nworkload: register\nworkloadOverrides: {concurrency: 2, keys: 2, rateOpsPerSec: 50}\ndurationSec: 60\nmodes: [{name: async}]\n`,
    );
    const child = spawn(process.execPath, [cliEntry(), 'run', path.join(dir, 'suite.yaml'), '--reports', path.join(dir, 'reports')], {
      env: { ...process.env, REPLAB_RUN_STATE_ROOT: states },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Running: the workload has started, so the cluster (proxy, nodes, monitor) is up.
      expect(await waitFor(() => / · running · /.test(stderr), 30_000, 50), stderr).toBe(true);
      const running = await pidsMentioning(states);
      expect(running.length).toBeGreaterThanOrEqual(5);
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
      expect(running.filter((pid) => isPidRunning(pid))).toEqual([]);
      expect(await pidsMentioning(states)).toEqual([]);
      expect(await fsp.readdir(states)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('SIGINT while a module is still starting stops what it started so far', async () => {
    const dir = path.join(root(), 'sigint');
    const states = path.join(dir, 'states');
    await fsp.mkdir(states, { recursive: true });
    await fsp.writeFile(
      path.join(dir, 'mine.mjs'),
      moduleText(`await inner(spec, options);
  remember(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' }).pid);
  console.error('module: started, now waiting forever');
  return new Promise(() => {});`),
    );
    await fsp.writeFile(path.join(dir, 'cluster.yaml'), 'system: ./mine.mjs\nnodes: [{id: n1}, {id: n2}]\n');
    await fsp.writeFile(path.join(dir, 'suite.yaml'), 'name: mine\ncluster: ./cluster.yaml\nworkload: register\ndurationSec: 2\nmodes: [{name: only}]\n');
    const child = spawn(process.execPath, [cliEntry(), 'run', path.join(dir, 'suite.yaml'), '--reports', path.join(dir, 'reports')], {
      env: { ...process.env, REPLAB_RUN_STATE_ROOT: states },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      expect(await waitFor(() => stderr.includes('module: started'), 30_000, 50), stderr).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      await expectNothingLeft(states);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe("a system module's failover events (options.events)", () => {
  it('reach the run folder and the report, in the times given; the run leaves nothing behind', async () => {
    // The module's own failover manager "promotes" n2 once the workload runs, with figures of its own.
    const r = await runWith(
      moduleText(`const s = wrap(await inner(spec, options));
  const at = Date.now() + 1500;
  setTimeout(() => options.events.emit({ event: 'promoted', node: 'n2', epoch: 9, detectionMs: 700, promotionMs: 35, timeMs: at }), 2000);
  return s;`),
      '',
      4,
    );
    expect(r.code, r.stderr).toBe(0);
    const events = (await fsp.readFile(path.join(r.runDir!, 'only-seed1', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.epoch === 9)).toMatchObject({ event: 'promoted', node: 'n2', detectionMs: 700, promotionMs: 35 });
    // replab's own monitor (inside the wrapped system) reports through the same sink: its start is there too.
    expect(events.map((e) => e.event)).toContain('monitor-started');
    const html = await fsp.readFile(path.join(r.runDir!, 'report.html'), 'utf8');
    expect(html).not.toContain('No failover in this run');
    // node, epoch, old leader, unreachable ms (the event gave neither), detection ms, promotion ms
    expect(html).toMatch(/<td class="l">n2<\/td><td>9<\/td><td class="l">not known<\/td><td>not known<\/td><td>700<\/td><td>35<\/td>/);
    await expectNothingLeft(r.states);
  }, 90_000);

  it('a malformed event fails the run with exit 2 naming it, even when the module swallows the throw', async () => {
    const r = await runWith(
      moduleText(`const s = wrap(await inner(spec, options));
  try { options.events.emit({ event: 'promoted', epoch: 3 }); } catch {}
  return s;`),
    );
    expect(r.code, r.stderr).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^error: system module \S+mine\.mjs: events\.emit\(\): node: a "promoted" event names the new leader in `node`/);
    await expectNothingLeft(r.states);
  }, 90_000);
});

describe("faults that need a module's optional methods (docs/systems.md)", () => {
  it('a clock fault reaches the setClock the module has, and heals with it; without setClock, or with power-loss on nodes that lose nothing, exit 2 before any load', async () => {
    const calls = path.join(root(), 'clock-calls');
    const clock = 'nemesis: [{fault: clock, target: leader, rate: 0.5, at: 500ms, for: 500ms}]\n';
    // Accepted at load (the methods are on the object up() returns), and driven through the module.
    const ok = await runWith(
      moduleText(
        'return wrap(await inner(spec, options));',
        `setClock: async (id, skew) => { appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ id, ...skew }) + '\\n'); return { restarted: false }; },`,
      ),
      clock,
      3,
    );
    expect(ok.code, ok.stderr).toBe(0);
    const skews = (await fsp.readFile(calls, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; offsetMs: number; rate: number });
    expect(skews.map((s) => [s.offsetMs, s.rate])).toEqual([
      [0, 0.5],
      [0, 1],
    ]);
    expect(skews[0]!.id).toBe(skews[1]!.id);
    await expectNothingLeft(ok.states);
    // Before, a module could not have a clock fault at all (refused at load as replab-only); one
    // without setClock is now refused once it is up, and stopped.
    const missing = await runWith(moduleText('return wrap(await inner(spec, options));'), clock, 3);
    expect(missing.code, missing.stderr).toBe(2);
    expect(lastLine(missing.stderr)).toMatch(/a clock fault needs setClock\(id, \{offsetMs, rate\}\), and the system has none \(system \S+mine\.mjs\)$/);
    await expectNothingLeft(missing.states);
    // Before, this ran with the fault "not started" and passed its gate.
    const power = await runWith(
      moduleText('return wrap(await inner(spec, options));'),
      'nemesis: [{fault: power-loss, target: n2, at: 500ms, for: 500ms}]\n',
      3,
    );
    expect(power.code, power.stderr).toBe(2);
    expect(lastLine(power.stderr)).toMatch(
      /a power-loss fault needs nodes that lose unsynced writes when killed, and the system says simulatesPowerLoss\(\) false/,
    );
    await expectNothingLeft(power.states);
  }, 150_000);
});
