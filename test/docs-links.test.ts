/**
 * Every relative link in README.md and docs/*.md leads somewhere: the file exists and, when the
 * link names a heading (`guide.md#faults`), the target has that heading. Docs are moved and split
 * often; a link that silently 404s on GitHub is how a reader gets lost. And every command the
 * README shows is one the CLI has, with flags it takes, and every `npm run` script exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
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

/** The CLI as `replab` builds it: every command module's register functions on one program. */
async function cliProgram(): Promise<Command> {
  const program = new Command('replab');
  const dir = path.join(root, 'src', 'cli', 'commands');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const mod = (await import(path.join(dir, file))) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(mod)) if (name.startsWith('register') && typeof fn === 'function') (fn as (p: Command) => void)(program);
  }
  return program;
}

/** `replab …` command lines a document shows: lines of its shell blocks, and inline code spans. */
function commandLines(markdown: string): string[] {
  const blocks = markdown.split(/^```.*$/m).filter((_, i) => i % 2 === 1);
  const fromBlocks = blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/#.*$/, '').trim());
  const spans = [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!.trim());
  return [...fromBlocks, ...spans].map((l) => l.replace(/^npx\s+/, '')).filter((l) => /^replab\s+[a-z]/.test(l));
}

/** What is wrong with one command line, or undefined. `a\|b` alternatives (in table cells) are each checked. */
function badCommand(program: Command, line: string): string | undefined {
  const words = line.split(/\s+/).slice(1);
  // Commander's own `help [command]`.
  if (words[0] === 'help') return undefined;
  const top = program.commands.find((c) => c.name() === words[0]);
  if (!top) return `${line}: no command "${words[0]}"`;
  let cmd = top;
  if (top.commands.length > 0 && words[1] && !words[1].startsWith('-')) {
    const subs = words[1].replace(/\\\|/g, '|').split('|');
    for (const sub of subs) if (!top.commands.some((c) => c.name() === sub)) return `${line}: "${top.name()}" has no subcommand "${sub}"`;
    cmd = top.commands.find((c) => c.name() === subs[0])!;
  }
  const longs = new Set([...cmd.options.map((o) => o.long), '--help']);
  for (const w of words) {
    const flag = /^(--[a-z][a-z0-9-]*)/.exec(w)?.[1];
    if (flag && !longs.has(flag)) return `${line}: "${cmd.name()}" has no flag ${flag}`;
  }
  return undefined;
}

describe('docs: the commands they show exist', () => {
  const read = (doc: string) => readFileSync(path.join(root, doc), 'utf8');
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const programOnce = cliProgram();

  it('the README starts with the two commands a new user types, both real scripts', () => {
    const first = read('README.md')
      .split(/^```.*$/m)[1]!
      .trim()
      .split('\n');
    expect(first[0]).toMatch(/^npm install && npm start\s/);
    expect(first[1]).toMatch(/^npm test\s/);
    expect(scripts.start).toContain('run suites/quick.yaml');
    expect(scripts.test).toContain('vitest run');
  });

  it.each(['README.md', 'docs/guide.md', 'docs/ci.md'])('%s: only commands, subcommands, flags and npm scripts that exist', async (doc) => {
    const program = await programOnce;
    const lines = commandLines(read(doc));
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.map((l) => badCommand(program, l)).filter((b) => b !== undefined)).toEqual([]);
    const missing = [...read(doc).matchAll(/npm run ([a-z:]+)/g)].map((m) => m[1]!).filter((name) => !(name in scripts));
    expect(missing).toEqual([]);
  });

  it('tells a wrong command from a right one', async () => {
    const program = await programOnce;
    expect(badCommand(program, 'replab cluster up clusters/three-node.yaml --mode sync')).toBeUndefined();
    expect(badCommand(program, 'replab frobnicate')).toMatch(/no command/);
    expect(badCommand(program, 'replab cluster up\\|explode')).toMatch(/no subcommand "explode"/);
    expect(badCommand(program, 'replab run ci --gait')).toMatch(/no flag --gait/);
  });
});

/** The folders under src/ that each file under src/`folder` imports (relative imports, types included). */
function folderImports(folder: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
  for (const file of walk(path.join(root, 'src', folder))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)'(\.{1,2}\/[^']+)'/g)) {
      const target = path.relative(path.join(root, 'src'), path.resolve(path.dirname(file), m[1]!)).split(path.sep)[0]!;
      if (target === folder) continue;
      out.set(target, [...(out.get(target) ?? []), path.relative(root, file)]);
    }
  }
  return out;
}

describe('docs: the layer rules ARCHITECTURE.md states hold', () => {
  it('sees the imports it judges', () => {
    expect(folderImports('suite').get('systems')).toContain('src/suite/run-one.ts');
    expect(folderImports('report').get('checker')).toContain('src/report/data.ts');
  });
  it('lib imports nothing of ours', () => {
    expect([...folderImports('lib').keys()]).toEqual([]);
  });
  it('the checker imports only history and lib', () => {
    expect([...folderImports('checker').keys()].filter((f) => f !== 'history' && f !== 'lib')).toEqual([]);
  });
  it('nothing in src imports cli', () => {
    const folders = readdirSync(path.join(root, 'src')).filter((f) => f !== 'cli');
    expect(folders.filter((f) => folderImports(f).has('cli'))).toEqual([]);
  });
  it('report and serve read files: they start no system, cluster or node (file-format modules aside)', () => {
    // The report reads files other parts write, through those parts' own schema modules, which
    // import nothing that starts anything: the monitor's events and MariaDB's binlog evidence.
    const formatModules = ['monitor/state.js', 'systems/mariadb/evidence.js', 'systems/describe.js'];
    for (const f of ['report', 'serve']) {
      const starters = [...folderImports(f).keys()].filter((t) => ['systems', 'cluster', 'kv', 'monitor', 'faults'].includes(t));
      const onlyFormats = (t: string) =>
        folderImports(f)
          .get(t)!
          .every((file) =>
            [...readFileSync(path.join(root, file), 'utf8').matchAll(/from '\.\.\/((?:monitor|systems|cluster|kv|faults)\/[^']+)'/g)].every(
              (m) => !m[1]!.startsWith(`${t}/`) || formatModules.includes(m[1]!),
            ),
          );
      expect(starters.filter((t) => !onlyFormats(t))).toEqual([]);
    }
  });
});
