/**
 * Turning zod validation failures into the one-line errors replab promises:
 * `<where>: <json path>: <what is accepted>, got <what was there>`.
 */
import type { z } from 'zod';
import { ConfigError } from './errors.js';

export function parseWith<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const pathText = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  let got = valueAt(input, issue.path);
  if (issue.code === 'unrecognized_keys') {
    return fail(`${where}: ${pathText}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`);
  }
  if (got === undefined && issue.code === 'invalid_type') return fail(`${where}: ${pathText}: is required (${issue.message})`);
  got = got === undefined ? '' : `, got ${truncate(JSON.stringify(got))}`;
  return fail(`${where}: ${pathText}: ${issue.message}${got}`);
}

function fail(message: string): never {
  throw new ConfigError(message);
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = Reflect.get(v, p);
  }
  return v;
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A JSON object (not an array, not null): the narrowing every hand-checked JSON body starts with. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
