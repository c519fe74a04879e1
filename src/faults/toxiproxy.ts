/**
 * The one way replab talks to a proxy server: toxiproxy-node-client, against `replab proxy` or,
 * with TOXIPROXY_URL set, a real Toxiproxy. Nothing else in the harness speaks the proxy API.
 */
import { type Proxy as ProxyLink, type Toxic, Toxiproxy } from 'toxiproxy-node-client';
import type { ToxicDescription } from './proxy/toxics.js';

export { Toxiproxy };

/** A client for the proxy API at `api` (host:port or URL). */
export function toxiproxyClient(api: string): Toxiproxy {
  return new Toxiproxy(api.startsWith('http') ? api : `http://${api}`);
}

/**
 * Adds one toxic to `proxy`. The client library types a toxic's attributes as anything; callers go
 * through here so each type's attributes are checked where they are written.
 */
export function addToxic(proxy: ProxyLink, toxic: ToxicDescription): Promise<Toxic<ToxicDescription['attributes']>> {
  const { name, type, stream, toxicity = 1, attributes } = toxic;
  return proxy.addToxic({ name, type, stream, toxicity, attributes });
}

/** The names of the toxics on `proxy` (the client library has no call for the list; its HTTP client reaches the endpoint). */
export async function toxicNames(client: Toxiproxy, proxy: ProxyLink): Promise<string[]> {
  const listed: unknown = (await client.getApi().get(`${proxy.getPath()}/toxics`)).data;
  if (!Array.isArray(listed)) throw new Error(`${proxy.getPath()}/toxics: expected a list of toxics, got ${JSON.stringify(listed)}`);
  return listed.flatMap((t: unknown) => (typeof t === 'object' && t !== null && 'name' in t && typeof t.name === 'string' ? [t.name] : []));
}
