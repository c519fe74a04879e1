/** `replab check` as a user runs it: verdicts as exit codes, one-line errors for bad histories. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticKvHistory } from '../../src/history/synthetic.js';
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
    const j = JSON.parse(r.stdout) as {
      valid: boolean;
      linearizable: { failures: Array<{ key: string }> };
      staleReads: { stale: number; maxStaleLsn: number };
    };
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
    // A value written twice keeps the key from the read-mapping check, which would decide it at once.
    lines.push({ process: 50, type: 'invoke', f: 'write', key: 'x', value: 0 }, { process: 50, type: 'info', f: 'write', key: 'x', value: 0 });
    for (let i = 0; i < 40; i++)
      lines.push({ process: 100 + i, type: 'invoke', f: 'read', key: 'x', value: null }, { process: 100 + i, type: 'ok', f: 'read', key: 'x', value: i % 18 });
    lines.push({ process: 99, type: 'invoke', f: 'read', key: 'x', value: null }, { process: 99, type: 'ok', f: 'read', key: 'x', value: 'never' });
    await fsp.writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    const r = await replab(['check', file, '--budget-ms', '1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/unknown — search exceeded 1 ms/);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a Knossos history as shipped (one vector, no times) with --initial 0; --initial only for registers, and as JSON', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-'));
    const file = path.join(dir, 'cas.edn');
    await fsp.writeFile(
      file,
      [
        '[{:process 0, :type :invoke, :f :read, :value nil}',
        ' {:process 0, :type :ok, :f :read, :value 0}',
        ' {:process 1, :type :invoke, :f :cas, :value [0 5]}',
        ' {:process 1, :type :ok, :f :cas, :value [0 5]}]',
      ].join('\n'),
    );
    expect((await replab(['check', file, '--initial', '0'])).code).toBe(0);
    // From null (the default) the read of 0 is impossible.
    expect((await replab(['check', file])).code).toBe(1);
    const notJson = await replab(['check', file, '--initial', 'abc']);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toBe(`error: --initial must be a JSON value (a string with its quotes: '"x"'), got "abc"\n`);
    const kv = await replab(['check', file, '--model', 'kv', '--initial', '0']);
    expect(kv.code).toBe(2);
    expect(kv.stderr).toBe(`error: ${file}: --initial applies to the register and multi-register models, not kv\n`);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('--memory-mib beyond the bounded heap: the memo is capped to fit it, no fallback (was: out of memory, then all of it again unbounded)', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-'));
    const file = path.join(dir, 'puts.jsonl');
    // One kv key, 50 clients, 30% puts: the search cannot finish, and its memo grows past 64 MiB.
    const ops = syntheticKvHistory({ clients: 50, keys: 1, ops: 1500, seed: 1, writeProbability: 0.3 });
    await fsp.writeFile(file, ops.map((o) => JSON.stringify(o)).join('\n'));
    const r = await replab(['check', file, '--model', 'kv', '--budget-ms', '8000', '--memory-mib', '4096', '--heap-mib', '64', '--threads', '1', '--json']);
    // Before, stderr said the file needed more than --heap-mib 64 and was checked again without a bound.
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
    const j = JSON.parse(r.stdout) as { linearizable: { unknown: Array<{ reason: string }> } };
    expect(j.linearizable.unknown[0]!.reason).toMatch(/^search exceeded 8000 ms .*; the memo was capped at \d+ MiB, not the 4096 MiB asked, to fit the heap$/);
    await fsp.rm(dir, { recursive: true, force: true });
  }, 60_000);

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
    expect(flag.stderr).toContain('--model must be one of register, kv, set, mutex, multi-register, got "graph"');
    // An empty file proves nothing and a directory is not a history: both are bad input, not "valid".
    const empty = path.join(dir, 'empty.jsonl');
    await fsp.writeFile(empty, '');
    const e = await replab(['check', empty]);
    expect(e.code).toBe(2);
    expect(e.stderr).toBe(`error: ${empty}: the history has no operations\n`);
    const none = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-none-'));
    const d = await replab(['check', none]);
    expect(d.code).toBe(2);
    expect(d.stderr).toBe(`error: ${none}: a folder with no history files (*.jsonl, *.edn, *.log, *.txt)\n`);
    await fsp.rm(none, { recursive: true, force: true });
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('an op the reader cannot bound is bad input naming its line, not a verdict (it hid an INVALID key as "unknown")', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-bounds-'));
    // Key a reads a value nobody wrote (INVALID); one op on key b carries a value 100,000 levels deep.
    const invalid = [
      { index: 0, time: 1, process: 0, type: 'invoke', f: 'read', key: 'a', value: null },
      { index: 1, time: 2, process: 0, type: 'ok', f: 'read', key: 'a', value: 'ghost' },
    ].map((l) => JSON.stringify(l));
    const deep = path.join(dir, 'deep.jsonl');
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    await fsp.writeFile(deep, `${invalid.join('\n')}\n{"index":2,"time":3,"process":1,"type":"invoke","f":"write","key":"b","value":${nested}}\n`);
    const r = await replab(['check', deep]);
    expect(r.stderr).toBe(`error: ${deep}:3: "value" is nested deeper than 64 levels of arrays and objects\n`);
    expect(r.code).toBe(2);
    // Times no clock gives: an outage of Infinity ms before.
    const times = path.join(dir, 'times.jsonl');
    await fsp.writeFile(
      times,
      `${JSON.stringify({ process: 0, type: 'invoke', f: 'write', key: 'a', value: 1, time: 1e308 })}\n${JSON.stringify({ process: 0, type: 'ok', f: 'write', key: 'a', value: 1, time: -1e308 })}\n`,
    );
    const t = await replab(['check', times]);
    expect(t.stderr).toBe(`error: ${times}:1: "time" must be a whole number of nanoseconds from 0 to 2^53 - 1, got 1e+308\n`);
    expect(t.code).toBe(2);
    // A completion before its own invocation.
    const backwards = path.join(dir, 'backwards.jsonl');
    await fsp.writeFile(
      backwards,
      `${JSON.stringify({ process: 0, type: 'invoke', f: 'write', key: 'a', value: 1, time: 5000 })}\n${JSON.stringify({ process: 0, type: 'ok', f: 'write', key: 'a', value: 1, time: 10 })}\n`,
    );
    const b = await replab(['check', backwards]);
    expect(b.stderr).toBe(`error: ${backwards}:2: process 0 completes write at time 10, before its invoke (index 0) at time 5000\n`);
    expect(b.code).toBe(2);
    // The same deep value in a Jepsen EDN history.
    const edn = path.join(dir, 'deep.edn');
    await fsp.writeFile(edn, `{:type :invoke, :f :read, :value nil, :process 0, :time 1}\n{:type :ok, :f :read, :value ${nested}, :process 0, :time 2}\n`);
    const e = await replab(['check', edn]);
    expect(e.stderr).toBe(`error: ${edn}:2: "value" is nested deeper than 64 levels of arrays and objects\n`);
    expect(e.code).toBe(2);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('several histories in one process: a summary table, one JSON line each, the worst verdict as exit code', async () => {
    const ok = fixture('register-etcd002-ok.jsonl');
    const bad = fixture('register-stale-bad.jsonl');
    const r = await replab(['check', ok, bad]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^file\s+model\s+verdict\s+keys decided\s+time ms\s+peak RSS MiB$/);
    expect(lines[1]).toMatch(new RegExp(`^${ok.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+register\\s+valid\\s+1/1\\s+\\d+\\s+\\d+$`));
    expect(lines[2]).toMatch(/register\s+INVALID/);
    expect(lines[3]).toBe('2 histories: 1 valid, 1 invalid, 0 unknown, 0 unreadable');
    const json = await replab(['check', ok, bad, '--json']);
    const records = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; verdict: string; keysDecided: number });
    expect(records.map((x) => x.verdict)).toEqual(['valid', 'INVALID']);
    // A folder is every history in it; an unreadable one outranks INVALID (exit 2).
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-many-'));
    await fsp.copyFile(ok, path.join(dir, 'a.jsonl'));
    await fsp.writeFile(path.join(dir, 'b.jsonl'), '{"not": "an op"}\n');
    const mixed = await replab(['check', dir, bad]);
    expect(mixed.code).toBe(2);
    expect(mixed.stdout).toContain('1 valid, 1 invalid, 0 unknown, 1 unreadable');
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('--first-anomaly stops at the first illegal key', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-check-first-'));
    const file = path.join(dir, 'two-bad-keys.jsonl');
    const lines: string[] = [];
    let i = 0;
    for (const key of ['a', 'b']) {
      // Each key reads a value nobody wrote: illegal.
      lines.push(JSON.stringify({ index: i++, time: i, process: 0, type: 'invoke', f: 'read', key, value: null }));
      lines.push(JSON.stringify({ index: i++, time: i, process: 0, type: 'ok', f: 'read', key, value: 'ghost' }));
    }
    await fsp.writeFile(file, `${lines.join('\n')}\n`);
    const all = JSON.parse((await replab(['check', file, '--json'])).stdout) as { linearizable: { failures: unknown[] } };
    expect(all.linearizable.failures).toHaveLength(2);
    const first = JSON.parse((await replab(['check', file, '--json', '--first-anomaly'])).stdout) as { linearizable: { failures: unknown[] } };
    expect(first.linearizable.failures).toHaveLength(1);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('replab proxy refuses to serve its API on a non-loopback address', async () => {
    const r = await replab(['proxy', '--host', '0.0.0.0', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --host must be a loopback address .*got "0\.0\.0\.0"/);
  });
});
