/**
 * A keep-alive HTTP/1.1 connection to one KV node that sends one GET or PUT at a time and reads
 * back the status, the serving node (`x-replab-node`) and the Content-Length body. bench:reads and
 * bench:peers drive the nodes directly with it: Node's http client costs more CPU per request than
 * the node's own read path (and more than ioredis or pg per command), and on two shared cores
 * whatever the load generator spends is taken from the servers it measures.
 */
import net from 'node:net';
import { parseHostPort } from '../../src/lib/addr.js';

export interface RawAnswer {
  status: number;
  /** The node that answered (its `x-replab-node` header), if it said. */
  node: string | undefined;
  body: string;
}

export class RawHttpClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly host: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.parse();
    });
    const fail = (e: Error) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static connect(address: string): Promise<RawHttpClient> {
    const { host, port } = parseHostPort(address, 'node address');
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => {
        s.off('error', reject);
        resolve(new RawHttpClient(s, address));
      });
      s.once('error', reject);
    });
  }

  get(path: string): Promise<RawAnswer> {
    return this.send(`GET ${path} HTTP/1.1\r\nHost: ${this.host}\r\n\r\n`);
  }

  put(path: string, body: string): Promise<RawAnswer> {
    return this.send(`PUT ${path} HTTP/1.1\r\nHost: ${this.host}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  close(): void {
    this.socket.destroy();
  }

  private send(request: string): Promise<RawAnswer> {
    if (this.waiting) return Promise.reject(new Error('one request at a time'));
    this.socket.write(request);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const bodyLen = len ? Number(len[1]) : 0;
    if (this.buf.length < end + 4 + bodyLen) return;
    const node = /\r\nx-replab-node:\s*([^\r]*)/i.exec(head)?.[1];
    const answer: RawAnswer = {
      status: Number(head.slice(9, 12)),
      node,
      body: this.buf.subarray(end + 4, end + 4 + bodyLen).toString(),
    };
    this.buf = this.buf.subarray(end + 4 + bodyLen);
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve(answer);
  }
}
