/**
 * Suites that could not fail, or faults that could never happen, are refused when the suite is
 * loaded (exit 2 from the CLI), each with one line naming the field: a nemesis target or link the
 * cluster does not have, a fault scheduled after the run ends, a gate invariant the workload cannot
 * measure, a duration no run should have, more seeds than the cap, and a disk-full fault on a
 * cluster that cannot fill one node's disk.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { loadSuite } from '../../src/suite/spec.js';

const dir = path.join(os.tmpdir(), `replab-suite-load-${process.pid}`);
const cluster = path.join(projectRoot(), 'clusters', 'three-node.yaml');
let n = 0;

beforeAll(async () => {
  await fsp.mkdir(dir, { recursive: true });
  // A user's system module: loads, and names its links itself.
  await fsp.writeFile(path.join(dir, 'mine.mjs'), 'export async function up() { throw new Error("not started in this test"); }\n');
  await fsp.writeFile(path.join(dir, 'mine.yaml'), 'system: ./mine.mjs\nnodes: [{id: n1}, {id: n2}, {id: n3}]\n');
  await fsp.writeFile(path.join(dir, 'long.yaml'), 'workload: register\ndurationSec: 1e12\n');
});

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Writes a suite whose lines follow a three-node cluster and the register workload, and loads it. */
async function load(body: string, header = `cluster: ${cluster}\nworkload: register\ndurationSec: 4\n`) {
  const file = path.join(dir, `suite-${++n}.yaml`);
  await fsp.writeFile(file, `${header}${body}\n`);
  return { file, load: () => loadSuite(file) };
}

async function refused(body: string, message: RegExp, header?: string): Promise<void> {
  const s = await load(body, header);
  const err = await s.load().then(
    () => undefined,
    (e: unknown) => e as Error & { exitCode?: number },
  );
  expect(err, `loaded: ${body}`).toBeDefined();
  expect(err!.message).toMatch(message);
  expect(err!.message.startsWith(`${s.file}: `)).toBe(true);
  expect(err!.message).not.toContain('\n');
  expect(err!.exitCode).toBe(2);
}

