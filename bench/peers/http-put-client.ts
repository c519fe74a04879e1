/**
 * A keep-alive HTTP/1.1 connection that sends one PUT at a time and reads the answer's status and
 * Content-Length body, nothing more. bench:peers drives replab with it because Node's http client
 * spends more CPU per request than ioredis or pg do per command, and on two shared cores the load
 * generator's cost is taken from the servers.
 */
import net from 'node:net';
import { parseHostPort } from '../../src/lib/addr.js';

export class HttpPutClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: () => void; reject: (e: Error) => void } | undefined;

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

  static connect(address: string): Promise<HttpPutClient> {
    const { host, port } = parseHostPort(address, 'replab address');
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => {
        s.off('error', reject);
        resolve(new HttpPutClient(s, address));
      });
      s.once('error', reject);
    });
  }

  put(path: string, body: string): Promise<void> {
    if (this.waiting) return Promise.reject(new Error('one request at a time'));
    const len = Buffer.byteLength(body);
    this.socket.write(`PUT ${path} HTTP/1.1\r\nHost: ${this.host}\r\nContent-Length: ${len}\r\n\r\n${body}`);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const bodyLen = m ? Number(m[1]) : 0;
    if (this.buf.length < end + 4 + bodyLen) return;
    const status = Number(head.slice(9, 12));
    const body = this.buf.subarray(end + 4, end + 4 + bodyLen).toString();
    this.buf = this.buf.subarray(end + 4 + bodyLen);
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) return;
    if (status >= 200 && status < 300) w.resolve();
    else w.reject(new Error(`HTTP ${status}: ${body.slice(0, 200)}`));
  }
}
