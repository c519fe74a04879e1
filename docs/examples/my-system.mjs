// A system module: how a team puts its own replicated service under replab. A cluster spec names
// it (`system: ./my-system.mjs`); replab calls `up(spec, options)` and drives the object it returns
// through the same nemeses, workloads, checker and report as its built-in systems.
//
// To keep this example runnable anywhere, "my system" is replab's own KV: `up` starts it through
// the package's replab system and wraps every call. A real adapter starts its own processes
// instead — each behind the fault proxy, one link per connection it cares about — and maps the
// workloads' five data operations onto its client (see docs/systems.md).
import { ReplabSystem } from 'replab/systems/replab';

export async function up(spec, options) {
  const inner = await ReplabSystem.up({ ...spec, system: 'replab' }, options);
  return {
    system: 'my-kv',
    stateDir: inner.stateDir,
    // The cluster: its nodes, who leads, its links through the proxy, and faults on a node.
    nodeIds: () => inner.nodeIds(),
    currentLeaderId: () => inner.currentLeaderId(),
    links: () => inner.links(),
    toxiproxy: () => inner.toxiproxy(),
    kill: (id) => inner.kill(id),
    pause: (id) => inner.pause(id),
    resume: (id) => inner.resume(id),
    restart: (id) => inner.restart(id),
    simulatesPowerLoss: () => false,
    // Workloads: read, write, cas, add and scan, each answered ok / fail / info.
    dataClient: (o) => inner.dataClient(o),
    // Observations for the report and the run: lag, convergence, stopping, keeping evidence.
    lag: () => inner.lag(),
    waitConverged: (ms) => inner.waitConverged(ms),
    down: (o) => inner.down(o),
    keepArtefacts: (dir) => inner.keepArtefacts(dir),
  };
}
