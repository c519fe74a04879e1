import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { importJepsenEdn, importJepsenLog } from '../../src/history/import.js';
import { loadHistory, validateHistory } from '../../src/history/reader.js';
import { HistoryRecorder } from '../../src/history/recorder.js';

async function withFile(text: string, run: (file: string) => Promise<void>): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-hist-'));
  const file = path.join(dir, 'h.jsonl');
  await fsp.writeFile(file, text);
  try {
    await run(file);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

describe('history reader', () => {
  it('streams and validates; unknown fields are kept', async () => {
    await withFile(
      '{"index":0,"time":1,"process":0,"type":"invoke","f":"write","key":"k","value":1,"extra":"kept"}\n\n{"index":1,"time":2,"process":0,"type":"ok","f":"write","key":"k","value":1,"lsn":4}\n',
      async (file) => {
        const ops = await loadHistory(file);
        expect(ops).toHaveLength(2);
        expect(ops[0]!.extra).toBe('kept');
        expect(ops[1]!.lsn).toBe(4);
      },
    );
  });

  it('reads non-ASCII values whole where a 1 MiB read cuts a character in two, and a last line with no newline', async () => {
    // Lines are cut from bytes, and ASCII-only chunks decoded apart from the others: a character
    // split between two reads must still come out whole, with its line number right.
    const value = 'é日本€😀';
    const line = (i: number, type: string) => `${JSON.stringify({ index: i, time: i, process: 0, type, f: 'write', key: 'ключ', value: `${value}${i}` })}\n`;
    const lines: string[] = [];
    let bytes = 0;
    let i = 0;
    while (bytes < (1 << 20) * 2.5) {
      const pair = line(i, 'invoke') + line(i + 1, 'ok');
      lines.push(pair);
      bytes += Buffer.byteLength(pair);
      i += 2;
    }
    let text = lines.join('');
    // An ASCII-only stretch, then a final line without a newline.
    text += `${JSON.stringify({ index: i, time: i, process: 1, type: 'invoke', f: 'read', key: 'a' })}\n`;
    text += JSON.stringify({ index: i + 1, time: i + 1, process: 1, type: 'ok', f: 'read', key: 'a', value: 'ascii' });
    await withFile(text, async (file) => {
      const ops = await loadHistory(file);
      expect(ops).toHaveLength(i + 2);
      for (let j = 0; j < i; j++) expect(ops[j]!.value).toBe(`${value}${j}`);
      expect(ops.every((o, j) => j >= i || o.key === 'ключ')).toBe(true);
      expect(ops[i + 1]!.value).toBe('ascii');
    });
    // A bad line after the multi-byte stretch is named by its own line number.
    await withFile(`${text}\nnot json\n`, async (file) => {
      await expect(loadHistory(file)).rejects.toThrow(`h.jsonl:${i + 3}: not valid JSON: not json`);
    });
  });

  it.each([
    ['{"process":0,"type":"invoke","f":"read"}\nnot json\n', 'h.jsonl:2: not valid JSON: not json'],
    ['{"process":0,"type":"done","f":"read"}\n', 'h.jsonl:1: "type" must be one of invoke, ok, fail, info, got "done"'],
    ['{"process":3,"type":"ok","f":"read","value":1}\n', 'h.jsonl:1: "ok" for process 3 without a pending invoke'],
    [
      '{"process":1,"type":"invoke","f":"read"}\n{"process":1,"type":"invoke","f":"write"}\n',
      'h.jsonl:2: process 1 invokes write while its read (index 0) is still pending',
    ],
    ['[1,2]\n', 'h.jsonl:1: an op must be a JSON object'],
    ['{"type":"invoke","f":"read"}\n', 'h.jsonl:1: "process" must be an integer or a string, got null'],
  ])('rejects %j with one line naming the line', async (text, message) => {
    await withFile(text, async (file) => {
      await expect(loadHistory(file)).rejects.toThrow(`${file.replace(/h\.jsonl$/, '')}${message}`);
    });
  });

  // Values nested past the bound and times no clock gives used to pass the reader: the first
  // overflowed the checker's recursion and the second made latencies and outages Infinity.
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  it.each([
    [
      `{"process":0,"type":"invoke","f":"write","key":"a","value":1}\n{"process":0,"type":"ok","f":"write","key":"a","value":1}\n{"process":1,"type":"invoke","f":"write","key":"b","value":${deep(100_000)}}\n`,
      'h.jsonl:3: "value" is nested deeper than 64 levels of arrays and objects',
    ],
    [`{"process":1,"type":"invoke","f":"read","meta":{"a":${deep(65)}}}\n`, 'h.jsonl:1: "meta" is nested deeper than 64 levels of arrays and objects'],
    ['{"process":0,"type":"invoke","f":"read","time":1e308}\n', 'h.jsonl:1: "time" must be a whole number of nanoseconds from 0 to 2^53 - 1, got 1e+308'],
    ['{"process":0,"type":"invoke","f":"read","time":-1}\n', 'h.jsonl:1: "time" must be a whole number of nanoseconds from 0 to 2^53 - 1, got -1'],
    ['{"process":0,"type":"invoke","f":"read","time":2.5}\n', 'h.jsonl:1: "time" must be a whole number of nanoseconds from 0 to 2^53 - 1, got 2.5'],
    [
      '{"process":0,"type":"invoke","f":"read","time":10}\n{"process":0,"type":"ok","f":"read","time":4}\n',
      'h.jsonl:2: process 0 completes read at time 4, before its invoke (index 0) at time 10',
    ],
    ['{"process":0,"type":"invoke","f":"read","index":-3}\n', 'h.jsonl:1: "index" must be a whole number from 0 to 2^53 - 1, got -3'],
    [
      '{"process":0,"type":"invoke","f":"read"}\n{"process":0,"type":"ok","f":"read","lsn":1.5}\n',
      'h.jsonl:2: "lsn" must be a whole number from 0 to 2^53 - 1, got 1.5',
    ],
  ])('refuses what no recorder writes: %#', async (text, message) => {
    await withFile(text, async (file) => {
      await expect(loadHistory(file)).rejects.toThrow(`${file.replace(/h\.jsonl$/, '')}${message}`);
    });
  });

  it('accepts a value nested exactly 64 levels, and a completion at the time of its invoke', async () => {
    await withFile(
      `{"process":0,"type":"invoke","f":"write","time":7,"value":${deep(64)}}\n{"process":0,"type":"ok","f":"write","time":7,"value":1}\n`,
      async (file) => {
        expect((await loadHistory(file)).map((o) => o.time)).toEqual([7, 7]);
      },
    );
  });

  it('a nemesis info needs no invoke', () => {
    expect(validateHistory([{ process: 'nemesis', type: 'info', f: 'start-partition', value: { isolate: ['n1'] } }])).toHaveLength(1);
  });

  it('the recorder writes what the reader reads back, with monotonic times', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-rec-'));
    const file = path.join(dir, 'h.jsonl');
    const rec = new HistoryRecorder(file);
    const inv = rec.invoke(0, 'write', { key: 'k', value: 'v' });
    rec.complete(inv, 'ok', { node: 'n1', lsn: 3, epoch: 1 });
    rec.record({ process: 'nemesis', type: 'info', f: 'start-kill', value: 'n1' });
    await rec.close();
    const ops = await loadHistory(file);
    expect(ops.map((o) => [o.index, o.type, o.f])).toEqual([
      [0, 'invoke', 'write'],
      [1, 'ok', 'write'],
      [2, 'info', 'start-kill'],
    ]);
    expect(ops[1]).toMatchObject({ key: 'k', value: 'v', node: 'n1', lsn: 3, epoch: 1 });
    expect(ops[1]!.time).toBeGreaterThanOrEqual(ops[0]!.time);
    await fsp.rm(dir, { recursive: true, force: true });
  });
});

