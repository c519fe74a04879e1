/**
 * Every relative link in README.md and docs/*.md leads somewhere: the file exists and, when the
 * link names a heading (`guide.md#faults`), the target has that heading. Docs are moved and split
 * often; a link that silently 404s on GitHub is how a reader gets lost.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/lib/paths.js';

const root = projectRoot();
const docs = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown outside fenced blocks and inline code spans, where `[x](y)` is text, not a link. */
function prose(markdown: string): string {
  return markdown
    .split(/^```.*$/m)
    .filter((_, i) => i % 2 === 0)
    .join('\n')
    .replace(/`[^`\n]*`/g, '');
}

/** The targets of inline links and images, `[text](target)` / `![alt](target "title")`. */
function linkTargets(markdown: string): string[] {
  const out: string[] = [];
  for (const m of prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]!);
  return out;
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown
    .split(/^```.*$/m)
    .filter((_, i) => i % 2 === 0)
    .join('\n')
    .matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** What is wrong with one link from `from` (a path relative to the project), or undefined. */
function brokenLink(from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: — not ours to check
  const [file, anchor] = target.split('#', 2) as [string, string | undefined];
  const resolved = file === '' ? path.join(root, from) : path.resolve(path.dirname(path.join(root, from)), decodeURIComponent(file));
  if (!resolved.startsWith(root + path.sep)) return `${target}: leads out of the project`;
  if (!existsSync(resolved)) return `${target}: no such file`;
  if (anchor && resolved.endsWith('.md') && statSync(resolved).isFile() && !headingAnchors(readFileSync(resolved, 'utf8')).has(anchor))
    return `${target}: ${path.relative(root, resolved)} has no heading #${anchor}`;
  return undefined;
}

describe('docs: relative links resolve', () => {
  it('finds the documents and their links', () => {
    expect(docs).toContain('docs/guide.md');
    expect(docs).toContain('docs/design.md');
    expect(linkTargets(readFileSync(path.join(root, 'README.md'), 'utf8'))).toContain('docs/guide.md');
  });

  it.each(docs)('%s', (doc) => {
    const broken = linkTargets(readFileSync(path.join(root, doc), 'utf8'))
      .map((t) => brokenLink(doc, t))
      .filter((b) => b !== undefined);
    expect(broken).toEqual([]);
  });

  it('tells a broken link from a good one', () => {
    const md = '# Run a suite\n\n[ok](#run-a-suite) [bad](#nowhere) [gone](missing.md) `[code](x.md)`\n```\n[fenced](y.md)\n```\n';
    expect(linkTargets(md)).toEqual(['#run-a-suite', '#nowhere', 'missing.md']);
    expect(headingAnchors('## Failover, fencing, rewind\n## Exit codes\n## Exit codes\n')).toEqual(
      new Set(['failover-fencing-rewind', 'exit-codes', 'exit-codes-1']),
    );
    expect(brokenLink('docs/guide.md', 'guide.md#faults')).toBeUndefined();
    expect(brokenLink('docs/guide.md', 'guide.md#no-such-heading')).toMatch(/no heading/);
    expect(brokenLink('docs/guide.md', 'nowhere.md')).toMatch(/no such file/);
    expect(brokenLink('README.md', 'https://example.com/x')).toBeUndefined();
  });
});
