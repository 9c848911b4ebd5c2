import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no shared services (pure logic, or servers a test starts in-process, such as the
// sandbox API); `stack` gets ONE Temporal dev server and ONE Postgres per run from the global set-up.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/sandbox/**/*.test.ts', 'test/replay/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'stack',
          // Real servers, real workers, real timers: generous on 2 busy cores.
          testTimeout: 120_000,
          include: ['test/integration/**/*.test.ts', 'test/workflow/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/setup/global-setup.ts'],
        },
      },
    ],
  },
});
