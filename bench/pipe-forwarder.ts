/**
 * The least a Node.js TCP forwarder can do: accept, connect upstream, pipe both ways. bench:proxy
 * runs it beside the real proxy as a floor, to tell the proxy's own cost from what any forwarder
 * in Node pays per chunk (an extra pair of loopback hops and two reads and writes per request).
 *
 *   node dist/bench/pipe-forwarder.js LISTEN_PORT UPSTREAM_HOST:PORT   (prints "listening PORT")
 */
import net from 'node:net';

const [listenArg, upstream] = process.argv.slice(2);
const i = upstream!.lastIndexOf(':');
const host = upstream!.slice(0, i);
const port = Number(upstream!.slice(i + 1));
const server = net.createServer((client) => {
  client.setNoDelay(true);
  const up = net.connect({ host, port });
  up.setNoDelay(true);
  client.pipe(up);
  up.pipe(client);
  client.on('error', () => up.destroy());
  up.on('error', () => client.destroy());
});
server.listen(Number(listenArg ?? 0), '127.0.0.1', () => console.log(`listening ${(server.address() as net.AddressInfo).port}`));
process.on('SIGTERM', () => process.exit(0));
