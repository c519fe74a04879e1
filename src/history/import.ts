/**
 * Converting Jepsen histories into replab's JSON Lines format:
 * - `history.edn`: one op map per line (`{:type :invoke, :f :write, :value 3, :process 0, :time 12}`);
 * - Knossos's data files: the whole history as one vector `[{...} {...}]` or list `({...} ...)`;
 * - Jepsen's text log (`INFO  jepsen.util - 3	:invoke	:write	1`, an optional trailing error
 *   keyword such as `:timed-out`).
 * Keywords become strings, nil becomes null. Lines that are not ops (other log output) are skipped
 * in the text log; in EDN every element (or non-blank line) must be an op map.
 */
import { parseEDNString } from 'edn-data';
import { ConfigError, toError } from '../lib/errors.js';
import { isRecord } from '../lib/schema.js';
import type { Op } from './op.js';
import { MAX_VALUE_DEPTH, validateHistory } from './reader.js';

const EDN_OPTIONS = { mapAs: 'object', keywordAs: 'string', listAs: 'array' } as const;

function parseEdn(text: string, where: string): unknown {
  try {
    return parseEDNString(text, EDN_OPTIONS);
  } catch (e: unknown) {
    throw new ConfigError(`${where}: not valid EDN: ${toError(e).message.split('\n')[0]}`);
  }
}

export function importJepsenEdn(text: string, where = 'history.edn'): Op[] {
  const { ops, lines } = wholeDocument(text) ? vectorOps(text, where) : lineOps(text, where);
  for (const [i, o] of ops.entries()) {
    delete o.index;
    numbersForBigints(o, `${where}:${lines[i]}`);
  }
  return validateHistory(
    splitIndependentKeys(ops).map((o, index) => ({ ...o, index })),
    where,
    lines,
  );
}

type Ops = { ops: Array<Record<string, unknown>>; lines: number[] };

/** Jepsen's history.edn: one op map per line; blank lines and `;` comments are skipped. */
function lineOps(text: string, where: string): Ops {
  const ops: Array<Record<string, unknown>> = [];
  const lines: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.trim().startsWith(';')) return;
    const v = parseEdn(line, `${where}:${i + 1}`);
    if (!isRecord(v)) throw new ConfigError(`${where}:${i + 1}: expected an op map, got ${line.slice(0, 60)}`);
    ops.push({ ...v });
    lines.push(i + 1);
  });
  return { ops, lines };
}

/** Knossos's data files: the whole history is one vector `[...]` or list `(...)` of op maps. */
function wholeDocument(text: string): boolean {
  const first = /^(?:[\s,]|;[^\n]*)*(.)/.exec(text)?.[1];
  return first === '[' || first === '(';
}

function vectorOps(text: string, where: string): Ops {
  const v = parseEdn(text, where);
  if (!Array.isArray(v))
    throw new ConfigError(`${where}: not one complete vector or list of op maps (an unclosed bracket, or something after the closing one)`);
  const ops = v.map((o: unknown, i) => {
    if (!isRecord(o)) throw new ConfigError(`${where}: element ${i + 1} of the history is not an op map: ${String(JSON.stringify(o)).slice(0, 60)}`);
    return { ...o };
  });
  const lines = mapLines(text);
  // Should the scan ever miscount (a tagged literal, say), ops are numbered from 1 instead.
  return { ops, lines: lines.length === ops.length ? lines : ops.map((_, i) => i + 1) };
}

/**
 * The line on which each map directly inside the top-level collection opens, so that a bad op is
 * named by its line as in the one-op-per-line form. Strings, character literals (`\{`) and
 * comments are skipped: brackets inside them do not count.
 */
function mapLines(text: string): number[] {
  const out: number[] = [];
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line++;
    else if (c === ';') while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    else if (c === '\\') i++;
    else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\') i++;
        if (text[i] === '\n') line++;
      }
    } else if (c === '[' || c === '(' || c === '{') {
      if (c === '{' && depth === 1) out.push(line);
      depth++;
    } else if (c === ']' || c === ')' || c === '}') depth--;
  }
  return out;
}

