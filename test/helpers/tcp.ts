/** Small real TCP servers and clients on 127.0.0.1 for proxy tests. */
import net from 'node:net';
import { encodeJsonFrame, type Frame, FrameDecoder, FrameType } from '../../src/kv/replication/frames.js';

export interface TestServer {
  address: string;
  close(): Promise<void>;
}

async function serve(onConnection: (s: net.Socket) => void): Promise<TestServer & { server: net.Server }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    server,
    address,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Echoes every byte back. */
export function echoServer(): Promise<TestServer> {
  return serve((s) => s.pipe(s));
}

/** Sends `payload` to every new connection, then ends it (or keeps it open with `keepOpen`). */
export function sendServer(payload: Buffer, options: { keepOpen?: boolean } = {}): Promise<TestServer> {
  return serve((s) => {
    if (options.keepOpen) s.write(payload);
    else s.end(payload);
  });
}

export function connect(address: string): Promise<net.Socket> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Connects, sends `text`, resolves with the same number of bytes echoed back. */
export async function roundTrip(address: string, text: string): Promise<string> {
  const s = await connect(address);
  try {
    return await echoOnce(s, text);
  } finally {
    s.destroy();
  }
}

/** On an open echo connection: sends `text` and waits for as many bytes back. */
export function echoOnce(s: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (c: Buffer) => {
      got += c.toString();
      if (got.length >= text.length) {
        s.off('data', onData);
        s.off('error', reject);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(text);
  });
}

/** Reads until the peer closes; resolves with the bytes, the chunk count and how it ended. */
export function readAll(s: net.Socket): Promise<{ bytes: Buffer; chunks: number; error?: string; endedAtMs: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ bytes: Buffer.concat(chunks), chunks: chunks.length, error, endedAtMs: performance.now() }));
  });
}

/**
 * Opens a raw connection to a node's replication port as a follower would, sends one HELLO (its
 * body and proof as given) and collects the frames that come back. Close it with `socket.destroy()`.
 */
export async function replicationHello(repl: string, epoch: number, hello: Record<string, unknown>): Promise<{ socket: net.Socket; frames: Frame[] }> {
  const [host, port] = repl.split(':');
  const socket = net.connect({ host: host!, port: Number(port) });
  const frames: Frame[] = [];
  const decoder = new FrameDecoder();
  socket.on('data', (c: Buffer) => frames.push(...decoder.push(c)));
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(encodeJsonFrame(FrameType.hello, epoch, hello));
  return { socket, frames };
}
