/**
 * Toxic types, their attributes and defaults, as Toxiproxy 2.x defines them (README "Toxics"):
 *
 *   latency     latency ms, jitter ms        delay every chunk by latency ± jitter (order kept)
 *   bandwidth   rate KB/s                    at most `rate` kilobytes per second
 *   slow_close  delay ms                     hold the close of the connection for `delay`
 *   timeout     timeout ms                   stop all data; close after `timeout` (0: never)
 *   reset_peer  timeout ms                   reset the connection (TCP RST) after `timeout`;
 *                                            nothing passes in the meantime
 *   slicer      average_size, size_variation bytes, delay µs   cut data into small writes
 *   limit_data  bytes                        close the connection after `bytes` have passed
 *
 * One deviation, on purpose: Toxiproxy's timeout toxic discards the data it stops; replab's holds
 * it and lets it through once the toxic is removed. A partition of a TCP connection delays bytes
 * (the sender retransmits) rather than deleting them from the middle of the stream, and a
 * replication stream with bytes cut out of it would show framing errors no network produces.
 */
import { isRecord } from '../../lib/schema.js';

export type ToxicType = 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';
export type Stream = 'upstream' | 'downstream';

/**
 * The attributes each type takes, as a caller writes them: the first is required (a toxic without
 * it does nothing), the others fall back to TOXIC_ATTRIBUTES' defaults.
 */
export interface ToxicAttributesOf {
  latency: { latency: number; jitter?: number };
  bandwidth: { rate: number };
  slow_close: { delay: number };
  timeout: { timeout: number };
  reset_peer: { timeout: number };
  slicer: { average_size: number; size_variation?: number; delay?: number };
  limit_data: { bytes: number };
}

/** What a toxic does: its type with that type's attributes. */
export type ToxicEffect = { [T in ToxicType]: { type: T; attributes: ToxicAttributesOf[T] } }[ToxicType];

/** A toxic to add, on one stream of a link; toxicity defaults to 1 (every connection). */
export type ToxicDescription = ToxicEffect & { name: string; stream: Stream; toxicity?: number };

export interface Toxic {
  name: string;
  type: ToxicType;
  stream: Stream;
  toxicity: number;
  attributes: Record<string, number>;
}

/** Attribute names and defaults per type. */
export const TOXIC_ATTRIBUTES: Record<ToxicType, Record<string, number>> = {
  latency: { latency: 0, jitter: 0 },
  bandwidth: { rate: 0 },
  slow_close: { delay: 0 },
  timeout: { timeout: 0 },
  reset_peer: { timeout: 0 },
  slicer: { average_size: 0, size_variation: 0, delay: 0 },
  limit_data: { bytes: 0 },
};

export class ToxicError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Attributes that are durations (ms, or µs for slicer's delay) and end up in a timer. */
const TIME_ATTRIBUTES = new Set(['latency', 'jitter', 'delay', 'timeout']);
/** Node's longest timer: a longer one fires after 1 ms, with a TimeoutOverflowWarning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * The slowest bandwidth (KB/s) other than 0, which means no limit. Toxiproxy's rate is a whole
 * number of KB/s, so 1 is the slowest it can express; far slower rates only produce waits too
 * long for any run to see the data, and near 0 they are a typing mistake.
 */
const MIN_RATE_KBPS = 1;

function isType(t: unknown): t is ToxicType {
  return typeof t === 'string' && t in TOXIC_ATTRIBUTES;
}

/** Validates a toxic body from the API (create: `existing` undefined; update: merged onto it). */
export function parseToxic(body: unknown, existing?: Toxic): Toxic {
  if (!isRecord(body)) throw new ToxicError('bad request body: expected a JSON object', 400);
  const b = body;
  const type = b.type ?? existing?.type;
  if (!isType(type)) throw new ToxicError(`invalid toxic type: ${JSON.stringify(type ?? null)} (one of ${Object.keys(TOXIC_ATTRIBUTES).join(', ')})`, 400);
  if (existing && b.type !== undefined && b.type !== existing.type)
    throw new ToxicError(`bad request body: a toxic's type cannot change (${existing.type})`, 400);
  const stream = b.stream ?? existing?.stream ?? 'downstream';
  if (stream !== 'upstream' && stream !== 'downstream') throw new ToxicError('stream was invalid, can be either upstream or downstream', 400);
  if (existing && stream !== existing.stream) throw new ToxicError(`bad request body: a toxic's stream cannot change (${existing.stream})`, 400);
  const toxicity = b.toxicity ?? existing?.toxicity ?? 1;
  if (typeof toxicity !== 'number' || !(toxicity >= 0 && toxicity <= 1))
    throw new ToxicError(`bad request body: toxicity must be a number from 0 to 1, got ${JSON.stringify(toxicity)}`, 400);
  const name = b.name ?? existing?.name ?? `${type}_${stream}`;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new ToxicError('bad request body: name must be a non-empty string', 400);
  const attributes = { ...TOXIC_ATTRIBUTES[type], ...(existing?.attributes ?? {}) };
  const given = b.attributes ?? {};
  if (!isRecord(given)) throw new ToxicError('bad request body: attributes must be an object', 400);
  for (const [k, v] of Object.entries(given)) {
    if (!(k in TOXIC_ATTRIBUTES[type])) continue; // Toxiproxy ignores unknown attributes
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new ToxicError(`bad request body: attribute ${k} of ${type} must be a non-negative number, got ${JSON.stringify(v)}`, 400);
    // Durations become timers, which Node caps at 2^31-1 ms (a larger one fires after 1 ms).
    if (TIME_ATTRIBUTES.has(k) && v > MAX_TIMER_MS)
      throw new ToxicError(`bad request body: attribute ${k} of ${type} must be at most ${MAX_TIMER_MS} (about 24.8 days), got ${v}`, 400);
    attributes[k] = v;
  }
  const rate = attributes.rate;
  if (type === 'bandwidth' && rate !== undefined && rate > 0 && rate < MIN_RATE_KBPS)
    throw new ToxicError(`bad request body: attribute rate of bandwidth must be 0 (no limit) or at least ${MIN_RATE_KBPS} KB/s, got ${rate}`, 400);
  return { name, type, stream, toxicity, attributes };
}
