// A system module for a system replab does not ship: Redis without Sentinel, one primary and its
// replicas, failing over by itself. Written only against docs/systems.md and `replab/system`,
// the way a team would put its own service under replab:
//
//   name: redis-primary
//   system: ./redis-primary.mjs
//   nodes: [{id: n1}, {id: n2}, {id: n3}]
//   failover: {heartbeatMs: 200, failoverTimeoutMs: 1500, leaseMs: 700}
//   settings: {waitTimeoutMs: 1000}
//
// What it shows: starting processes behind the fault proxy, a small RESP client, outcomes
// (ok / fail / info), a failover loop of its own that reports through `options.events`, and
// what the module cannot measure (`capabilities`). Modes: async = SET alone; semi-sync k =
// SET + WAIT k (ok only when k replicas have the write, else info); sync = WAIT for all.
import { spawn } from 'node:child_process';
import { closeSync, promises as fsp, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { faultProxy, isRunning, killProcess, pauseProcess, resumeProcess, stopProcess } from 'replab/system';

// Redis acknowledgements carry no term; lag comes as replication-offset bytes and whole seconds.
export const capabilities = { splitBrainWrites: false, lagUnit: 'bytes', lagMsStep: 1000 };

export const settingsSchema = {
  redisServer: { type: 'string', default: 'redis-server', description: 'the redis-server binary' },
  waitTimeoutMs: { type: 'integer', min: 1, max: 60000, default: 1000, description: 'how long WAIT waits for replicas' },
  appendfsync: { type: 'string', enum: ['always', 'everysec', 'no'], default: 'always' },
};

/** How many replicas a write waits for in this mode (0: none). */
function waitFor(spec) {
  const { mode, k } = spec.replication;
  if (mode === 'async') return 0;
  return mode === 'sync' ? spec.nodes.length - 1 : k;
}

export function describeMode(spec) {
  const n = waitFor(spec);
  const wait = n === 0 ? 'SET alone' : `SET + WAIT ${n} (${spec.settings.waitTimeoutMs} ms; info when fewer answer)`;
  return `Redis, no Sentinel: ${wait}; appendfsync ${spec.settings.appendfsync}; the module fails over`;
}

// ---- RESP: one connection per call, commands pipelined, one reply each -------------------

function encode(commands) {
  return commands.map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`).join('');
}

/** One reply from `buf` at `at`: [value, next index], or undefined while incomplete. Errors are {error}. */
function parse(buf, at) {
  const end = buf.indexOf('\r\n', at);
  if (end < 0) return undefined;
  const line = buf.toString('utf8', at + 1, end);
  const next = end + 2;
  switch (buf[at]) {
    case 0x2b: // +
      return [line, next];
    case 0x2d: // -
      return [{ error: line }, next];
    case 0x3a: // :
      return [Number(line), next];
    case 0x24: {
      // $
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return undefined;
      return [buf.toString('utf8', next, next + len), next + len + 2];
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return [null, next];
      const out = [];
      let i = next;
      for (let j = 0; j < n; j++) {
        const r = parse(buf, i);
        if (!r) return undefined;
        out.push(r[0]);
        i = r[1];
      }
      return [out, i];
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(line.slice(0, 40))}`);
  }
}

/**
 * Sends `commands` to `address` and resolves to their replies, or to {failure, sent}: `sent`
 * false when nothing reached the server (connection refused), so the caller can tell a definite
 * failure from one that may have taken effect.
 */
function call(address, commands, timeoutMs) {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host);
    let sent = false;
    let buf = Buffer.alloc(0);
    const replies = [];
    const done = (r) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ failure: `no answer within ${timeoutMs} ms`, sent }), timeoutMs);
    socket.on('connect', () => {
      sent = true;
      socket.write(encode(commands));
    });
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let at = 0;
      try {
        for (let r = parse(buf, at); r; r = parse(buf, at)) {
          replies.push(r[0]);
          at = r[1];
          if (replies.length === commands.length) return done({ replies });
        }
      } catch (e) {
        return done({ failure: e.message, sent });
      }
      buf = buf.subarray(at);
    });
    socket.on('error', (e) => done({ failure: e.code ?? e.message, sent }));
    socket.on('close', () => done({ failure: 'connection closed', sent }));
  });
}

