/**
 * Append-only .jsonl files (monitor events, rewound records, lag samples): the lines that parse
 * as what `schema` says. A torn last line (a process killed mid-append) or a foreign line is
 * skipped, not fatal: these files inform; the durable state lives elsewhere.
 */
import type { z } from 'zod';

export function parseJsonLines<T>(text: string, schema: z.ZodType<T>): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = schema.safeParse(JSON.parse(line));
      if (r.success) out.push(r.data);
    } catch {
      // not JSON
    }
  }
  return out;
}
