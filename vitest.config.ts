import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no shared services (pure logic, or servers a test starts in-process, such as the
// sandbox API); `stack` gets ONE Temporal dev server and ONE Postgres per run from the global set-up.
export default defineConfig({
  test: {
    pool: 'forks',
    // The default is one worker per core minus one: ONE on a 2-core machine, which runs every file in a row. The
    // stack tests mostly wait (on Temporal's timers and task round trips, on Postgres, on child processes: a run of
    // them uses about a third of the CPU time it takes), so three workers on two cores finish far sooner.
    maxWorkers: '150%',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // One process per worker for all its files, not one per file: importing the SDK and our modules again
          // for each of 75 files costs more than all their tests (62 s → 36 s). Their state is their own: no file
          // changes a module's state for another one.
          isolate: false,
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