/**
 * EDN integers written with an `N` suffix (`12N`) parse as bigints, which JSON cannot write and
 * the checkers cannot compare (one in a value crashed the check into "unknown"). Those a double
 * holds exactly become numbers; a larger one is refused, naming the line and field. The walk
 * stops at the nesting bound: the reader refuses anything deeper, naming the line.
 */
function numbersForBigints(op: Record<string, unknown>, where: string): void {
  for (const field of Object.keys(op)) {
    op[field] = toNumbers(op[field], MAX_VALUE_DEPTH, (n) => {
      throw new ConfigError(`${where}: ${JSON.stringify(field)} holds the integer ${n}N, beyond what a number holds exactly (2^53 - 1)`);
    });
  }
}

function toNumbers(v: unknown, levels: number, refuse: (n: bigint) => never): unknown {
  if (typeof v === 'bigint') return v > MAX_EXACT || v < -MAX_EXACT ? refuse(v) : Number(v);
  if (typeof v !== 'object' || v === null || levels === 0) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = toNumbers(v[i], levels - 1, refuse);
  } else if (isRecord(v)) {
    for (const k of Object.keys(v)) v[k] = toNumbers(v[k], levels - 1, refuse);
  }
  return v;
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Jepsen's independent keys (`jepsen.independent`): every client op's value is a `[key value]`
 * tuple (`[3 nil]` for a read invocation, `[3 [1 2]]` for a cas). Such a history is many
 * registers, one per key: the key moves into `key` and the value is the tuple's second element.
 * A history whose read invocations carry a bare nil is a single register and stays as it is.
 */
export function splitIndependentKeys(ops: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const client = ops.filter((o) => typeof o.process === 'number' && o.key === undefined);
  const tuple = (v: unknown): v is [number | string, unknown] => Array.isArray(v) && v.length === 2 && (typeof v[0] === 'number' || typeof v[0] === 'string');
  if (client.length === 0 || !client.every((o) => tuple(o.value) || (o.type !== 'invoke' && o.type !== 'ok' && o.value === null))) return ops;
  // A plain register's reads are invoked with nil: at least one tuple-valued read invocation says "independent".
  if (!client.some((o) => o.type === 'invoke' && o.f === 'read' && tuple(o.value))) return ops;
  const keyOf = new Map<unknown, string>();
  return ops.map((o) => {
    if (typeof o.process !== 'number' || o.key !== undefined) return o;
    if (tuple(o.value)) {
      const [k, v] = o.value;
      if (o.type === 'invoke') keyOf.set(o.process, String(k));
      return { ...o, key: String(k), value: v };
    }
    // A completion without a value (an info that lost it): the key of its invocation.
    return { ...o, key: keyOf.get(o.process) };
  });
}

const LOG_LINE = /jepsen\.util\s+-\s+(:?[\w-]+)\s+:(invoke|ok|fail|info)\s+:?([\w-]+)\s*(.*)$/;

export function importJepsenLog(text: string, where = 'jepsen.log'): Op[] {
  const raw: Array<Record<string, unknown>> = [];
  const lines: number[] = [];
  text.split('\n').forEach((line, i) => {
    const m = LOG_LINE.exec(line);
    if (!m) return;
    // Every group takes part in a match: the defaults only satisfy the type.
    const [, proc = '', type = '', f = '', rest = ''] = m;
    const process = /^\d+$/.test(proc) ? Number(proc) : proc.replace(/^:/, '');
    const { value, error } = splitValue(rest.trim(), `${where}:${i + 1}`);
    const op: Record<string, unknown> = { process, type, f, value, time: raw.length, index: raw.length };
    if (error !== undefined) op.error = error;
    numbersForBigints(op, `${where}:${i + 1}`);
    raw.push(op);
    lines.push(i + 1);
  });
  if (raw.length === 0) throw new ConfigError(`${where}: no Jepsen op lines found (expected lines like "INFO jepsen.util - 3 :invoke :write 1")`);
  return validateHistory(raw, where, lines);
}

/** The value is EDN; a trailing bare keyword after it (`1 :timed-out`) is the error. */
function splitValue(rest: string, where: string): { value: unknown; error?: string } {
  if (rest === '') return { value: null };
  const m = /^(.*\S)\s+:([\w-]+)$/.exec(rest);
  if (m) return { value: parseEdn(m[1]!, where), error: m[2]! };
  return { value: parseEdn(rest, where) };
}