describe('history import', () => {
  it('Jepsen history.edn', () => {
    const ops = importJepsenEdn(
      '{:type :invoke, :f :cas, :value [1 2], :process 0, :time 10, :index 0}\n{:type :fail, :f :cas, :value [1 2], :process 0, :time 20, :index 1}\n{:type :info, :f :start, :value nil, :process :nemesis, :time 30}\n',
    );
    expect(ops).toEqual([
      { index: 0, type: 'invoke', f: 'cas', value: [1, 2], process: 0, time: 10 },
      { index: 1, type: 'fail', f: 'cas', value: [1, 2], process: 0, time: 20 },
      { index: 2, type: 'info', f: 'start', value: null, process: 'nemesis', time: 30 },
    ]);
  });

  it('Jepsen independent keys ([k v] tuples) become one register per key: a valid multi-key history is valid', () => {
    // Two registers interleaved. As one register it is not linearizable (the read of key 2
    // returns 20 after key 1 was set to 10); split by key it is.
    const edn = [
      '{:type :invoke, :f :write, :value [1 10], :process 0, :time 1}',
      '{:type :invoke, :f :write, :value [2 20], :process 1, :time 2}',
      '{:type :ok, :f :write, :value [1 10], :process 0, :time 3}',
      '{:type :ok, :f :write, :value [2 20], :process 1, :time 4}',
      '{:type :invoke, :f :read, :value [1 nil], :process 0, :time 5}',
      '{:type :ok, :f :read, :value [1 10], :process 0, :time 6}',
      '{:type :invoke, :f :cas, :value [2 [20 21]], :process 1, :time 7}',
      '{:type :ok, :f :cas, :value [2 [20 21]], :process 1, :time 8}',
      '{:type :invoke, :f :read, :value [2 nil], :process 2, :time 9}',
      '{:type :info, :f :read, :value nil, :process 2, :time 10}',
      '{:type :info, :f :start, :value nil, :process :nemesis, :time 11}',
    ].join('\n');
    const ops = importJepsenEdn(edn);
    expect(ops.map((o) => [o.key, o.value])).toEqual([
      ['1', 10],
      ['2', 20],
      ['1', 10],
      ['2', 20],
      ['1', null],
      ['1', 10],
      ['2', [20, 21]],
      ['2', [20, 21]],
      ['2', null],
      ['2', null],
      [undefined, null],
    ]);
    expect(checkHistory(ops, { model: 'register' }).linearizable).toMatchObject({ valid: true, keys: 2 });
    const asOne = ops.map((o) => ({ ...o, key: o.key === undefined ? undefined : 'x' }));
    expect(checkHistory(asOne, { model: 'register' }).linearizable).toMatchObject({ valid: false });
  });

  it('Jepsen text log lines', () => {
    const ops = importJepsenLog(
      '2017-01-01 INFO  jepsen.util - 3\t:invoke\t:write\t1\nsome other line\nINFO jepsen.util - 3 :info :write 1 :timed-out\nINFO  jepsen.util - :nemesis\t:info\t:start\tnil\n',
    );
    expect(ops.map((o) => [o.process, o.type, o.f, o.value, o.error])).toEqual([
      [3, 'invoke', 'write', 1, undefined],
      [3, 'info', 'write', 1, 'timed-out'],
      ['nemesis', 'info', 'start', null, undefined],
    ]);
  });

  it('EDN and text logs get the same bounds, naming the line of the file (comments and other lines counted)', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(() => importJepsenEdn(`; a comment\n\n{:type :invoke, :f :write, :value ${deep(100_000)}, :process 0, :time 1}\n`, 'x.edn')).toThrow(
      /^x\.edn:3: "value" is nested deeper than 64 levels of arrays and objects$/,
    );
    expect(() =>
      importJepsenEdn('{:type :invoke, :f :read, :value nil, :process 0, :time 1e308}\n{:type :ok, :f :read, :value nil, :process 0, :time -1e308}\n', 'x.edn'),
    ).toThrow(/^x\.edn:1: "time" must be a whole number of nanoseconds from 0 to 2\^53 - 1, got 1e\+308$/);
    expect(() =>
      importJepsenEdn('{:type :invoke, :f :read, :value nil, :process 0, :time 20}\n\n{:type :ok, :f :read, :value nil, :process 0, :time 10}\n', 'x.edn'),
    ).toThrow(/^x\.edn:3: process 0 completes read at time 10, before its invoke \(index 0\) at time 20$/);
    // EDN's bigints (`12N`): exact ones become numbers, larger ones are refused (one in a value
    // crashed the check into "unknown": JSON cannot write a bigint).
    expect(importJepsenEdn('{:type :invoke, :f :write, :value [12N {:a 3N}], :process 0, :time 12N}\n', 'x.edn')[0]).toMatchObject({
      time: 12,
      value: [12, { a: 3 }],
    });
    expect(() => importJepsenEdn('{:type :invoke, :f :write, :value [1 99999999999999999999N], :process 0, :time 1}\n', 'x.edn')).toThrow(
      /^x\.edn:1: "value" holds the integer 99999999999999999999N, beyond what a number holds exactly \(2\^53 - 1\)$/,
    );
    expect(() => importJepsenLog(`noise\nINFO jepsen.util - 3 :invoke :write ${deep(200)}\n`, 'j.log')).toThrow(
      /^j\.log:2: "value" is nested deeper than 64 levels of arrays and objects$/,
    );
  });

  it("Knossos's data files: the whole history as one vector or list of op maps, with or without times", () => {
    // In Knossos's shape: no :time, no :index, one map per line inside the brackets. Process 1
    // reads 2 after the write of 2 returned and process 2's cas [2 3] succeeded before it: not
    // linearizable. With the cas failed instead, it is.
    const ops = (casType: string) => [
      '{:process 0, :type :invoke, :f :write, :value 2}',
      '{:process 0, :type :ok, :f :write, :value 2}',
      '{:process 2, :type :invoke, :f :cas, :value [2 3]}',
      `{:process 2, :type :${casType}, :f :cas, :value [2 3]}`,
      '{:process 1, :type :invoke, :f :read, :value nil}',
      '{:process 1, :type :ok, :f :read, :value 2}',
    ];
    const vector = (casType: string) => `[${ops(casType).join('\n ')}]\n`;
    const list = (casType: string) => `; a comment first\n(${ops(casType).join('\n ')})\n`;
    for (const wrap of [vector, list]) {
      const bad = importJepsenEdn(wrap('ok'), 'k.edn');
      expect(bad.map((o) => [o.index, o.process, o.type, o.f, o.value])).toEqual([
        [0, 0, 'invoke', 'write', 2],
        [1, 0, 'ok', 'write', 2],
        [2, 2, 'invoke', 'cas', [2, 3]],
        [3, 2, 'ok', 'cas', [2, 3]],
        [4, 1, 'invoke', 'read', null],
        [5, 1, 'ok', 'read', 2],
      ]);
      expect(checkHistory(bad, { model: 'register' }).linearizable).toMatchObject({ valid: false });
      expect(checkHistory(importJepsenEdn(wrap('fail'), 'k.edn'), { model: 'register' }).linearizable).toMatchObject({ valid: true });
    }
    // An op map spread over several lines, strings holding brackets: one op each.
    const spread = importJepsenEdn('[{:process 0, :type :invoke,\n  :f :write, :value "{[("}\n {:process 0, :type :ok, :f :write, :value "{[("}]', 'k.edn');
    expect(spread.map((o) => o.value)).toEqual(['{[(', '{[(']);
  });

  it('a bad op inside a vector is named by its line; a vector of something else is refused in one line', () => {
    expect(() =>
      importJepsenEdn(
        '[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value "[{"}\n {:process 0, :type :ok, :f :read, :value 1}]',
        'k.edn',
      ),
    ).toThrow(/^k\.edn:3: "ok" for process 0 without a pending invoke$/);
    expect(() => importJepsenEdn('[{:process 0, :type :invoke, :f :read, :value nil} 3]', 'k.edn')).toThrow(
      /^k\.edn: element 2 of the history is not an op map: 3$/,
    );
    expect(() => importJepsenEdn('[{:process 0, :type :invoke', 'k.edn')).toThrow(/^k\.edn: not one complete vector or list of op maps/);
  });

  it('bad EDN is one line', () => {
    expect(() => importJepsenEdn('{:type :invoke', 'x.edn')).toThrow('x.edn:1: expected an op map, got {:type :invoke');
  });
});
