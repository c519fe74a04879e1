/**
 * Reading histories: JSON Lines, streamed line by line, each op validated as it comes. The first
 * problem stops the read with one line naming the file and line: a malformed line, an unknown
 * `type`, a completion (`ok`/`fail`/`info`) with no pending invoke of its process, or a second
 * invoke while one is pending.
 *
 * Bounds, so that one odd op cannot turn a verdict into a checker crash or a nonsense figure:
 * a field's value nests at most 64 levels of arrays and objects (the bound HTTP bodies have; the
 * checkers and JSON.stringify recurse into values, and JSON.parse does not stop a deeper one);
 * `time` is whole nanoseconds from 0 to 2^53 - 1 (what a monotonic clock since the run's start
 * gives; 1e308 and -1e308 made outages Infinity), and a completion is not before its invoke;
 * `index`, `lsn` and `epoch` are whole numbers in the same range.
 */
import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { toError } from '../lib/errors.js';
import { MAX_JSON_DEPTH } from '../lib/http-body.js';
import { isRecord } from '../lib/schema.js';
import { HistoryError, isClientProcess, OP_TYPES, type Op, type OpType, type Process } from './op.js';

export { HistoryError };

/** Validates ops one at a time, remembering which processes have an invoke pending. */
export class HistoryValidator {
  private readonly pending = new Map<Process, Op>();
  private count = 0;
  /**
   * One shared copy of each repeated short string (type, f, key, node): JSON.parse makes a new
   * string per occurrence, and at millions of ops those copies are a large share of the memory.
   */
  private readonly strings = new Map<string, string>();

  private intern(s: string): string {
    if (s.length > 64) return s;
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size < 100_000) this.strings.set(s, s);
    return s;
  }

  constructor(private readonly where: string) {}

  /** Parses one JSON line (1-based `line` for messages). Returns undefined for a blank line. */
  parseLine(text: string, line: number): Op | undefined {
    if (text.trim() === '') return undefined;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.fail(line, `not valid JSON: ${truncate(text)}`);
    }
    return this.check(v, line);
  }

  /** Validates one already-parsed op. */
  check(v: unknown, line: number): Op {
    if (!isRecord(v)) this.fail(line, 'an op must be a JSON object');
    const o = v;
    // First, so that no message below stringifies a value too deep to stringify.
    for (const f in o) {
      const x = o[f];
      // Most values are scalars: the walk starts only at an array or object.
      if (typeof x === 'object' && x !== null && nestsDeeper(x, MAX_VALUE_DEPTH))
        this.fail(line, `${JSON.stringify(f)} is nested deeper than ${MAX_VALUE_DEPTH} levels of arrays and objects`);
    }
    if (!isOpType(o.type)) this.fail(line, `"type" must be one of ${OP_TYPES.join(', ')}, got ${show(o.type ?? null)}`);
    if (typeof o.process !== 'number' && typeof o.process !== 'string')
      this.fail(line, `"process" must be an integer or a string, got ${show(o.process ?? null)}`);
    if (typeof o.process === 'number' && !Number.isInteger(o.process)) this.fail(line, `"process" must be an integer or a string, got ${o.process}`);
    if (typeof o.f !== 'string' || o.f === '') this.fail(line, `"f" must be a non-empty string, got ${show(o.f ?? null)}`);
    if (o.time !== undefined && !isCount(o.time)) this.fail(line, `"time" must be a whole number of nanoseconds from 0 to 2^53 - 1, got ${show(o.time)}`);
    if (o.key !== undefined && typeof o.key !== 'string' && typeof o.key !== 'number') this.fail(line, `"key" must be a string, got ${show(o.key)}`);
    if (o.index !== undefined && o.index !== null && !isCount(o.index))
      this.fail(line, `"index" must be a whole number from 0 to 2^53 - 1, got ${show(o.index)}`);
    for (const f of ['lsn', 'epoch'] as const) {
      if (o[f] !== undefined && o[f] !== null && !isCount(o[f])) this.fail(line, `"${f}" must be a whole number from 0 to 2^53 - 1, got ${show(o[f])}`);
    }
    // The parsed object is ours: complete it in place rather than copying every op.
    if (o.index === undefined || o.index === null) o.index = this.count;
    if (o.time === undefined) o.time = this.count;
    if (o.value === undefined) o.value = null;
    if (typeof o.key === 'number') o.key = String(o.key);
    o.type = this.intern(o.type);
    o.f = this.intern(o.f);
    if (typeof o.key === 'string') o.key = this.intern(o.key);
    if (typeof o.node === 'string') o.node = this.intern(o.node);
    // Every field was checked above; the object is completed in place, not copied (histories run
    // to millions of ops), so this one assertion of the type is the parser's output, not a guess.
    const op = o as Op;
    this.count++;
    this.track(op, line);
    return op;
  }

  private track(op: Op, line: number): void {
    const p = op.process;
    const open = this.pending.get(p);
    if (op.type === 'invoke') {
      if (open) this.fail(line, `process ${JSON.stringify(p)} invokes ${op.f} while its ${open.f} (index ${open.index}) is still pending`);
      this.pending.set(p, op);
      return;
    }
    if (open) {
      if (open.f !== op.f) this.fail(line, `process ${JSON.stringify(p)} completes ${op.f} but its pending invoke is ${open.f}`);
      if (op.time < open.time)
        this.fail(line, `process ${JSON.stringify(p)} completes ${op.f} at time ${op.time}, before its invoke (index ${open.index}) at time ${open.time}`);
      this.pending.delete(p);
      return;
    }
    // Faults and harness events (string processes) may be lone `info` lines; clients may not.
    if (isClientProcess(p)) this.fail(line, `"${op.type}" for process ${p} without a pending invoke`);
  }

  private fail(line: number, message: string): never {
    throw new HistoryError(`${this.where}:${line}: ${message}`);
  }
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Levels of arrays and objects a field's value may nest (`[[1]]` is two). */
export const MAX_VALUE_DEPTH = MAX_JSON_DEPTH;

