import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs in-process and on loopback only; `integration` spawns
// real node processes. `npm test` runs both. Integration files run one at a time: each starts a
// cluster of fsyncing processes, and on a 2-core machine parallel clusters only add noise.
// VITEST_JSON=<file> adds a JSON report, from which .ci/run prints its "N passed, N failed" line.
const json = process.env.VITEST_JSON;

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/integration/**', 'test/docker/**'], testTimeout: 20_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 90_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
