import { defineConfig } from 'vitest/config';

// `npm run test:docker`: the docker backend against a real Docker engine. Its global setup starts
// a private dockerd when none answers (and stops it afterwards) and builds the image offline.
const json = process.env.VITEST_JSON;

export default defineConfig({
  test: {
    name: 'docker',
    globalSetup: ['test/helpers/global-setup.ts', 'test/docker/docker-setup.ts'],
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
    include: ['test/docker/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
