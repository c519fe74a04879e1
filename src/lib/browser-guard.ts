/**
 * Every replab API listens on loopback, without a login (the proxy API, like Toxiproxy's) or with
 * signed admin calls. A web page the operator happens to have open can still send requests to
 * 127.0.0.1: a "simple" cross-origin POST (text/plain, no preflight) reaches the server even
 * though the page cannot read the answer, and for a fault proxy or a KV the request itself is the
 * harm. Browsers mark their requests, and replab's own clients never send these marks, so any
 * request that carries one is refused before it is read.
 *
 * The marks: an `Origin` header (sent with every cross-origin request and every POST), a Fetch
 * Metadata header (`Sec-Fetch-Site`, `-Dest`, `-User`: current browsers send them with every
 * request to a loopback address), or a browser's user agent (`Mozilla/…`, which Toxiproxy refuses
 * too). `Sec-Fetch-Mode` alone is not a mark: Node's own fetch (undici) adds `sec-fetch-mode: cors`
 * to every request it sends, and nothing else of Fetch Metadata, while a browser never sends it
 * without `Sec-Fetch-Site`; refusing it would refuse replab's CLI, monitor probes and scripts.
 */
import type http from 'node:http';

/** Why the request looks like it comes from a web browser, or undefined when it does not. */
export function browserMark(headers: http.IncomingHttpHeaders): string | undefined {
  if (headers.origin !== undefined) return `it carries an Origin header (${oneLine(String(headers.origin))})`;
  for (const name of Object.keys(headers)) if (name.startsWith('sec-fetch-') && name !== 'sec-fetch-mode') return `it carries a ${name} header`;
  const ua = headers['user-agent'];
  if (typeof ua === 'string' && /^Mozilla\//i.test(ua)) return 'its user agent is a web browser';
  return undefined;
}

/** The one-line refusal every server answers (403) to a request from a browser. */
export function browserRefusal(mark: string): string {
  return `requests from web browsers are refused (${mark}): this API is for replab and scripts on this machine`;
}

/** Whether a request's Content-Type is JSON (`application/json`, with or without parameters). */
export function isJsonContentType(headers: http.IncomingHttpHeaders): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && /^application\/json\s*(;|$)/i.test(ct.trim());
}

/** The one-line refusal (415) of a JSON endpoint's request sent with another Content-Type. */
export function jsonRequired(headers: http.IncomingHttpHeaders, what: string): string {
  const ct = headers['content-type'];
  return `${what} takes a JSON body: send Content-Type: application/json (got ${ct === undefined ? 'none' : oneLine(String(ct))})`;
}

/** A header value quoted in an error: short, and on one line whatever it contained. */
function oneLine(v: string): string {
  return JSON.stringify(v.slice(0, 80));
}
