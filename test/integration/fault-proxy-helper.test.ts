/**
 * The fault proxy as a user's module starts it (`faultProxy` from replab/system): a real
 * `replab proxy` process, links of the kinds asked for, free ports for the nodes, and addresses
 * that reach each node through its link, which the proxy's client can then cut.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRunning } from '../../src/cluster/process-control.js';
import { addToxic } from '../../src/faults/toxiproxy.js';
import { type ClusterLinks, faultProxy } from '../../src/systems/kit.js';
import { stateRoot } from '../helpers/cluster.js';

/** A server on `port` answering every connection with its node's name. */
function nameServer(name: string, port: number): Promise<net.Server> {
  const s = net.createServer((c) => {
    c.on('error', () => {}); // the proxy resets a cut link's connections
    c.end(name);
  });
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** What the server at `address` says, or the error code when nothing answers. */
function ask(address: string): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const c = net.connect(Number(port), host!);
    let got = '';
    c.setTimeout(2000, () => c.destroy(new Error('timeout')));
    c.on('data', (d) => (got += d.toString()));
    c.on('end', () => resolve(got));
    c.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
  });
}

let links: ClusterLinks | undefined;
const servers: net.Server[] = [];
afterAll(async () => {
  await links?.proxy.stop();
  for (const s of servers) s.close();
});

describe('faultProxy', () => {
  it('makes one link per kind and node, free ports for the nodes, and addresses that reach them; cutting a link cuts only it', async () => {
    const ids = ['n1', 'n2', 'n3'];
    links = await faultProxy({ dir: path.join(stateRoot(), `fault-proxy-${process.pid}`), nodes: ids, kinds: ['client', 'monitor', 'repl'] });
    expect(await isRunning(links.proxy.pid)).toBe(true);
    expect(Object.keys(links.proxy.links()).sort()).toEqual(
      [
        'client:n1',
        'client:n2',
        'client:n3',
        'monitor:n1',
        'monitor:n2',
        'monitor:n3',
        'repl:n1->n2',
        'repl:n1->n3',
        'repl:n2->n1',
        'repl:n2->n3',
        'repl:n3->n1',
        'repl:n3->n2',
      ].sort(),
    );
    for (const id of ids) servers.push(await nameServer(id, links.ports[id]!));
    expect(await ask(links.client('n2'))).toBe('n2');
    expect(await ask(links.monitor('n3'))).toBe('n3');
    expect(await ask(links.repl('n2', 'n1'))).toBe('n1');
    // A reset toxic on one link (as a partition with mode reset does) cuts it alone.
    const cut = await links.proxy.toxiproxy().get('client:n2');
    for (const stream of ['upstream', 'downstream'] as const)
      await addToxic(cut, { name: `cut-${stream}`, type: 'reset_peer', stream, attributes: { timeout: 0 } });
    expect(await ask(links.client('n2'))).toMatch(/^error |^$/);
    expect(await ask(links.monitor('n2'))).toBe('n2');
    expect(() => links!.client('n9')).toThrow(/the fault proxy has no link "client:n9" \(links: /);
    const pid = links.proxy.pid;
    await links.proxy.stop();
    expect(await isRunning(pid)).toBe(false);
    links = undefined;
  }, 60_000);

  it('refuses an unknown link kind or node list before starting anything', async () => {
    await expect(faultProxy({ dir: path.join(stateRoot(), 'never'), nodes: ['n1'], kinds: ['peer' as never] })).rejects.toThrow(
      /faultProxy: "peer" is not a link kind \(kinds: client, monitor, repl, repl-into\)/,
    );
    await expect(faultProxy({ dir: path.join(stateRoot(), 'never'), nodes: ['n1', 'n1'], kinds: ['client'] })).rejects.toThrow(/distinct ids/);
  });
});
