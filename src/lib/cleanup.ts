/**
 * Stopping what this process started when it is interrupted: a cluster started by `replab run`,
 * `bench` or a test must not outlive a Ctrl-C. While at least one task is registered, the first
 * SIGINT or SIGTERM runs them all (at most 15 s) and exits 130 / 143; a second signal exits at
 * once. With no task registered the signals keep their default behaviour (test runners stop
 * their workers with SIGTERM).
 */
const tasks = new Set<() => Promise<void>>();
let interrupted = false;

async function runAll(signal: NodeJS.Signals): Promise<void> {
  if (interrupted) process.exit(signal === 'SIGINT' ? 130 : 143);
  interrupted = true;
  process.stderr.write(`\n${signal}: stopping what this run started…\n`);
  const all = Promise.allSettled([...tasks].map((t) => t()));
  await Promise.race([all, new Promise((r) => setTimeout(r, 15_000).unref())]);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

const onSigint = () => void runAll('SIGINT');
const onSigterm = () => void runAll('SIGTERM');

/** Registers `task` to run on interruption; returns the function that unregisters it. */
export function onInterrupt(task: () => Promise<void>): () => void {
  if (tasks.size === 0) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
  }
  tasks.add(task);
  return () => {
    if (!tasks.delete(task) || tasks.size > 0 || interrupted) return;
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  };
}
