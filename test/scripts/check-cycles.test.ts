/** scripts/check-cycles.mjs, run as `npm run lint` runs it, on small folders written for each case. */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';

const SCRIPT = path.join(projectRoot(), 'scripts', 'check-cycles.mjs');
const dirs: string[] = [];

/** A fresh folder holding `files` (relative path → text). */
async function fixture(files: Record<string, string>): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-cycles-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fsp.writeFile(path.join(dir, name), text);
  }
  return dir;
}

function run(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

afterEach(async () => {
  for (const d of dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
});

describe('check-cycles', () => {
  it('passes a folder whose imports form no circle, whatever comments and strings say', async () => {
    const dir = await fixture({
      'src/a.ts': "import { b } from './b.js';\nimport type { C } from './lib/c.js';\nexport const a: C = b;\n",
      'src/b.ts': "// import { a } from './a.js';\n/* export * from './a.js'; */\nexport const b = 'import \"./a.js\"';\n",
      // A template literal's text, and a string inside its placeholder, import nothing either.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is the fixture file's own template literal
      'src/lib/c.ts': ["import { z } from 'zod';", 'export type C = string;', "export const url = `http://x/${'./a.js'}`;", 'void z;'].join('\n'),
    });
    const r = await run(dir, ['src']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no import circles among 3 files');
  });

  it('fails on a circle, a type-only import counting too, and prints it as a path', async () => {
    const dir = await fixture({
      'src/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/b.ts': "import type { T } from './sub/c.js';\nexport const b: T = 1;\n",
      'src/sub/c.ts': "export type { A } from '../a.js';\nexport type T = number;\n",
      'src/d.ts': "import { a } from './a.js';\nexport const d = a;\n",
    });
    const r = await run(dir, ['src']);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual(['src/a.ts → src/b.ts → src/sub/c.ts → src/a.ts']);
    expect(r.stderr).toContain('1 import circle(s) among 4 files');
  });

  it('names every circle, a file that imports itself included', async () => {
    const dir = await fixture({
      'x/p.ts': "import './q.js';\n",
      'x/q.ts': "export const q = () => import('./p.js');\n",
      'x/self.ts': "export * from './self.js';\n",
    });
    const r = await run(dir, ['x']);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['x/p.ts → x/q.ts → x/p.ts', 'x/self.ts → x/self.ts']);
  });

  it('refuses a folder that is not there in one line, exit 2', async () => {
    const dir = await fixture({});
    const r = await run(dir, ['missing']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('check-cycles: missing is not a folder');
  });
});
