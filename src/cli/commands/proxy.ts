/** `replab proxy`: a Toxiproxy-compatible fault proxy (HTTP API on 127.0.0.1:8474 by default). */
import type { Command } from 'commander';
import { startProxyServer } from '../../faults/proxy/main.js';
import { isLoopbackHost } from '../../lib/addr.js';
import { EnvironmentError, toError, UsageError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { stopOnSignals } from '../../lib/signals.js';
import { intFlag } from '../options.js';

export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description("serve Toxiproxy's v2 HTTP API with replab's own TCP proxies and toxics")
    .option('--host <host>', 'API address', '127.0.0.1')
    .option('--port <port>', 'API port (0 picks one)', intFlag('--port', 0), 8474)
    .option('--state-dir <dir>', 'write endpoint.json (pid, api address) here')
    .action(async (o: { host: string; port: number; stateDir?: string }) => {
      if (!isLoopbackHost(o.host))
        throw new UsageError(
          `--host must be a loopback address (127.0.0.1, ::1, localhost), got "${o.host}": the proxy API is unauthenticated, like Toxiproxy's`,
        );
      const log = createLogger('proxy');
      // Signal handlers first (src/lib/signals.ts): a SIGTERM the moment the proxy looks ready
      // used to kill it by the signal instead of letting it exit 0.
      let signalled = false;
      const running = await stopOnSignals(
        () => startProxyServer(o.host, o.port, o.stateDir, log),
        () => (signalled = true),
      ).catch((e: unknown) => {
        throw new EnvironmentError(`cannot serve the proxy API on ${o.host}:${o.port}: ${toError(e).message}`);
      });
      if (!signalled) console.log(`proxy API listening on ${running.api}`);
    });
}
