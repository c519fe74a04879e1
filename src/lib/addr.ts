/** Host:port strings, the only form addresses take in specs, flags and cluster.json. */
import net from 'node:net';
import { UsageError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${what} must be host:port, got "${text}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Whether `host` names this machine's loopback (127.0.0.0/8, ::1, localhost): where replab may listen and send. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * A free 127.0.0.1 port held open until `release()`: while it is held no one else on the machine
 * (the cluster's own fault proxy binding port 0, above all) can be given it. A program that must be
 * told its port before it starts (PostgreSQL, Patroni's REST API) gets one this way, and the port
 * is released just before that program binds it.
 */
export function reservePort(): Promise<{ port: number; release: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = boundAddress(s).port;
      resolve({ port, release: () => new Promise<void>((r) => s.close(() => r())) });
    });
  });
}

/** A free 127.0.0.1 port (bound and released: the same race any "port 0 then reuse" has). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = boundAddress(s).port;
      s.close(() => resolve(port));
    });
  });
}

/** The address a listening TCP server is bound to (a server on a pipe or not listening is a bug here). */
export function boundAddress(server: net.Server): net.AddressInfo {
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error(`expected a listening TCP server, got address ${JSON.stringify(a)}`);
  return a;
}
