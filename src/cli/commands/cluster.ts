/** `replab cluster up|down|status|kill|pause|resume|restart|switchover|add-follower`: a cluster on this machine. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ReplabCluster } from '../../cluster/replab-cluster.js';
import { loadClusterSpec } from '../../cluster/spec.js';
import { REPLICATION_MODES } from '../../lib/modes.js';
import { choiceFlag } from '../options.js';

const STATE_ROOT_HELP = 'folder holding cluster state';

/** CLUSTER is a cluster name, or a spec file whose name (or base name) is the cluster's. */
async function clusterName(arg: string): Promise<string> {
  if (/\.ya?ml$/.test(arg) && existsSync(arg)) return (await loadClusterSpec(arg)).name;
  return arg;
}

function printStatus(rows: Array<Record<string, unknown>>): void {
  const header = ['node', 'role', 'http', 'repl', 'pid', 'epoch', 'lastLsn', 'appliedLsn', 'state'];
  const lines = [header, ...rows.map((r) => header.map((h) => String(r[h] ?? '-')))];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

async function printMonitor(cluster: ReplabCluster): Promise<void> {
  const m = await cluster.monitorStatus(500);
  if (!m) {
    console.log('monitor: not answering (no failover until it is back)');
    return;
  }
  const f = m.failover;
  const why = f.state === 'blocked' && f.why ? ` (${f.why})` : '';
  console.log(`monitor: ${cluster.monitorHttp}  leader ${String(m.leader)}  epoch ${String(m.epoch)}  ${f.state}${why}`);
}

async function statusRows(cluster: ReplabCluster): Promise<Array<Record<string, unknown>>> {
  const rows = [];
  for (const ep of cluster.endpoints()) {
    const running = await cluster.isRunning(ep.id);
    const st = running ? await cluster.status(ep.id, 500) : undefined;
    rows.push({
      node: ep.id,
      http: ep.http,
      repl: ep.repl,
      pid: ep.pid,
      role: st?.role,
      epoch: st?.epoch,
      lastLsn: st?.lastLsn,
      appliedLsn: st?.appliedLsn,
      state: !running ? 'down' : st ? (st.degraded ? 'degraded' : 'up') : 'not answering (paused?)',
    });
  }
  return rows;
}

export function registerClusterCommand(program: Command): void {
  const cluster = program.command('cluster').description('start, inspect and break a cluster of KV nodes on this machine');
  const root = (c: Command) => c.option('--state-dir <dir>', STATE_ROOT_HELP, '.replab');

  root(cluster.command('up <spec>').description('start the cluster in SPEC and return once replication is connected'))
    .option('--mode <mode>', "override the spec's replication mode", choiceFlag('--mode', REPLICATION_MODES))
    .action(async (specFile: string, o: { mode?: 'async' | 'semi-sync' | 'sync'; stateDir: string }) => {
      const spec = await loadClusterSpec(specFile);
      const c = await ReplabCluster.up(spec, { stateRoot: o.stateDir, mode: o.mode });
      c.detach();
      console.log(`cluster "${c.name}" up (mode ${c.settings.mode}); state in ${c.stateDir}`);
      printStatus(await statusRows(c));
      await printMonitor(c);
    });

  root(cluster.command('down <cluster>').description('stop every node'))
    .option('--clean', 'also delete data dirs and logs')
    .action(async (name: string, o: { clean?: boolean; stateDir: string }) => {
      const c = await ReplabCluster.attach(await clusterName(name), o.stateDir);
      await c.down({ clean: o.clean });
      console.log(`cluster "${c.name}" down${o.clean ? ' and cleaned' : ''}`);
    });

  root(cluster.command('status <cluster>').description('show each node: role, LSNs, state'))
    .option('--json', "print the nodes' /status documents as JSON")
    .action(async (name: string, o: { json?: boolean; stateDir: string }) => {
      const c = await ReplabCluster.attach(await clusterName(name), o.stateDir);
      if (o.json) {
        const out: Record<string, unknown> = {};
        for (const ep of c.endpoints()) out[ep.id] = (await c.status(ep.id, 500)) ?? null;
        out.monitor = (await c.monitorStatus(500)) ?? null;
        console.log(JSON.stringify(out, null, 2));
      } else {
        printStatus(await statusRows(c));
        await printMonitor(c);
      }
    });

  const perNode = (verb: 'kill' | 'pause' | 'resume' | 'restart', what: string) =>
    root(cluster.command(`${verb} <cluster> <node>`).description(what)).action(async (name: string, node: string, o: { stateDir: string }) => {
      const c = await ReplabCluster.attach(await clusterName(name), o.stateDir);
      await c[verb](node);
      console.log(`${verb}: ${node} done`);
    });
  perNode('kill', 'SIGKILL a node');
  perNode('pause', 'SIGSTOP a node');
  perNode('resume', 'SIGCONT a paused node');
  perNode('restart', 'start a node again on the same data dir and ports');

  root(cluster.command('switchover <cluster>').description('planned switchover: hand leadership to another node without losing a write'))
    .requiredOption('--to <node>', 'the follower to promote')
    .action(async (name: string, o: { to: string; stateDir: string }) => {
      const c = await ReplabCluster.attach(await clusterName(name), o.stateDir);
      const r = await c.switchover(o.to);
      console.log(`switchover ${r.from} -> ${r.to} done in ${r.durationMs} ms (epoch ${r.epoch}, handed over at lsn ${r.lastLsn})`);
    });

  root(cluster.command('add-follower <cluster> [node]').description('start a new follower; it bootstraps from a snapshot while writes continue'))
    .option('--upstream <node>', 'node to follow (default: the leader)')
    .action(async (name: string, node: string | undefined, o: { upstream?: string; stateDir: string }) => {
      const c = await ReplabCluster.attach(await clusterName(name), o.stateDir);
      const id = await c.addFollower({ id: node, upstream: o.upstream });
      const ep = c.endpoint(id);
      console.log(`added ${id}: http ${ep.http}, repl ${ep.repl}`);
    });
}
