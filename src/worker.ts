/**
 * The worker: polls the `ingest` task queue and runs our workflows and activities. `createIngestWorker` builds one
 * from explicit dependencies (tests, `npm start`, the CLI); `runUntilSignal` runs it and shuts it down gracefully on
 * SIGINT/SIGTERM (in-flight activities get `shutdownGraceTime` to finish or heartbeat their progress).
 */
import { createRequire } from 'node:module';
import {
  type NativeConnection,
  Worker,
  bundleWorkflowCode,
  type WorkflowBundle,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { createActivities } from './activities/index.ts';
import type { Database } from './db/schema.ts';
import { taskQueue as defaultTaskQueue } from './shared/names.ts';

const require = createRequire(import.meta.url);

/** The entry module of all workflow code, as the bundler needs it. */
export const workflowsPath: string = require.resolve('./workflows/index.ts');

/** Bundles the workflow code once (webpack; a few seconds). Reuse the result for every worker in the process. */
export async function bundleWorkflows(): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  return { code };
}

export interface IngestWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly db: Kysely<Database>;
  /** A prebuilt bundle (`{ code }` or `{ codePath }`); bundled on the fly when omitted. */
  readonly workflowBundle?: WorkflowBundleOption;
  /** Defaults to `ingest`; tests use their own queue per file. */
  readonly taskQueue?: string;
  /** Concurrent activities (resources loading at once). */
  readonly maxConcurrentActivities?: number;
}

/** Creates (but does not run) a worker with our workflows and activities. */
export async function createIngestWorker(options: IngestWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? defaultTaskQueue,
    workflowBundle: options.workflowBundle ?? (await bundleWorkflows()),
    activities: createActivities({ db: options.db }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 8,
    shutdownGraceTime: '10 seconds',
  });
}

/**
 * Runs the worker until SIGINT/SIGTERM (or `stop` resolves), then shuts it down gracefully and resolves.
 * A second signal while shutting down is ignored: the grace time bounds the wait.
 */
export async function runUntilSignal(worker: Worker, stop?: Promise<unknown>): Promise<void> {
  const shutdown = () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  void stop?.then(shutdown);
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', shutdown);
    process.off('SIGTERM', shutdown);
  }
}

const quietBundlerLogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
  log: () => {},
};
