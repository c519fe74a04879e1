/**
 * Starting and stopping the small HTTP servers replab runs (node API, monitor, router, proxy
 * API): listen and learn the real port (for port 0), and close with every keep-alive connection.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on host:port and resolves with "host:actualPort"; malformed requests just close their socket. */
export async function listenHttp(server: http.Server, host: string, port: number, options: { onClientError?: boolean } = {}): Promise<string> {
  if (options.onClientError !== false) server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return `${host}:${(server.address() as AddressInfo).port}`;
}

/** Closes the server and every connection still open on it. */
export async function closeHttp(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}
