/** `replab check` as a user runs it: verdicts as exit codes, one-line errors for bad histories. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { replab } from '../helpers/cli.js';

const fixture = (name: string) => path.join(projectRoot(), 'test', 'fixtures', 'histories', name);

describe('cli: check', () => {
  it('valid → exit 0', async () => {
    const r = await replab(['check', fixture('register-etcd002-ok.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^valid \(register model/);
  });

  it('a stale follower read → exit 1, and --json carries the failure', async () => {
    const r = await replab(['check', fixture('register-stale-bad.jsonl'), '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { valid: boolean; linearizable: { failures: Array<{ key: string }> }; staleReads: { stale: number; maxStaleLsn: number } };
    expect(j.valid).toBe(false);
    expect(j.linearizable.failures[0]!.key).toBe('k1');
    expect(j.staleReads).toMatchObject({ stale: 1, maxStaleLsn: 1 });
  });

  it('a lost acknowledged add → exit 1 (set model guessed)', async () => {
    const r = await replab(['check', fixture('set-lost-bad.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('loss: false — 1 of 2 acknowledged adds lost');
  });

  it('search over budget → exit 3', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-'));
    const file = path.join(dir, 'hard.jsonl');
    const lines: unknown[] = [];
    for (let p = 0; p < 18; p++) lines.push({ process: p, type: 'invoke', f: 'write', key: 'x', value: p });
    for (let p = 0; p < 18; p++) lines.push({ process: p, type: 'info', f: 'write', key: 'x', value: p });
    for (let i = 0; i < 40; i++) lines.push({ process: 100 + i, type: 'invoke', f: 'read', key: 'x', value: null }, { process: 100 + i, type: 'ok', f: 'read', key: 'x', value: i % 18 });
    lines.push({ process: 99, type: 'invoke', f: 'read', key: 'x', value: null }, { process: 99, type: 'ok', f: 'read', key: 'x', value: 'never' });
    await fsp.writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    const r = await replab(['check', file, '--budget-ms', '1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/unknown — search exceeded 1 ms/);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('bad input → one line, exit 2', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-'));
    const file = path.join(dir, 'bad.jsonl');
    await fsp.writeFile(file, '{"process":0,"type":"invoke","f":"read"}\n{"process":0,"type":"ok","f":"read"\n');
    const r = await replab(['check', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: ${file}:2: not valid JSON: {"process":0,"type":"ok","f":"read"\n`);
    const missing = await replab(['check', path.join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: .*nope\.jsonl: cannot read history \(ENOENT\)\n$/);
    const flag = await replab(['check', file, '--model', 'graph']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--model must be one of register, kv, set, got "graph"');
    // An empty file proves nothing and a directory is not a history: both are bad input, not "valid".
    const empty = path.join(dir, 'empty.jsonl');
    await fsp.writeFile(empty, '');
    const e = await replab(['check', empty]);
    expect(e.code).toBe(2);
    expect(e.stderr).toBe(`error: ${empty}: the history has no operations\n`);
    const d = await replab(['check', dir]);
    expect(d.code).toBe(2);
    expect(d.stderr).toBe(`error: ${dir}: is a directory, not a history file\n`);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('replab proxy refuses to serve its API on a non-loopback address', async () => {
    const r = await replab(['proxy', '--host', '0.0.0.0', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --host must be a loopback address .*got "0\.0\.0\.0"/);
  });
});
