/**
 * Request bodies for every replab HTTP server (node, monitor, router, proxy API): bounded in size
 * (413 as soon as the bound is known to be crossed: from content-length, or while streaming), in
 * time (408 when the body has not arrived within `timeoutMs`: a client that never finishes must
 * not hold a socket and a buffer forever), and, for JSON, in nesting depth (400 before
 * JSON.parse, whose recursion a deeply nested body would otherwise overflow).
 */
import type http from 'node:http';

export class BodyError extends Error {
  override name = 'BodyError';
  constructor(
    message: string,
    readonly status: 400 | 408 | 413,
  ) {
    super(message);
  }
}

export interface BodyLimits {
  limitBytes: number;
  /** @default 10000 */
  timeoutMs?: number;
}

export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/**
 * Bodies still arriving, each with its deadline. One sweep a second over this set replaces a
 * timer per request: on a node answering tens of thousands of small PUTs a second, arming and
 * clearing a timer per body was a measurable share of the leader's CPU, and a deadline that fires
 * up to a second late is as good for a 10 s bound.
 */
const inFlight = new Set<{ deadline: number; expire: () => void }>();
let sweeper: NodeJS.Timeout | undefined;

function watchDeadline(entry: { deadline: number; expire: () => void }): void {
  inFlight.add(entry);
  if (sweeper) return;
  sweeper = setInterval(() => {
    const now = Date.now();
    for (const e of inFlight) if (e.deadline <= now) e.expire();
    if (inFlight.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }, 1000);
  sweeper.unref();
}

/** Reads the whole body; BodyError 413 past `limitBytes`, 408 past `timeoutMs`. */
export function readBody(req: http.IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limits.limitBytes) {
    req.resume(); // drain nothing into memory; the server closes the connection after answering
    return Promise.reject(new BodyError(`body of ${declared} bytes exceeds the limit of ${limits.limitBytes} bytes`, 413));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timeoutMs = limits.timeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
    // Errors are built only when they happen: an Error captures a stack, and 'close' follows every
    // request, answered or not.
    const finish = (e: (() => BodyError) | undefined) => {
      if (done) return;
      done = true;
      inFlight.delete(deadline);
      if (e) {
        req.removeAllListeners('data');
        req.resume();
        reject(e());
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const deadline = { deadline: Date.now() + timeoutMs, expire: () => finish(() => new BodyError(`request body not received within ${timeoutMs} ms`, 408)) };
    watchDeadline(deadline);
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limits.limitBytes) finish(() => new BodyError(`body exceeds the limit of ${limits.limitBytes} bytes`, 413));
      else chunks.push(c);
    });
    req.on('end', () => finish(undefined));
    req.on('error', (e) => finish(() => new BodyError(`request body: ${e.message}`, 400)));
    req.on('close', () => finish(() => new BodyError('request body: connection closed before the body ended', 400)));
  });
}

/** Maximum nesting of arrays and objects in a JSON body. */
export const MAX_JSON_DEPTH = 64;

/**
 * JSON.parse with a nesting bound checked first (one pass over the text, skipping strings), so
 * `[[[[…]]]]` a million deep is a 400, not a stack overflow. Throws BodyError 400.
 */
export function parseJsonBounded(text: string, what = 'body', maxDepth = MAX_JSON_DEPTH): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw new BodyError(`${what}: JSON nested deeper than ${maxDepth} levels`, 400);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new BodyError(`${what} is not valid JSON`, 400);
  }
}

/** Decodes a percent-encoded URL path segment; BodyError 400 (not a URIError) when malformed. */
export function decodeSegment(segment: string, what = 'path'): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BodyError(`${what} is not valid URL encoding: "${segment.slice(0, 80)}"`, 400);
  }
}
