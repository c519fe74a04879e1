/**
 * The one way replab talks to a proxy server: toxiproxy-node-client, against `replab proxy` or,
 * with TOXIPROXY_URL set, a real Toxiproxy. Nothing else in the harness speaks the proxy API.
 */
import { Toxiproxy } from 'toxiproxy-node-client';

export { Toxiproxy };

/** A client for the proxy API at `api` (host:port or URL). */
export function toxiproxyClient(api: string): Toxiproxy {
  return new Toxiproxy(api.startsWith('http') ? api : `http://${api}`);
}
