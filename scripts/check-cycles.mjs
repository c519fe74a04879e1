#!/usr/bin/env node
/**
 * Import circles among TypeScript files: `node scripts/check-cycles.mjs [folder...]` (default: src
 * and bench) reads every .ts file under the folders, follows their relative imports (`import type`
 * and `export … from` too: a type-only circle still ties the modules into one unit that cannot be
 * understood or moved apart), and prints each circle as `a.ts → b.ts → a.ts`. Exit 0 without
 * circles, 1 with, 2 when a folder cannot be read.
 *
 * Plain Node, no dependency: a small scanner sets comments, strings and template text aside (so
 * an import written in a comment or a string is not taken for one, nor a `//` in a URL for a
 * comment) and the specifiers are read from what is left. Specifiers are written the ESM way (`./x.js` for `x.ts`); bare package names
 * are not ours and are skipped.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);

/** Every .ts file (not .d.ts) under `dir`, as absolute paths. */
function tsFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) out.push(...tsFiles(p));
    } else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(p);
    }
  }
  return out;
}

/**
 * The source as code alone: comments dropped, each quoted string replaced by `'#n'` with its text
 * kept as `strings[n]`, template and regex literal text blanked. Import syntax can then only be
 * matched in code, never inside a string or comment that merely mentions it.
 */
export function maskSource(src) {
  let out = '';
  const strings = [];
  let i = 0;
  // Braces opened inside template `${…}`: when one closes, the template text resumes.
  const templateDepth = [];
  let braces = 0;
  let lastSignificant = '';
  const n = src.length;
  const readQuoted = (quote) => {
    const start = i;
    i++;
    // In a regex literal a `/` inside a character class does not end it.
    let inClass = false;
    while (i < n && (src[i] !== quote || inClass)) {
      if (src[i] === '\\') i++;
      else if (src[i] === '\n') break;
      else if (quote === '/' && src[i] === '[') inClass = true;
      else if (quote === '/' && src[i] === ']') inClass = false;
      i++;
    }
    i++;
    if (quote === '/') out += '/ /';
    else {
      out += `'#${strings.length}'`;
      strings.push(src.slice(start + 1, i - 1));
    }
  };
  const readTemplate = () => {
    // At a backtick or at the `}` that ends a `${…}`: copy text up to the closing backtick or the next `${`.
    i++;
    while (i < n) {
      if (src[i] === '\\') i += 2;
      else if (src[i] === '`') {
        i++;
        break;
      } else if (src[i] === '$' && src[i + 1] === '{') {
        i += 2;
        templateDepth.push(braces);
        break;
      } else i++;
    }
    out += '` `';
    lastSignificant = '`';
  };
  while (i < n) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      out += ' ';
    } else if (c === "'" || c === '"') {
      readQuoted(c);
      lastSignificant = c;
    } else if (c === '`') {
      readTemplate();
    } else if (c === '/' && (lastSignificant === '' || '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant))) {
      readQuoted('/');
      lastSignificant = '/';
    } else {
      if (c === '{') braces++;
      else if (c === '}') {
        if (templateDepth.length && templateDepth[templateDepth.length - 1] === braces) {
          templateDepth.pop();
          readTemplate();
          continue;
        }
        braces--;
      }
      if (!/\s/.test(c)) lastSignificant = /[\w$)\]]/.test(c) ? 'x' : c;
      out += c;
      i++;
    }
  }
  return { code: out, strings };
}

const STATIC = /\b(?:import|export)\s+(?:type\s+)?(?:[^';]*?\bfrom\s*)?'#(\d+)'/g;
const DYNAMIC = /\bimport\s*\(\s*'#(\d+)'\s*\)/g;

/** The module specifiers a file's text imports or re-exports. */
export function specifiers(src) {
  const { code, strings } = maskSource(src);
  return [...code.matchAll(STATIC), ...code.matchAll(DYNAMIC)].map((m) => strings[Number(m[1])]);
}

/** The file a relative specifier names, or undefined when it is a package or names no .ts file. */
function resolve(fromFile, spec, known) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base.replace(/\.(m|c)?js$/, '.$1ts'), base, `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => known.has(c));
}

/** Strongly connected groups of more than one file, or of one file importing itself (Tarjan). */
function circularGroups(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const groups = [];
  const visit = (v) => {
    // Iterative, so a long import chain cannot overflow the call stack.
    const work = [[v, 0]];
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    while (work.length) {
      const frame = work[work.length - 1];
      const [node, k] = frame;
      const edges = graph.get(node);
      if (k < edges.length) {
        frame[1]++;
        const w = edges[k];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) low.set(node, Math.min(low.get(node), index.get(w)));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const group = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          group.push(w);
        } while (w !== node);
        if (group.length > 1 || graph.get(node).includes(node)) groups.push(group);
      }
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return groups;
}

/** The shortest circle through `start` inside `group` (breadth-first), as a closed path. */
function shortestCircle(graph, group, start) {
  const inGroup = new Set(group);
  const prev = new Map();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (!inGroup.has(w)) continue;
      if (w === start) {
        const back = [];
        for (let u = v; u !== start; u = prev.get(u)) back.push(u);
        return [start, ...back.reverse(), start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}

/**
 * The circles among the .ts files under `roots`: per circular group, the shortest circle through
 * each of its files, each circle once (whatever file it is read from), as paths relative to `cwd`.
 */
export function findCircles(roots, cwd = process.cwd()) {
  const files = roots.flatMap((r) => tsFiles(path.resolve(cwd, r)));
  const known = new Set(files);
  const graph = new Map();
  for (const f of files) {
    const targets = specifiers(readFileSync(f, 'utf8'))
      .map((s) => resolve(f, s, known))
      .filter((t) => t !== undefined);
    graph.set(f, [...new Set(targets)].sort());
  }
  const circles = new Map();
  for (const group of circularGroups(graph)) {
    for (const start of [...group].sort()) {
      const circle = shortestCircle(graph, group, start);
      if (!circle) continue;
      // One key per circle whatever file it starts from: rotate it to begin at its smallest path.
      const ring = circle.slice(0, -1);
      const first = ring.indexOf([...ring].sort()[0]);
      const rotated = [...ring.slice(first), ...ring.slice(0, first)];
      const key = rotated.join('\n');
      if (!circles.has(key))
        circles.set(
          key,
          [...rotated, rotated[0]].map((p) => path.relative(cwd, p)),
        );
    }
  }
  return { files: files.length, circles: [...circles.values()] };
}

function main(argv) {
  const roots = argv.length ? argv : ['src', 'bench'].filter((r) => existsSync(r));
  for (const r of roots) {
    if (!existsSync(r) || !statSync(r).isDirectory()) {
      console.error(`check-cycles: ${r} is not a folder`);
      return 2;
    }
  }
  const { files, circles } = findCircles(roots);
  if (!circles.length) {
    console.log(`check-cycles: no import circles among ${files} files in ${roots.join(', ')}`);
    return 0;
  }
  for (const c of circles) console.log(c.join(' → '));
  console.error(`check-cycles: ${circles.length} import circle(s) among ${files} files in ${roots.join(', ')}`);
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