/** A whole number that a double holds exactly and a difference of two cannot overflow. */
function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A field's value for a message: JSON where it has one (an EDN bigint has none: `12N`). */
function show(v: unknown): string {
  return typeof v === 'bigint' ? `${v}N` : truncate(JSON.stringify(v) ?? String(v));
}

/**
 * True when `v` (an array or object) nests more than `levels` levels. The recursion is as deep as
 * the bound at most, since it stops there.
 */
function nestsDeeper(v: object, levels: number): boolean {
  if (levels === 0) return true;
  if (Array.isArray(v)) {
    for (const x of v) if (typeof x === 'object' && x !== null && nestsDeeper(x, levels - 1)) return true;
    return false;
  }
  if (!isRecord(v)) return false;
  for (const k in v) {
    const x = v[k];
    if (typeof x === 'object' && x !== null && nestsDeeper(x, levels - 1)) return true;
  }
  return false;
}

/**
 * Streams a history file in batches of validated ops (one batch per 1 MiB read). Lines are split
 * by hand, and ops travel in batches rather than one promise each: both matter at millions of ops.
 * Lines are cut from the bytes (a newline byte is never inside a UTF-8 sequence) and each chunk's
 * whole lines decoded once; a chunk of ASCII only, the usual case, is decoded as Latin-1, which
 * gives the same string for ASCII at a fraction of UTF-8 decoding's cost (at 200 MB, ~0.2 s
 * against ~1 s).
 */
export async function* readHistoryBatches(file: string): AsyncGenerator<Op[]> {
  const validator = new HistoryValidator(file);
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new HistoryError(`${file}: cannot read history (${e.code ?? e.message})`);
  });
  if (st.isDirectory()) throw new HistoryError(`${file}: is a directory, not a history file`);
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e: NodeJS.ErrnoException) => reject(new HistoryError(`${file}: cannot read history (${e.code ?? e.message})`)));
  });
  let rest: Buffer | undefined;
  let n = 0;
  const chunks = (async function* () {
    try {
      // Without an encoding, every chunk is a Buffer.
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (e: unknown) {
      throw new HistoryError(`${file}: cannot read history (${errnoCode(e) ?? toError(e).message})`);
    }
  })();
  for await (const chunk of chunks) {
    const bytes = rest?.length ? Buffer.concat([rest, chunk]) : chunk;
    const lastNl = bytes.lastIndexOf(NEWLINE);
    if (lastNl < 0) {
      rest = bytes;
      continue;
    }
    const text = decode(bytes, lastNl + 1);
    rest = bytes.subarray(lastNl + 1);
    const batch: Op[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const op = validator.parseLine(text.slice(start, nl), ++n);
      if (op) batch.push(op);
      start = nl + 1;
    }
    if (batch.length) yield batch;
  }
  const last = rest && rest.length > 0 ? validator.parseLine(decode(rest, rest.length), n + 1) : undefined;
  if (last) yield [last];
}

const NEWLINE = 0x0a;

/** The first `end` bytes as text: Latin-1 when they are all ASCII (the same string, decoded far faster), else UTF-8. */
function decode(bytes: Buffer, end: number): string {
  const head = bytes.subarray(0, end);
  return isAscii(head) ? head.toString('latin1') : head.toString('utf8');
}

/** Streams a history file op by op. */
export async function* readHistory(file: string): AsyncGenerator<Op> {
  for await (const batch of readHistoryBatches(file)) yield* batch;
}

/** Reads a whole history into memory (the checkers need random access). */
export async function loadHistory(file: string): Promise<Op[]> {
  const ops: Op[] = [];
  for await (const batch of readHistoryBatches(file)) for (const op of batch) ops.push(op);
  return ops;
}

/**
 * Validates an in-memory history (tests, converted histories). `lines` gives each op's line in the
 * file it came from, for messages; by default an op's position (1-based) is its line.
 */
export function validateHistory(ops: unknown[], where = 'history', lines?: readonly number[]): Op[] {
  const v = new HistoryValidator(where);
  return ops.map((o, i) => v.check(o, lines?.[i] ?? i + 1));
}

/** The `code` of a Node system error (ENOENT…), if `e` is one. */
function errnoCode(e: unknown): string | undefined {
  return isRecord(e) && typeof e.code === 'string' ? e.code : undefined;
}

function isOpType(v: unknown): v is OpType {
  return typeof v === 'string' && OP_TYPES.some((t) => t === v);
}
