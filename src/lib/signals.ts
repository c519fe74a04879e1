/**
 * A long-running command (node, monitor, router, proxy) stopped by SIGTERM or SIGINT. The handlers
 * are installed before the command starts anything a caller could take as "it is up" (a port
 * answering, endpoint.json, a "listening" line): a signal sent at that moment used to arrive before
 * them, and the default action killed the process by the signal instead of letting it stop cleanly
 * and exit 0. A signal during start-up waits for the start, then stops; a second signal while
 * stopping changes nothing.
 */
export function stopOnSignals<T extends { stop(): Promise<void> }>(start: () => Promise<T>, onSignal: (signal: NodeJS.Signals) => void = () => {}): Promise<T> {
  let stopping = false;
  let starting: Promise<T> | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    onSignal(signal);
    void (async () => {
      const running = await starting?.catch(() => undefined);
      await running?.stop();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  starting = start();
  return starting;
}
