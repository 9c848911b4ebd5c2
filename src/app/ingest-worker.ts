/**
 * The worker: polls the `ingest` task queue and runs our workflows and activities. `createIngestWorker` builds one
 * from explicit dependencies (the entry points through `runtime.ts`, tests); `runUntilSignal` runs it and shuts it
 * down gracefully on SIGINT/SIGTERM (in-flight activities get `shutdownGraceTime` to finish or heartbeat).
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
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import type { RunStatusLookup } from '../activities/load-lifecycle.ts';
import type { Database } from '../db/schema.ts';
import { taskQueue as defaultTaskQueue } from '../shared/names.ts';
import type { IngestMetrics } from '../telemetry/ingest-metrics.ts';
import {
  droppedWorkflowSpans,
  tracingWorkflowModules,
  type WorkerTracing,
} from '../telemetry/worker-tracing.ts';
import { assertBundleMatchesEncryption } from './codec/bundle-check.ts';

const require = createRequire(import.meta.url);

/** The entry module of all workflow code, as the bundler needs it. */
export const workflowsPath: string = require.resolve('../workflows/index.ts');

/**
 * Bundles the workflow code once (webpack; a few seconds). Reuse the result for every worker in the process. The
 * workflow code converts its own failures: give the worker's `dataConverter` so that its failure converter (the one
 * that encrypts failure messages, with codec keys) is bundled too. `tracing` bundles the SDK's workflow tracing
 * interceptors (`WorkerTracing`): workflow spans for a worker that traces, dropped by one that does not.
 */
export async function bundleWorkflows(
  dataConverter?: DataConverter,
  options: { readonly tracing?: boolean } = {},
): Promise<WorkflowBundle> {
  const failureConverterPath = dataConverter?.failureConverterPath;
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    logger: quietBundlerLogger,
    ...(options.tracing === true ? { workflowInterceptorModules: [...tracingWorkflowModules] } : {}),
    ...(failureConverterPath === undefined ? {} : { failureConverterPath }),
  });
  return { code };
}

export interface IngestWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly db: Kysely<Database>;
  /**
   * A prebuilt bundle (`{ code }` or `{ codePath }`); bundled on the fly when omitted. A prebuilt bundle has the
   * failure converter it was built with (`bundleWorkflows(dataConverter)`): with an encrypting `dataConverter`, one
   * built without it is refused (`WORKFLOW_BUNDLE_UNENCRYPTED`).
   */
  readonly workflowBundle?: WorkflowBundleOption;
  /** Payload codecs and failure converter (`codecDataConverter`): the client's, or histories will not decode. */
  readonly dataConverter?: DataConverter;
  /** Defaults to `ingest`; tests use their own queue per file. */
  readonly taskQueue?: string;
  /** Concurrent activities (resources loading at once). */
  readonly maxConcurrentActivities?: number;
  /** A client of the same namespace: the source lease asks it whether another run is still going. */
  readonly client: Client;
  /** Where sources read config values, base URLs and credentials from, at run time (`Settings.sourceEnv`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The sources folder each run's plan is read from (default: the repository's `sources/`). */
  readonly sourcesDir?: string;
  /** Base URLs per source that win over the environment (the sandbox in `npm start`, tests). */
  readonly baseUrls?: Readonly<Record<string, string>>;
  /** True when the sources point at the sandbox API (recorded on each load). */
  readonly sandbox?: boolean;
  /** When only some sources point at the sandbox: their names (then `sandbox` is ignored). */
  readonly sandboxSources?: readonly string[];
  /** Where activities and their HTTP client record metrics (`Telemetry.metrics`); nowhere when omitted. */
  readonly metrics?: IngestMetrics;
  /**
   * Traces (`Telemetry.tracing`): activity interceptors and the workflow span sink, and a bundle made on the fly
   * gets the workflow interceptors (a prebuilt one has them when built by `npm run bundle`).
   */
  readonly tracing?: WorkerTracing;
  /** Other activity settings (retry budget, heartbeat period, merge memory). */
  readonly activities?: Pick<
    ActivityDeps,
    | 'retryBudget'
    | 'heartbeatIntervalMs'
    | 'http'
    | 'mergeMemoryMb'
    | 'firstLoadSwap'
    | 'maxDeleteShare'
    | 'ledgerRetentionDays'
  >;
}

/** Creates (but does not run) a worker with our workflows and activities. */
export async function createIngestWorker(options: IngestWorkerOptions): Promise<Worker> {
  // A prebuilt bundle without the encrypting failure converter would store run failure messages in clear: refused.
  if (options.workflowBundle !== undefined) {
    await assertBundleMatchesEncryption(options.workflowBundle, options.dataConverter);
  }
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? defaultTaskQueue,
    workflowBundle:
      options.workflowBundle ??
      (await bundleWorkflows(options.dataConverter, { tracing: options.tracing !== undefined })),
    ...(options.dataConverter === undefined ? {} : { dataConverter: options.dataConverter }),
    activities: createActivities({
      db: options.db,
      runStatus: runStatusFrom(options.client),
      env: options.env,
      ...(options.sourcesDir === undefined ? {} : { sourcesDir: options.sourcesDir }),
      ...(options.baseUrls === undefined ? {} : { baseUrls: options.baseUrls }),
      ...(options.sandbox === undefined ? {} : { sandbox: options.sandbox }),
      ...(options.sandboxSources === undefined ? {} : { sandboxSources: options.sandboxSources }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      ...options.activities,
    }),
    ...(options.tracing === undefined ? {} : { interceptors: options.tracing.interceptors }),
    sinks: options.tracing?.sinks ?? droppedWorkflowSpans,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 8,
    // Workflows here are few and small (a run per source, a child per dependent resource) and all of them share one
    // context on one workflow thread (the SDK's defaults, `reuseV8Context`: a second thread would hold a second isolate).
    // The SDK sizes the cache to the heap limit instead — hundreds of workflows under the production start's
    // `--max-old-space-size` (docs/operations.md, "Memory"). 100 keeps every run's workflows of a busy worker cached
    // (a workflow evicted is only replayed from its history when its next task comes) and bounds what they hold.
    maxCachedWorkflows: 100,
    shutdownGraceTime: '10 seconds',
    // Heartbeats are how a cancellation reaches a running activity (and its HTTP request): by default they are
    // throttled to 80 % of the heartbeat timeout (48 s here), so a cancel would wait that long. Two seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}

/** Whether a workflow run is still running, from the server; a run the server no longer knows is closed. */
export function runStatusFrom(client: Client): RunStatusLookup {
  return async (workflowId, runId) => {
    try {
      const description = await client.workflow.getHandle(workflowId, runId).describe();
      return description.status.name === 'RUNNING' ? 'running' : 'closed';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return 'closed';
      throw error;
    }
  };
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