/** INFO replication as an object of its `key:value` lines. */
function infoFields(text) {
  return Object.fromEntries(
    String(text)
      .split('\r\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

// ---- the system ---------------------------------------------------------------------------

export async function up(spec, options) {
  const settings = spec.settings;
  const stateDir = path.join(options.stateRoot, spec.name);
  await fsp.rm(stateDir, { recursive: true, force: true });
  await fsp.mkdir(path.join(stateDir, 'logs'), { recursive: true });
  const ids = spec.nodes.map((n) => n.id);
  // One link per node for clients and one for this module's failover loop, one per ordered pair
  // for replication: the nemeses can cut any of them alone.
  const links = await faultProxy({ dir: path.join(stateDir, 'proxy'), nodes: ids, kinds: ['client', 'monitor', 'repl'] });
  const pids = {};
  let primary = spec.leader;
  let epoch = 1;
  let stopped = false;

  const hostPort = (address) => address.split(':');
  const ask = (id, commands, timeoutMs = 1000) => call(links.monitor(id), commands, timeoutMs);

  async function start(id) {
    const dir = path.join(stateDir, 'nodes', id);
    await fsp.mkdir(dir, { recursive: true });
    const args = ['--port', String(links.ports[id]), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'no'];
    args.push('--appendonly', 'yes', '--appendfsync', settings.appendfsync, '--daemonize', 'no');
    // A node starts as a replica of the primary of the moment, through its own replication link.
    if (id !== primary) args.push('--replicaof', ...hostPort(links.repl(id, primary)));
    const log = openSync(path.join(stateDir, 'logs', `${id}.log`), 'a');
    const child = spawn(settings.redisServer, args, { stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    child.on('error', () => {});
    child.unref();
    pids[id] = child.pid;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const r = await ask(id, [['PING']], 500);
      if (r.replies?.[0] === 'PONG') return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`redis-server ${id} did not answer PING within 10 s (see ${stateDir}/logs/${id}.log)`);
  }

  /** Replication as the primary reports it: its offset and each replica's, by node id. */
  async function replication(id) {
    const r = await ask(id, [['INFO', 'replication']]);
    if (!r.replies || typeof r.replies[0] !== 'string') return undefined;
    const f = infoFields(r.replies[0]);
    const replicas = [];
    for (const [k, v] of Object.entries(f)) {
      if (!/^slave\d+$/.test(k)) continue;
      const kv = Object.fromEntries(v.split(',').map((p) => p.split('=')));
      const node = ids.find((n) => links.ports[n] === Number(kv.port));
      if (node) replicas.push({ node, state: kv.state, offset: Number(kv.offset), lagSec: Number(kv.lag) });
    }
    return { role: f.role, offset: Number(f.master_repl_offset ?? f.slave_repl_offset ?? 0), replicas };
  }

  // The failover loop: PING the primary through its monitor link; silent for failoverTimeoutMs,
  // it is declared dead and the replica with the most of its stream is promoted.
  const { heartbeatMs, failoverTimeoutMs } = spec.failover;
  let lastHeard = Date.now();
  async function tick() {
    const pong = await ask(primary, [['PING']], heartbeatMs);
    if (pong.replies?.[0] === 'PONG') lastHeard = Date.now();
    else if (Date.now() - lastHeard >= failoverTimeoutMs) await failOver();
    // Any other node that leads (a primary back from a crash or a cut) follows the primary again.
    for (const id of ids) {
      if (id === primary || stopped) continue;
      const rep = await replication(id);
      if (rep?.role === 'master') {
        const r = await ask(id, [['REPLICAOF', ...hostPort(links.repl(id, primary))]]);
        if (r.replies?.[0] === 'OK') options.events.emit({ event: 'repointed', node: id, upstream: primary });
      }
    }
  }
  async function failOver() {
    const old = primary;
    const silentMs = Date.now() - lastHeard;
    const began = Date.now();
    options.events.emit({ event: 'leader-declared-dead', leader: old, silentMs });
    const candidates = [];
    for (const id of ids.filter((n) => n !== old)) {
      const rep = await replication(id);
      if (rep) candidates.push({ id, offset: rep.offset });
    }
    candidates.sort((a, b) => b.offset - a.offset);
    const next = candidates[0];
    if (!next) {
      options.events.emit({ event: 'failover-blocked', why: 'no replica answered' });
      return;
    }
    const r = await ask(next.id, [['REPLICAOF', 'NO', 'ONE']]);
    if (r.replies?.[0] !== 'OK') {
      options.events.emit({ event: 'failover-blocked', why: `${next.id} did not take REPLICAOF NO ONE` });
      return;
    }
    primary = next.id;
    epoch += 1;
    lastHeard = Date.now();
    // Whether the old primary still answers its clients: if it does, this failover was needless
    // (a pause that ended, a cut of the monitor's link alone) and the report says so.
    const alive = await call(links.client(old), [['PING']], 300);
    options.events.emit({
      event: 'promoted',
      node: primary,
      from: old,
      epoch,
      detectionMs: silentMs,
      promotionMs: Date.now() - began,
      unreachableMs: silentMs,
      oldLeader: { answered: alive.replies?.[0] === 'PONG' },
    });
    for (const c of candidates.slice(1)) {
      const moved = await ask(c.id, [['REPLICAOF', ...hostPort(links.repl(c.id, primary))]]);
      if (moved.replies?.[0] === 'OK') options.events.emit({ event: 'repointed', node: c.id, upstream: primary });
    }
  }

  let loop;
  const run = async () => {
    while (!stopped) {
      await tick().catch(() => {});
      await new Promise((res) => {
        loop = setTimeout(res, heartbeatMs);
      });
    }
  };

  const system = {
    system: 'redis-primary',
    stateDir,
    nodeIds: () => [...ids],
    currentLeaderId: async () => primary,
    links: () => links.proxy.links(),
    toxiproxy: () => links.proxy.toxiproxy(),
    kill: (id) => killProcess(pids[id]),
    pause: (id) => pauseProcess(pids[id], `node ${id}`),
    resume: async (id) => resumeProcess(pids[id]),
    restart: async (id) => {
      if (await isRunning(pids[id])) await killProcess(pids[id]);
      await start(id);
    },
    simulatesPowerLoss: () => false,
    dataClient: async () => dataClient(),
    lag: async () => {
      const rep = await replication(primary);
      if (rep?.role !== 'master') return undefined;
      return ids
        .filter((id) => id !== primary)
        .map((id) => {
          const r = rep.replicas.find((x) => x.node === id);
          return {
            leader: primary,
            follower: id,
            lagRecords: r ? Math.max(0, rep.offset - r.offset) : -1,
            lagMs: r ? r.lagSec * 1000 : -1,
            connected: r?.state === 'online',
          };
        });
    },
    waitConverged: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const rep = await replication(primary);
        const online = rep?.replicas.filter((r) => r.state === 'online' && r.offset >= rep.offset) ?? [];
        if (rep?.role === 'master' && online.length === ids.length - 1) return 0;
        await new Promise((res) => setTimeout(res, 200));
      }
      throw new Error(`the replicas did not catch up with ${primary} within ${timeoutMs} ms`);
    },
    down: async ({ clean } = {}) => {
      stopped = true;
      clearTimeout(loop);
      // SIGTERM: Redis fsyncs its append-only file and exits.
      await Promise.all(ids.filter((id) => pids[id]).map((id) => stopProcess(pids[id], 10_000)));
      await links.proxy.stop();
      if (clean) await fsp.rm(stateDir, { recursive: true, force: true });
    },
    keepArtefacts: async (dir) => {
      await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
      for (const id of ids) await fsp.copyFile(path.join(stateDir, 'logs', `${id}.log`), path.join(dir, 'logs', `${id}.log`)).catch(() => {});
      return Object.fromEntries(ids.map((id) => [id, 'Redis keeps no log of writes replab can read: loss is judged from the final reads']));
    },
  };

  /** A workload's client: every operation on the primary of the moment, through its client link. */
  function dataClient() {
    const replicas = waitFor(spec);
    const waitMs = settings.waitTimeoutMs;
    // Outcomes as docs/systems.md's table has them: a refused connection or an error reply is a
    // definite fail; a timeout or a lost connection after sending may have taken effect (info).
    const outcome = (node, r, ok) => {
      if (r.failure) return { type: r.sent ? 'info' : 'fail', error: r.failure, node, leader: primary };
      const err = r.replies.find((x) => x && typeof x === 'object' && 'error' in x);
      if (err) return { type: /^(READONLY|LOADING|MASTERDOWN)/.test(err.error) ? 'fail' : 'info', error: err.error, node, leader: primary };
      return ok(r.replies);
    };
    const withWait = (commands) => (replicas > 0 ? [...commands, ['WAIT', String(replicas), String(waitMs)]] : commands);
    const acked = (replies) => replicas === 0 || replies[replies.length - 1] >= replicas;
    const write = async (commands, timeoutMs, judge) => {
      const node = primary;
      const r = await call(links.client(node), withWait(commands), timeoutMs);
      return outcome(node, r, (replies) => {
        const verdict = judge(replies[0]);
        if (verdict) return verdict;
        return acked(replies)
          ? { type: 'ok', value: null, node }
          : { type: 'info', error: `WAIT: ${replies[replies.length - 1]} of ${replicas} replicas within ${waitMs} ms`, node };
      });
    };
    const CAS =
      "local v = redis.call('GET', KEYS[1]) if (ARGV[3] == '1' and v == false) or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0";
    return {
      read: async ({ key, timeoutMs }) => {
        // No follower reads: every policy is served by the primary.
        const node = primary;
        const r = await call(links.client(node), [['GET', key]], timeoutMs);
        return outcome(node, r, (replies) => ({ type: 'ok', value: replies[0], node }));
      },
      write: (key, value, timeoutMs) => write([['SET', key, value]], timeoutMs, () => undefined),
      add: (key, timeoutMs) => write([['SET', key, '1']], timeoutMs, () => undefined),
      cas: (key, expected, value, timeoutMs) =>
        write([['EVAL', CAS, '1', key, expected ?? '', value, expected === null ? '1' : '0']], timeoutMs, (matched) =>
          matched === 1 ? undefined : { type: 'fail', error: 'cas mismatch', node: primary },
        ),
      scan: async (nodeId, prefix, timeoutMs) => {
        const keys = await call(links.client(nodeId), [['KEYS', `${prefix}*`]], timeoutMs);
        if (keys.failure || !Array.isArray(keys.replies[0]))
          return outcome(nodeId, keys, () => ({ type: 'info', error: 'KEYS answered no list', node: nodeId }));
        const names = keys.replies[0];
        if (names.length === 0) return { type: 'ok', value: [], node: nodeId };
        const values = await call(links.client(nodeId), [['MGET', ...names]], timeoutMs);
        return outcome(nodeId, values, (replies) => ({ type: 'ok', value: names.map((k, i) => ({ key: k, value: replies[0][i] })), node: nodeId }));
      },
      nodeIds: () => [...ids],
      // The module's own failover loop knows the primary; a hint changes nothing here.
      noteLeaderHint: () => {},
      refresh: async () => {},
      close: () => {},
    };
  }

  try {
    for (const id of [primary, ...ids.filter((n) => n !== primary)]) await start(id);
    await system.waitConverged(options.readyTimeoutMs ?? 30_000);
  } catch (e) {
    await system.down({ clean: true }).catch(() => {});
    throw e;
  }
  run();
  return system;
}