describe('nemesis targets and links the cluster does not have', () => {
  it.each([
    [
      'modes: [{name: a}, {name: b}, {name: async, nemesis: [{fault: kill, target: n9, at: 1s}]}]',
      /: modes\.2 \(async\) nemesis\.0\.target: "n9" is not a node of the cluster \(n1, n2, n3\)/,
    ],
    ['modes: [{name: a}]\nnemesis: [{fault: pause, target: [n1, n9], at: 1s}]', /: nemesis\.0\.target: "n9" is not a node of mode a's cluster \(n1, n2, n3\)/],
    [
      'modes: [{name: a}]\nnemesis: [{fault: kill, target: leaderr, at: 1s}]',
      /: nemesis\.0\.target: "leaderr" is not a node .*\(n1, n2, n3\) or a selector \(leader, random-follower, random-node, followers, all\)/,
    ],
    ['modes: [{name: a}]\nnemesis: [{fault: partition, target: n4, at: 1s}]', /nemesis\.0\.target: "n4" is not a node/],
    [
      'modes: [{name: a, nemesis: [{fault: latency, links: ["repl:n9->n1"], latencyMs: 5, at: 1s}]}]',
      /modes\.0 \(a\) nemesis\.0\.links: "repl:n9->n1" is not a link of the cluster \(.*repl:n2->n1.*client:n3\)/,
    ],
    [
      'modes: [{name: a, nemesis: [{fault: bandwidth, links: ["repl:*->n1"], rateKBps: 5, at: 1s}]}]',
      /modes\.0 \(a\) nemesis\.0\.links: "repl:\*->n1" is not a link/,
    ],
  ])('refuses %s', async (body, message) => {
    await refused(body, message);
  });

  it('accepts every selector, node ids and the links replab creates (a chain has every pair too)', async () => {
    const s = await load(
      [
        'modes:',
        '  - {name: a, nemesis: [{fault: kill, target: random-follower, at: 1s}, {fault: pause, target: [n2, n3], at: 2s}, {fault: partition, target: n3, at: 1s}]}',
        '  - {name: b, cluster: chain, nemesis: [{fault: latency, links: ["repl:n3->n1", "monitor:n2", "client:n3"], latencyMs: 5, at: 1s}]}',
      ].join('\n'),
    );
    const suite = await s.load();
    expect(suite.modes.map((m) => m.nemesis.length)).toEqual([3, 1]);
  });

  it("checks a PostgreSQL cluster's links by its own names, and leaves a user module's alone", async () => {
    const pg = path.join(projectRoot(), 'clusters', 'postgres.yaml');
    const ok = await load(`modes:\n  - {name: a, cluster: ${pg}, nemesis: [{fault: latency, links: ["repl:*->n1", "repl:*->n2.api"], latencyMs: 5, at: 1s}]}`);
    expect((await ok.load()).modes[0]!.nemesis).toHaveLength(1);
    await refused(
      `modes:\n  - {name: a, cluster: ${pg}, nemesis: [{fault: latency, links: ["repl:n2->n1"], latencyMs: 5, at: 1s}]}`,
      /nemesis\.0\.links: "repl:n2->n1" is not a link of the cluster \(repl:\*->n1, /,
    );
    const mine = await load(`modes:\n  - {name: a, cluster: ./mine.yaml, nemesis: [{fault: latency, links: ["anything:n1"], latencyMs: 5, at: 1s}]}`);
    expect((await mine.load()).modes[0]!.nemesis).toHaveLength(1);
    // Its nodes are the spec's, so targets are still checked.
    await refused('modes:\n  - {name: a, cluster: ./mine.yaml, nemesis: [{fault: kill, target: n9, at: 1s}]}', /nemesis\.0\.target: "n9" is not a node/);
  });
});

describe('faults outside the run', () => {
  it.each([
    ['nemesis: [{fault: kill, at: 1000s}]', /nemesis\.0\.at: 1000 s is not before the end of the run \(durationSec 4\)/],
    ['nemesis: [{fault: kill, at: 4s}]', /nemesis\.0\.at: 4 s is not before the end of the run/],
    ['nemesis: [{fault: kill, every: 10s, for: 1s}]', /nemesis\.0\.every: the first start \(10 s\) is not before the end of the run \(durationSec 4\)/],
    ['nemesis: [{fault: kill, every: 2s, from: 5s, for: 1s}]', /nemesis\.0\.from: the first start \(5 s\) is not before the end of the run/],
  ])('refuses %s', async (nemesis, message) => {
    await refused(`modes: [{name: a}]\n${nemesis}`, message);
  });

  it('accepts faults that start inside the run, even when they last past its end', async () => {
    const s = await load(
      'modes: [{name: a}]\nnemesis: [{fault: kill, at: 3900ms, for: 10s}, {fault: pause, every: 3s, for: 1s}, {fault: restart, every: 10s, from: 0s}]',
    );
    expect((await s.load()).modes[0]!.nemesis).toHaveLength(3);
  });
});

describe('gate invariants the workload cannot measure', () => {
  it.each([
    ['modes: [{name: a, workload: set}]\ngate: {"*": [linearizable]}', /gate\.\*: "linearizable" cannot be measured on mode a's workload \(set\)/],
    ['modes: [{name: a, workload: set}]\ngate: {a: [lostAcked == 0, "linearizable != false"]}', /gate\.a: "linearizable != false" cannot be measured/],
    [
      'modes: [{name: a, workload: set, gate: [staleReads == 0]}]',
      /modes\.0\.gate: "staleReads == 0" cannot be measured on mode a's workload \(set\): it makes no reads/,
    ],
    [
      'modes: [{name: a, workload: set, gate: [readsOfLostWrites == 0]}]',
      /modes\.0\.gate: "readsOfLostWrites == 0" cannot be measured on mode a's workload \(set\): it makes no reads/,
    ],
    [
      'modes: [{name: a, workload: set, workloadOverrides: {readShare: 0.3}, gate: [staleReads == 0]}]',
      /modes\.0\.gate: "staleReads == 0" cannot be measured on mode a's workload \(set\): its reads \(readShare\) are judged for readsOfLostWrites only/,
    ],
    [
      'modes: [{name: a, workloadOverrides: {mix: {read: 1, write: 0, cas: 1}}, gate: [p99WriteMs < 50]}]',
      /modes\.0\.gate: "p99WriteMs < 50" cannot be measured on mode a's workload \(register\): .*mix\.write is 0/,
    ],
  ])('refuses %s', async (body, message) => {
    await refused(body, message);
  });

  it('accepts lostAcked on the set workload and linearizable on the register', async () => {
    const s = await load('modes: [{name: a, workload: set, gate: [lostAcked > 0]}, {name: b, gate: [linearizable]}]');
    expect((await s.load()).modes.map((m) => m.gate.length)).toEqual([1, 1]);
  });
});

describe('durations and seeds', () => {
  it('refuses a run longer than 24 hours, from the suite or from its workload', async () => {
    await refused(
      'modes: [{name: a}]',
      /: durationSec: 1000000000000 s is longer than 24 h \(86400 s\)/,
      `cluster: ${cluster}\nworkload: register\ndurationSec: 1e12\n`,
    );
    await refused('modes: [{name: a}]', /: workload durationSec: 1000000000000 s is longer than 24 h/, `cluster: ${cluster}\nworkload: ./long.yaml\n`);
    await refused('modes: [{name: a}]\nwarmupSec: 1e12', /: warmupSec: 1000000000000 s is longer than 24 h/);
  });

  it('refuses more seeds than the cap, as a count or as a list, and a seed listed twice', async () => {
    await refused('modes: [{name: a}]\nseeds: 101', /: seeds: 101 seeds is more than the cap of 100/);
    await refused(`modes: [{name: a}]\nseeds: [${Array.from({ length: 101 }, (_, i) => i).join(', ')}]`, /: seeds: 101 seeds is more than the cap of 100/);
    await refused('modes: [{name: a}]\nseeds: [7, 11, 7]', /: seeds\.2: seed 7 appears twice/);
    const s = await load(`modes: [{name: a}]\nseeds: [${Array.from({ length: 100 }, (_, i) => i).join(', ')}]`);
    expect((await s.load()).seeds).toHaveLength(100);
  });
});

describe('disk-full', () => {
  const volume = 'clusterOverrides: {storage: {volumeMiB: 64}}';
  it("is accepted at load for a user's module, with clock and switchover: its fillDisk, setClock and switchover are asked for once it is up", async () => {
    const s = await load(
      'modes: [{name: a, cluster: ./mine.yaml, nemesis: [{fault: disk-full, at: 1s}, {fault: clock, rate: 0.5, at: 1s}, {fault: switchover, target: n2, at: 2s}]}]',
    );
    expect((await s.load()).modes[0]!.nemesis.map((n) => n.fault)).toEqual(['disk-full', 'clock', 'switchover']);
  });

  it('a kind of link inside a list of link names is refused at load, also for a module (it would match no link)', async () => {
    await refused(
      'modes: [{name: a, cluster: ./mine.yaml, nemesis: [{fault: latency, links: [repl], latencyMs: 50, at: 1s}]}]',
      /modes\.0 \(a\) nemesis\.0\.links: "repl" is a kind of link, not a link's name: write links: repl for every such link/,
    );
  });

  it('power-loss is refused at load on a built-in system whose nodes lose nothing when killed', async () => {
    await refused(
      `modes: [{name: a, cluster: ${path.join(projectRoot(), 'clusters', 'postgres.yaml')}, nemesis: [{fault: power-loss, at: 1s}]}]`,
      /modes\.0 \(a\) nemesis\.0\.fault: power-loss needs nodes that lose unsynced writes when killed; only replab's can \(this cluster: system postgres\)/,
    );
  });

  it('is accepted for replab on the process backend with a volume per node', async () => {
    const s = await load(`${volume}\nmodes: [{name: a, nemesis: [{fault: disk-full, target: n2, at: 1s, for: 1s}]}]`);
    expect((await s.load()).modes[0]!.nemesis[0]!.fault).toBe('disk-full');
  });

  it.each([
    [
      `modes: [{name: a, cluster: ${path.join(projectRoot(), 'clusters', 'postgres.yaml')}, nemesis: [{fault: disk-full, at: 1s}]}]`,
      /modes\.0 \(a\) nemesis\.0\.fault: disk-full needs system replab on the process backend \(this cluster: system postgres, backend process\)/,
    ],
    [
      'modes: [{name: a, clusterOverrides: {backend: docker}, nemesis: [{fault: disk-full, at: 1s}]}]',
      /modes\.0 \(a\) nemesis\.0\.fault: disk-full needs system replab on the process backend \(this cluster: system replab, backend docker\)/,
    ],
    [
      'modes: [{name: a, nemesis: [{fault: disk-full, target: n2, at: 1s}]}]',
      /modes\.0 \(a\) nemesis\.0\.fault: disk-full needs each node's data dir on a volume of its own: set storage\.volumeMiB/,
    ],
    [
      `${volume}\nmodes: [{name: a, nemesis: [{fault: disk-full, target: n7, at: 1s}]}]`,
      /modes\.0 \(a\) nemesis\.0\.target: "n7" is not a node of the cluster/,
    ],
  ])('is refused: %s', async (body, message) => {
    await refused(body, message);
  });
});

describe('switchover', () => {
  it('is accepted to one node or a random follower of a replab cluster', async () => {
    const s = await load('modes: [{name: a, nemesis: [{fault: switchover, target: n2, at: 1s}, {fault: switchover, target: random-follower, at: 2s}]}]');
    expect((await s.load()).modes[0]!.nemesis.map((n) => n.fault)).toEqual(['switchover', 'switchover']);
  });

  it.each([
    ['modes: [{name: a, nemesis: [{fault: switchover, target: [n2, n3], at: 1s}]}]', /nemesis\.0\.target: a switchover goes to one node/],
    ['modes: [{name: a, nemesis: [{fault: switchover, target: followers, at: 1s}]}]', /nemesis\.0\.target: a switchover goes to one node/],
    [
      `modes: [{name: a, cluster: ${path.join(projectRoot(), 'clusters', 'postgres.yaml')}, nemesis: [{fault: switchover, target: n2, at: 1s}]}]`,
      /nemesis\.0\.fault: a planned switchover goes through replab's monitor; system postgres/,
    ],
  ])('%s is refused', async (body, message) => {
    await refused(body, message);
  });
});

describe('a gate on a metric the system cannot measure', () => {
  const pg = path.join(projectRoot(), 'clusters', 'postgres.yaml');
  it('refuses splitBrainWrites for PostgreSQL, whose acknowledgements carry no epoch', async () => {
    await refused(
      `modes: [{name: a, cluster: ${pg}}]\ngate:\n  "*": [splitBrainWrites == 0]`,
      /mode a: gate "splitBrainWrites == 0" \(.*gate\.\*.*\) tests splitBrainWrites, which system postgres cannot measure/,
    );
  });

  it('refuses it for a module that declares it cannot measure it, and takes it from one that can', async () => {
    await fsp.writeFile(
      path.join(dir, 'noepoch.mjs'),
      'export const capabilities = { splitBrainWrites: false };\nexport async function up() { throw new Error("not started"); }\n',
    );
    await fsp.writeFile(path.join(dir, 'noepoch.yaml'), 'system: ./noepoch.mjs\nnodes: [{id: n1}, {id: n2}, {id: n3}]\n');
    await refused(
      `modes: [{name: b, cluster: ${path.join(dir, 'noepoch.yaml')}, gate: [splitBrainWrites == 0]}]`,
      /mode b: gate "splitBrainWrites == 0" .* which system .*noepoch\.mjs cannot measure/,
    );
    const ok = await load(`modes: [{name: c, cluster: ${path.join(dir, 'mine.yaml')}, gate: [splitBrainWrites == 0]}]`);
    await expect(ok.load()).resolves.toBeDefined();
  });

  it('names a capability a module declares wrongly', async () => {
    await fsp.writeFile(path.join(dir, 'badcaps.mjs'), 'export const capabilities = { splitBrain: false };\nexport async function up() {}\n');
    await fsp.writeFile(path.join(dir, 'badcaps.yaml'), 'system: ./badcaps.mjs\nnodes: [{id: n1}]\n');
    // Like every fault of the module itself, named by the module's path (as a module that does not load is).
    const s = await load(`modes: [{name: d, cluster: ${path.join(dir, 'badcaps.yaml')}}]`);
    await expect(s.load()).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(
        /^system module .*badcaps\.mjs: capabilities\.splitBrain is not a capability \(known: splitBrainWrites, lagUnit, lagMsStep\)$/,
      ),
    });
  });
});

describe("a module's settings, mode words and capabilities", () => {
  /** A module with a settings schema and describeMode, in a cluster with `settings` (YAML flow text). */
  async function withSettings(settings: string, extra = ''): Promise<string> {
    await fsp.writeFile(
      path.join(dir, 'set.mjs'),
      `export const settingsSchema = {
  server: { type: 'string', default: 'redis-server' },
  waitMs: { type: 'integer', min: 1, default: 1000 },
  fsync: { type: 'string', enum: ['always', 'everysec'], optional: true },
  zone: { type: 'string' },
};
export const capabilities = { lagUnit: 'bytes', lagMsStep: 1000 };
export function describeMode(spec) { return 'WAIT ' + spec.settings.waitMs + ' ms, zone ' + spec.settings.zone; }
export async function up() {}
${extra}`,
    );
    await fsp.writeFile(path.join(dir, 'set.yaml'), `system: ./set.mjs\nnodes: [{id: n1}, {id: n2}]\nsettings: ${settings}\n`);
    return path.join(dir, 'set.yaml');
  }

  it('checks settings against the schema, fills defaults, and keeps the mode words and the lag unit', async () => {
    const s = await (await load(`modes: [{name: m, cluster: ${await withSettings('{zone: eu, waitMs: 250}')}}]`)).load();
    const mode = s.modes[0]!;
    expect(mode.cluster.settings).toEqual({ zone: 'eu', waitMs: 250, server: 'redis-server' });
    expect(mode.settingsText).toBe('WAIT 250 ms, zone eu');
    expect(mode.lagUnit).toBe('bytes');
    expect(mode.lagMsStep).toBe(1000);
  });

  it("words a built-in system's modes in that system's terms, and a module's without describeMode by the spec alone", async () => {
    const pg = path.join(dir, 'pg-words.yaml');
    await fsp.writeFile(pg, 'system: postgres\nnodes: [{id: n1}, {id: n2}]\n');
    const s = await (
      await load(`modes: [{name: p, cluster: ${pg}, replication: {mode: semi-sync, k: 1}}, {name: u, cluster: ${path.join(dir, 'mine.yaml')}}]`)
    ).load();
    expect(s.modes[0]!.settingsText).toBe('PostgreSQL + Patroni: synchronous_mode, 1 sync standby, synchronous_commit on');
    expect(s.modes[1]!.settingsText).toMatch(/^async \(as the spec asks; how mine\.mjs does it is the module's own\)$/);
    expect(s.modes[1]!.settingsText).not.toMatch(/fsync|fencing|block/);
  });

  it.each([
    ['{zone: eu, wait: 5}', /settings\.wait: not a setting of system module .*set\.mjs \(settings: server, waitMs, fsync, zone\)$/],
    ['{zone: eu, waitMs: "x"}', /settings\.waitMs: expected an integer, got a string \("x"\)$/],
    ['{zone: eu, waitMs: 0}', /settings\.waitMs: expected at least 1, got 0$/],
    ['{zone: eu, fsync: sometimes}', /settings\.fsync: expected one of always, everysec, got a string \("sometimes"\)$/],
    ['{waitMs: 5}', /settings\.zone: required by system module .*set\.mjs$/],
  ])('refuses settings %s naming the field', async (settings, message) => {
    await refused(`modes: [{name: m, cluster: ${await withSettings(settings)}}]`, message);
  });

  it('refuses settings for a built-in system, and for a module that declares none', async () => {
    await fsp.writeFile(path.join(dir, 'builtin-set.yaml'), 'nodes: [{id: n1}]\nsettings: {x: 1}\n');
    await refused(
      `modes: [{name: m, cluster: ${path.join(dir, 'builtin-set.yaml')}}]`,
      /settings: only a system module takes settings of its own; system replab/,
    );
    await fsp.writeFile(path.join(dir, 'plain-set.yaml'), 'system: ./mine.mjs\nnodes: [{id: n1}]\nsettings: {x: 1}\n');
    await refused(`modes: [{name: m, cluster: ${path.join(dir, 'plain-set.yaml')}}]`, /settings\.x: system module .*mine\.mjs declares no settings/);
  });

  it('refuses a malformed schema, lag unit or describeMode answer, naming the module', async () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        'badschema',
        "export const settingsSchema = { a: { type: 'text' } };",
        /^system module .*badschema\.mjs: settingsSchema\.a needs a type: string, number, integer or boolean$/,
      ],
      [
        'badunit',
        "export const capabilities = { lagUnit: 'pages' };",
        /^system module .*badunit\.mjs: capabilities\.lagUnit is a string \("pages"\), not one of records, bytes, seconds, or null$/,
      ],
      [
        'baddesc',
        'export const describeMode = () => 42;',
        /^system module .*baddesc\.mjs: describeMode\(\) returned a number \(42\), not one line of at most 200 characters$/,
      ],
    ];
    for (const [name, body, message] of cases) {
      await fsp.writeFile(path.join(dir, `${name}.mjs`), `${body}\nexport async function up() {}\n`);
      await fsp.writeFile(path.join(dir, `${name}.yaml`), `system: ./${name}.mjs\nnodes: [{id: n1}]\n`);
      const s = await load(`modes: [{name: m, cluster: ${path.join(dir, `${name}.yaml`)}}]`);
      await expect(s.load(), name).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(message) });
    }
  });
});
