/**
 * replab as another project installs it: `npm pack` (of the build `npm test` just made), `npm install <tarball>` into an empty project,
 * then `npx replab` — help, check, a shipped suite found by name, and a gate on the project's own
 * suite whose cluster names the project's own system module (docs/examples/my-system.mjs), with
 * JUnit XML and a markdown summary for its CI. A module missing `up`, or returning an object
 * without the system's methods, is refused with exit 2 naming what is missing.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { stateRoot } from '../helpers/cluster.js';

const dir = () => path.join(stateRoot(), `package-${process.pid}`);
/** The Redis example needs redis-server (CI installs it; elsewhere the case is skipped, saying why). */
const hasRedis = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('package test: redis-server is not installed, so the redis-primary example case is skipped (apt-get install redis-server)');
    return false;
  }
})();
const project = () => path.join(dir(), 'project');
const env = () => ({ ...process.env, REPLAB_RUN_STATE_ROOT: path.join(stateRoot(), 'package-runs') });

function npx(args: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['--no', '--', 'replab', ...args], { cwd: project(), env: env(), timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  await fsp.mkdir(project(), { recursive: true });
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir(), '--silent'], { cwd: projectRoot(), encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!;
  const tarball = path.join(dir(), packed);
  await fsp.writeFile(path.join(project(), 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: project(),
    timeout: 300_000,
    stdio: 'pipe',
  });
}, 400_000);

