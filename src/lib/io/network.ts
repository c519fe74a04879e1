/**
 * The network as a node uses it, behind one narrow interface: listening for and opening
 * byte-stream connections (the replication port and its links), and serving an HTTP server (the
 * client and admin API). The real network is TCP on the host's interfaces; an in-memory one
 * (src/sim/network.ts) connects nodes of one process through stream pairs, so a test can cut,
 * delay or heal links without sockets.
 *
 * A connection is a Node Duplex stream: it emits 'connect' once open (client side), 'data',
 * 'drain', 'error' and 'close', and supports write/cork/uncork/end/destroy, as a net.Socket does.
 */
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { listenHttp } from '../http-server.js';

export type Connection = Duplex & {
  /** The peer's address, for logs ("host:port"); may be unknown. */
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
};

export interface Listener {
  /** The port actually bound (the one asked for, or the one chosen for port 0). */
  readonly port: number;
  /** Stops accepting; connections already open are the caller's to close. */
  close(): Promise<void>;
}

export interface Network {
  /** Accepts connections on host:port; `onConnection` gets each one. */
  listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener>;
  /** Opens a connection; it emits 'connect' when open, or 'error' then 'close' when it cannot. */
  connect(host: string, port: number): Connection;
  /** Serves `server` on host:port (its request handling stays Node's). */
  serveHttp(server: http.Server, host: string, port: number): Promise<Listener>;
}

/** TCP on this host. */
export const tcpNetwork: Network = {
  async listen(host, port, onConnection) {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      onConnection(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return { port: (server.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
  },
  connect(host, port) {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    return socket;
  },
  async serveHttp(server, host, port) {
    const address = await listenHttp(server, host, port, { onClientError: false });
    return {
      port: Number(address.slice(address.lastIndexOf(':') + 1)),
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  },
};
