/**
 * A mode's settings in words (src/systems/describe.ts): each built-in system words its own modes,
 * and the report's settings column shows what the run recorded (its system's words, or a user
 * module's describeMode), not the suite's own description of the mode.
 */
import { describe, expect, it } from 'vitest';
import { settingsText } from '../../src/report/html.js';
import { describeBuiltinMode } from '../../src/systems/describe.js';

describe('mode words', () => {
  it("the report's settings column shows the recorded words, never the mode's description", () => {
    const mode = {
      system: './mine.mjs',
      description: 'SET alone (async): must lose',
      settingsText: 'SET + WAIT 1 (1000 ms)',
      replication: { mode: 'semi-sync', k: 1 },
      fencing: 'lease',
    };
    expect(settingsText(mode)).toBe('SET + WAIT 1 (1000 ms)');
    // A results.json from before the words were recorded: the system's words for its replication block.
    const { settingsText: _, ...old } = mode;
    expect(settingsText(old)).toMatch(/^semi-sync, 1 follower asked for \(as the spec asks; how mine\.mjs does it is the module's own\)$/);
  });

  it("each built-in system words its modes in its own terms, and only replab's mention fencing by lease", () => {
    const semi = { mode: 'semi-sync', k: 1, ackLevel: 'flush', onSyncTimeout: 'block', waitPoint: 'after-sync' };
    expect(describeBuiltinMode({ system: 'replab', replication: semi, fencing: 'lease' })).toMatch(/^semi-sync: waits for 1 follower, .*; fencing by lease$/);
    expect(describeBuiltinMode({ system: 'postgres', replication: semi, fencing: 'lease' })).toBe(
      'PostgreSQL + Patroni: synchronous_mode, 1 sync standby, synchronous_commit on',
    );
    expect(describeBuiltinMode({ system: 'mariadb', replication: semi, fencing: 'lease' })).toMatch(
      /^MariaDB: semi-sync AFTER_SYNC, one replica's ack; blocks/,
    );
    expect(describeBuiltinMode({ system: 'redis', replication: semi, fencing: 'lease' })).toBe(
      'Redis + Sentinel: SET + WAIT 1 (info when fewer answer); min-replicas-to-write 1',
    );
  });
});