describe('replab installed from its tarball', () => {
  it('ships the compiled CLI, suites, clusters, workloads and docs, and no tests', async () => {
    const pkg = path.join(project(), 'node_modules', 'replab');
    for (const f of [
      'dist/src/cli/main.js',
      'bin/replab.js',
      'suites/quick.yaml',
      'clusters/three-node.yaml',
      'workloads/register.yaml',
      'README.md',
      'LICENSE',
      'docs/systems.md',
    ])
      expect(existsSync(path.join(pkg, f)), f).toBe(true);
    expect(existsSync(path.join(pkg, 'test'))).toBe(false);
    const help = await npx(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/run \[options\] <suite>/);
    const check = await npx(['check', path.join(projectRoot(), 'test', 'fixtures', 'histories', 'register-etcd002-ok.jsonl')]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^valid/);
  });

  it('gates on a shipped suite found by name (quick), with JUnit XML; an unknown name lists the shipped ones', async () => {
    // One shard of three (one run): what is tested here is finding the shipped suite and gating on
    // it from the installed package; the suite itself runs in full in `npm start` and the gates.
    const r = await npx(['run', 'quick', '--shard', '1/3', '--gate', '--junit', 'quick-junit.xml', '--reports', 'reports-quick'], 300_000);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toMatch(/^suite quick: 3 mode\(s\) .*; shard 1\/3: 1 run\(s\)/);
    expect(await fsp.readFile(path.join(project(), 'quick-junit.xml'), 'utf8')).toMatch(/<testsuites name="replab quick" tests="\d+" failures="0"/);
    const unknown = await npx(['run', 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: no suite file "nosuch" and no shipped suite of that name \(shipped: .*quick/);
  }, 360_000);

  it('gates its own suite on its own system module, and hands JUnit XML and a markdown summary to CI', async () => {
    await fsp.copyFile(path.join(projectRoot(), 'docs', 'examples', 'my-system.mjs'), path.join(project(), 'my-system.mjs'));
    await fsp.writeFile(
      path.join(project(), 'my-cluster.yaml'),
      'name: mine\nsystem: ./my-system.mjs\nnodes: [{id: n1}, {id: n2}, {id: n3}]\nheartbeatMs: 50\nfailover: {heartbeatMs: 100, failoverTimeoutMs: 800, leaseMs: 400}\n',
    );
    // The quick suite's shape (async, semi-sync, sync; a leader kill, then a leader partition), shorter.
    await fsp.writeFile(
      path.join(project(), 'suite.yaml'),
      [
        'name: mine',
        'cluster: ./my-cluster.yaml',
        'workload: register',
        'workloadOverrides: {concurrency: 4, keys: 4, rateOpsPerSec: 150}',
        'durationSec: 8',
        'nemesis:',
        '  - {fault: kill, target: leader, at: 2s, for: 1500ms}',
        '  - {fault: partition, target: leader, cut: [repl, monitor], at: 5s, for: 2s}',
        'modes:',
        '  - {name: async, replication: {mode: async}}',
        '  - {name: semi-sync, replication: {mode: semi-sync}}',
        '  - {name: sync, replication: {mode: sync}}',
        'gate:',
        '  "*": [splitBrainWrites == 0]',
        '  semi-sync: [lostAcked == 0, linearizable]',
        '  sync: [lostAcked == 0, linearizable]',
        '',
      ].join('\n'),
    );
    const r = await npx(['run', 'suite.yaml', '--gate', '--junit', 'junit.xml', '--summary', 'summary.md', '--reports', 'reports']);
    expect(r.code, r.stderr).toBe(0);
    const junit = await fsp.readFile(path.join(project(), 'junit.xml'), 'utf8');
    for (const m of ['async', 'semi-sync', 'sync']) expect(junit).toContain(`<testsuite name="mine/${m}"`);
    expect(junit).toMatch(/<testsuites name="replab mine" tests="10" failures="0"/);
    expect(await fsp.readFile(path.join(project(), 'summary.md'), 'utf8')).toMatch(/^## replab: mine — PASSED/);
  }, 120_000);

  it.skipIf(!hasRedis)(
    'gates a system replab does not ship (docs/examples/redis-primary.mjs: Redis failing over by itself), its failovers in the report, nothing left behind',
    async () => {
      await fsp.copyFile(path.join(projectRoot(), 'docs', 'examples', 'redis-primary.mjs'), path.join(project(), 'redis-primary.mjs'));
      await fsp.writeFile(
        path.join(project(), 'redis-cluster.yaml'),
        [
          'name: redis-primary',
          'system: ./redis-primary.mjs',
          'nodes: [{id: n1}, {id: n2}, {id: n3}]',
          'failover: {heartbeatMs: 200, failoverTimeoutMs: 1500, leaseMs: 700}',
          'settings: {waitTimeoutMs: 1000, appendfsync: everysec}',
          '',
        ].join('\n'),
      );
      // The primary cut from its replicas and from the module's failover loop while clients still
      // write to it: async acknowledges writes the promoted replica never gets (a control that
      // must find them); waiting for every replica acknowledges none of those.
      await fsp.writeFile(
        path.join(project(), 'redis-suite.yaml'),
        [
          'name: redis-primary',
          'cluster: ./redis-cluster.yaml',
          'workload: set',
          'workloadOverrides: {concurrency: 4, rateOpsPerSec: 150, timeoutMs: 2000}',
          'durationSec: 10',
          'nemesis:',
          '  - {fault: partition, target: leader, cut: [repl, monitor], at: 2s, for: 5s}',
          'modes:',
          '  - {name: async, replication: {mode: async}, control: true, gate: [lostAcked > 0]}',
          '  - {name: sync, replication: {mode: sync}, gate: [lostAcked == 0]}',
          '',
        ].join('\n'),
      );
      const states = env().REPLAB_RUN_STATE_ROOT;
      const r = await npx(['run', 'redis-suite.yaml', '--gate', '--reports', 'reports-redis'], 300_000);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      const runs = (await fsp.readdir(path.join(project(), 'reports-redis'))).filter((f) => f.endsWith('-redis-primary'));
      const runDir = path.join(project(), 'reports-redis', runs.sort().at(-1)!);
      // The module's own failover loop reported through options.events; the report shows it.
      const events = (await fsp.readFile(path.join(runDir, 'sync-seed1', 'events.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.find((e: { event: string }) => e.event === 'promoted')).toMatchObject({ from: 'n1', epoch: 2 });
      const html = await fsp.readFile(path.join(runDir, 'report.html'), 'utf8');
      expect(html).not.toContain('No failover in this run');
      expect(html).toContain('data-need="needed"');
      expect(html).toContain('Redis, no Sentinel: SET + WAIT 2 (1000 ms; info when fewer answer); appendfsync everysec');
      expect(html).toContain('lag (bytes)');
      const results = JSON.parse(await fsp.readFile(path.join(runDir, 'results.json'), 'utf8'));
      for (const run of results.runs) expect(run.splitBrainWrites, run.mode).toBeNull();
      expect(results.runs.find((x: { mode: string }) => x.mode === 'async').lostAcked).toBeGreaterThan(0);
      // A setting the module's schema refuses is named at load, and nothing is started.
      await fsp.writeFile(
        path.join(project(), 'redis-bad.yaml'),
        (await fsp.readFile(path.join(project(), 'redis-cluster.yaml'), 'utf8')).replace('everysec', 'sometimes'),
      );
      await fsp.writeFile(path.join(project(), 'redis-bad-suite.yaml'), 'cluster: ./redis-bad.yaml\nworkload: set\ndurationSec: 2\nmodes: [{name: a}]\n');
      const bad = await npx(['run', 'redis-bad-suite.yaml', '--reports', 'reports-redis-bad']);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toMatch(/settings\.appendfsync: expected one of always, everysec, no, got a string \("sometimes"\)/);
      // A module that fails while starting (a redis-server that does not exist) leaves no state folder behind.
      await fsp.writeFile(
        path.join(project(), 'redis-nobin.yaml'),
        (await fsp.readFile(path.join(project(), 'redis-cluster.yaml'), 'utf8')).replace(
          'waitTimeoutMs: 1000',
          'waitTimeoutMs: 1000, redisServer: /nonexistent/redis-server',
        ),
      );
      await fsp.writeFile(path.join(project(), 'redis-nobin-suite.yaml'), 'cluster: ./redis-nobin.yaml\nworkload: set\ndurationSec: 2\nmodes: [{name: a}]\n');
      const nobin = await npx(['run', 'redis-nobin-suite.yaml', '--reports', 'reports-redis-nobin'], 120_000);
      expect(nobin.code, nobin.stderr).toBe(2);
      expect(nobin.stderr).toMatch(/system module \S+redis-primary\.mjs: up\(\) failed: redis-server n1 did not answer PING/);
      expect((await fsp.readdir(states).catch(() => [] as string[])).filter((f) => f.startsWith('replab-run-'))).toEqual([]);
    },
    400_000,
  );

  it('cluster up by name and the proxy work from the installed package', async () => {
    const stateDir = path.join(dir(), 'clusters');
    const up = await npx(['cluster', 'up', 'three-node', '--state-dir', stateDir]);
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toMatch(/^cluster "three-node" up/);
    } finally {
      expect((await npx(['cluster', 'down', 'three-node', '--state-dir', stateDir, '--clean'])).code).toBe(0);
    }
    const proxy = spawn(process.execPath, [path.join(project(), 'node_modules', 'replab', 'bin', 'replab.js'), 'proxy', '--port', '0'], {
      cwd: project(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const listening = new Promise<void>((resolve) =>
      proxy.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/proxy API listening on /.test(out)) resolve();
      }),
    );
    let stderr = '';
    proxy.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // "exit 0", or the signal that killed it (a SIGTERM that beat its handler was a flake here).
    const exited = new Promise<string>((resolve) => proxy.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit ${code}`)));
    await listening;
    expect(out).toMatch(/proxy API listening on 127\.0\.0\.1:\d+/);
    proxy.kill('SIGTERM');
    expect(await exited, stderr).toBe('exit 0');
  }, 60_000);

  it('a system module without up, or whose up returns too little, is bad input naming what is missing', async () => {
    await fsp.writeFile(path.join(project(), 'no-up.mjs'), 'export const start = () => {};\n');
    await fsp.writeFile(path.join(project(), 'thin.mjs'), 'export async function up() { return { nodeIds: () => [], down: async () => {} }; }\n');
    for (const [module, message] of [
      ['./no-up.mjs', /must export a function up\(spec, options\).*it exports: start/],
      [
        './thin.mjs',
        /up\(\) returned an object without currentLeaderId, links, toxiproxy, kill, pause, resume, restart, simulatesPowerLoss, dataClient, lag, waitConverged, keepArtefacts/,
      ],
    ] as const) {
      await fsp.writeFile(path.join(project(), 'bad-cluster.yaml'), `name: bad\nsystem: ${module}\nnodes: [{id: n1}, {id: n2}]\n`);
      await fsp.writeFile(
        path.join(project(), 'bad-suite.yaml'),
        'cluster: ./bad-cluster.yaml\nworkload: register\ndurationSec: 2\nmodes:\n  - {name: async, replication: {mode: async}}\n',
      );
      const r = await npx(['run', 'bad-suite.yaml', '--reports', 'reports-bad']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  }, 60_000);
});
