/**
 * Stopping what this process started when it is interrupted: a cluster started by `replab run`,
 * `bench` or a test must not outlive a Ctrl-C. Tasks registered here run on the first SIGINT or
 * SIGTERM (at most 15 s), then the process exits 130 / 143. A second signal exits at once.
 */
const tasks = new Set<() => Promise<void>>();
let installed = false;

async function runAll(signal: NodeJS.Signals): Promise<never> {
  process.stderr.write(`\n${signal}: stopping what this run started…\n`);
  const all = Promise.allSettled([...tasks].map((t) => t()));
  await Promise.race([all, new Promise((r) => setTimeout(r, 15_000).unref())]);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

/** Registers `task` to run on interruption; returns the function that unregisters it. */
export function onInterrupt(task: () => Promise<void>): () => void {
  tasks.add(task);
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
        void runAll(signal);
      });
    }
  }
  return () => tasks.delete(task);
}
