/**
 * `replab nemesis CLUSTER FAULT [options]`: inject one fault into a running cluster by hand.
 *   replab nemesis three-node partition --target leader --for 5s
 *   replab nemesis three-node latency --links repl --latency-ms 100 --jitter-ms 10
 *   replab nemesis three-node kill --target random-follower --for 3s
 *   replab nemesis three-node heal        # removes every nemesis toxic
 * With --for the fault is undone after that long; without it, it stays (until `heal`, `resume`
 * or `restart`).
 */
import type { Command } from 'commander';
import { ReplabCluster } from '../../cluster/replab-cluster.js';
import { healAll, startFault } from '../../faults/nemesis/faults.js';
import { faultSpec, parseDuration, parseNemesisSchedule } from '../../faults/nemesis/schedule.js';
import { UsageError } from '../../lib/errors.js';
import { Rng } from '../../lib/rng.js';
import { choiceFlag, intFlag, listFlag } from '../options.js';

const FAULTS = ['partition', 'latency', 'bandwidth', 'kill', 'power-loss', 'pause', 'restart', 'heal'] as const;

/** The flags as commander hands them over, checked by their parsers, defaults filled in. */
interface NemesisFlags {
  target: string;
  shape: string;
  mode: string;
  cut: string[];
  links: string;
  latencyMs: number;
  jitterMs: number;
  rate: number;
  for?: string;
  seed: number;
  stateDir: string;
}

export function registerNemesisCommand(program: Command): void {
  program
    .command('nemesis <cluster> <fault>')
    .description(`inject a fault into a running cluster: ${FAULTS.join(' | ')}`)
    .option('--target <who>', 'leader | random-follower | random-node | followers | all | node id(s), comma-separated', 'leader')
    .option(
      '--shape <shape>',
      'partition: isolate | halves | majority-ring | bridge',
      choiceFlag('--shape', ['isolate', 'halves', 'majority-ring', 'bridge'] as const),
      'isolate',
    )
    .option('--mode <mode>', 'partition: blackhole | reset', choiceFlag('--mode', ['blackhole', 'reset'] as const), 'blackhole')
    .option('--cut <kinds>', 'partition: link kinds to cut, comma-separated (repl, monitor, client)', listFlag, ['repl', 'monitor'])
    .option('--links <which>', 'latency/bandwidth: repl | leader-repl | monitor | client | all | link names, comma-separated', 'repl')
    .option('--latency-ms <ms>', 'latency: one-way delay on each direction', intFlag('--latency-ms', 0), 100)
    .option('--jitter-ms <ms>', 'latency: ± jitter', intFlag('--jitter-ms', 0), 0)
    .option('--rate <KBps>', 'bandwidth: kilobytes per second', intFlag('--rate', 1), 100)
    .option('--for <duration>', 'undo the fault after this long (500ms, 5s, 2m)')
    .option('--seed <n>', 'seed for random targets', intFlag('--seed', 0), Date.now() % 1_000_000)
    .option('--state-dir <dir>', 'folder holding cluster state', '.replab')
    .action(async (name: string, fault: string, o: NemesisFlags) => {
      if (!(FAULTS as readonly string[]).includes(fault)) throw new UsageError(`unknown fault "${fault}" (${FAULTS.join(', ')})`);
      const cluster = await ReplabCluster.attach(
        name
          .replace(/\.ya?ml$/, '')
          .split('/')
          .pop()!,
        o.stateDir,
      );
      if (fault === 'heal') {
        console.log(`healed: removed ${await healAll(cluster)} nemesis toxic(s)`);
        return;
      }
      const forMs = o.for === undefined ? 0 : parseDuration(o.for, '--for');
      const targetText = o.target;
      const step = {
        fault,
        at: 0,
        for: forMs / 1000,
        ...(fault === 'partition' ? { target: targetText.includes(',') ? targetText.split(',') : targetText, shape: o.shape, mode: o.mode, cut: o.cut } : {}),
        ...(fault === 'kill' || fault === 'power-loss' || fault === 'pause' || fault === 'restart'
          ? { target: targetText.includes(',') ? targetText.split(',') : targetText }
          : {}),
        ...(fault === 'latency' ? { links: linksOf(o.links), latencyMs: o.latencyMs, jitterMs: o.jitterMs } : {}),
        ...(fault === 'bandwidth' ? { links: linksOf(o.links), rateKBps: o.rate } : {}),
      };
      const [parsed] = parseNemesisSchedule([step], 'nemesis flags');
      const active = await startFault(cluster, faultSpec(parsed!), new Rng(o.seed));
      console.log(`start-${active.fault} ${JSON.stringify(active.value)}`);
      if (forMs > 0) {
        await new Promise((r) => setTimeout(r, forMs));
        console.log(`stop-${active.fault} ${JSON.stringify(await active.stop())}`);
      }
    });
}

function linksOf(v: string): string | string[] {
  return v.includes(',') || v.includes(':') ? v.split(',') : v;
}
