/**
 * The activity factory: `createActivities(deps)` wires config, HTTP and database code into the functions the worker
 * registers. Activities are thin; the logic lives in `src/config`, `src/http` and `src/db`. Every activity fails
 * through the one boundary, `toApplicationFailure`, so failure types and retry decisions are decided in one place.
 */
import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { createHttpClient, type HttpClient } from '../http/client.ts';
import type {
  BeginLoadInput,
  DatabaseProbe,
  BeginLoadResult,
  FinishLoadInput,
  HealthActivities,
  IngestActivities,
  BeginChildrenResult,
  ChildRunInput,
  FetchChildBatchInput,
  FetchChildBatchResult,
  FinishChildrenInput,
  FinishChildrenResult,
  ListChildItemsInput,
  MergeChildrenInput,
  IngestResourceInput,
  IngestSourceInput,
  PlanSourceResult,
  ResolveActivities,
  ResourceCounts,
} from '../shared/ingest-types.ts';
import { probeDatabase } from './diagnostics.ts';
import { toApplicationFailure } from './failure.ts';
import { beginLoad, finishLoad, type RunStatusLookup } from './load-lifecycle.ts';
import { ingestResource } from './ingest-resource.ts';
import { planSource } from './plan-source.ts';
import {
  beginChildren,
  fetchChildBatch,
  finishChildren,
  listChildItems,
  mergeChildren,
} from './resolve-children.ts';
import type { RetryBudget } from './retry.ts';
import type { IngestMetrics } from '../telemetry/ingest-metrics.ts';

export interface ActivityDeps {
  readonly db: Kysely<Database>;
  /** Where sources read config values, base URLs and credentials from, at run time (the app passes its environment). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base URLs that win over the environment, per source (the sandbox in `npm start`). */
  readonly baseUrls?: Readonly<Record<string, string>>;
  /** The sources folder `planSource` reads (rescanned every run); default: the repository's `sources/`. */
  readonly sourcesDir?: string;
  /** Whether a workflow run is still running (the source's lease); from a Temporal client. */
  readonly runStatus?: RunStatusLookup;
  /** True when the sources point at the sandbox API (recorded on each load). */
  readonly sandbox?: boolean;
  /** When only some sources point at the sandbox (`npm start`): their names; `sandbox` is then ignored. */
  readonly sandboxSources?: readonly string[];
  /** The HTTP client the resources share (connection reuse); one is created when omitted. */
  readonly http?: HttpClient;
  readonly retryBudget?: RetryBudget;
  /** Heartbeat period of `ingestResource` (tests shorten it). */
  readonly heartbeatIntervalMs?: number;
  /** The most memory one sort of a merge may use, in MB (default `defaultMergeMemoryMb`, 1 GB). */
  readonly mergeMemoryMb?: number;
  /** Whether a big first load may swap in the table staging built (`StagingOptions.firstLoadSwap`; default true). */
  readonly firstLoadSwap?: boolean;
  /** The guard against destructive loads (`IngestResourceDeps.maxDeleteShare`; default half a table). */
  readonly maxDeleteShare?: number;
  /**
   * Days finished loads stay in the ledger (`LoadLifecycleDeps.ledgerRetentionDays`; default
   * `defaultLedgerRetentionDays`, 180): the worker's `INGEST_LEDGER_RETENTION_DAYS`.
   */
  readonly ledgerRetentionDays?: number;
  /** Where loads and HTTP responses are recorded (the worker's metrics); nowhere when omitted. */
  readonly metrics?: IngestMetrics;
}

/** Builds the activities with their dependencies bound. Workflows import only the *type* of this object. */
export function createActivities(deps: ActivityDeps) {
  const env = deps.env;
  const runStatus: RunStatusLookup =
    deps.runStatus ??
    (() => Promise.reject(new Error('createActivities: no runStatus lookup (a Temporal client) was given')));
  const lifecycle = (source: string) => ({
    db: deps.db,
    runStatus,
    sandbox: deps.sandboxSources?.includes(source) ?? deps.sandbox ?? false,
    ...(deps.ledgerRetentionDays === undefined ? {} : { ledgerRetentionDays: deps.ledgerRetentionDays }),
  });
  const http =
    deps.http ?? createHttpClient(deps.metrics === undefined ? {} : { observer: deps.metrics.http });
  const resourceDeps = {
    db: deps.db,
    client: http,
    env,
    ...(deps.sourcesDir === undefined ? {} : { sourcesDir: deps.sourcesDir }),
    ...(deps.retryBudget === undefined ? {} : { retryBudget: deps.retryBudget }),
    ...(deps.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: deps.heartbeatIntervalMs }),
    ...(deps.mergeMemoryMb === undefined ? {} : { mergeMemoryMb: deps.mergeMemoryMb }),
    ...(deps.firstLoadSwap === undefined ? {} : { firstLoadSwap: deps.firstLoadSwap }),
    ...(deps.maxDeleteShare === undefined ? {} : { maxDeleteShare: deps.maxDeleteShare }),
    ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }),
  };
  return {
    /** Reports the Postgres server version and database the worker writes to. */
    async probeDatabase(): Promise<DatabaseProbe> {
      return probeDatabase(deps.db);
    },
    /** Resolves a source into a plan with its hash. */
    async planSource(input: IngestSourceInput): Promise<PlanSourceResult> {
      return withBoundary(() =>
        planSource(input, {
          env,
          ...(deps.baseUrls === undefined ? {} : { baseUrls: deps.baseUrls }),
          ...(deps.sourcesDir === undefined ? {} : { sourcesDir: deps.sourcesDir }),
        }),
      );
    },
    /** Takes the source's lease and opens the load. */
    async beginLoad(input: BeginLoadInput): Promise<BeginLoadResult> {
      return withBoundary(() => beginLoad(input, lifecycle(input.source)));
    },
    /** Fetches, stages and merges one resource; returns its counts. Decides its own retries. */
    async ingestResource(input: IngestResourceInput): Promise<ResourceCounts> {
      return ingestResource(input, resourceDeps, Context.current());
    },
    /** Opens the run of a dependent resource and builds its work list (`resolveChildren`). */
    async beginChildren(input: ChildRunInput): Promise<BeginChildrenResult> {
      return withBoundary(() => beginChildren(input, resourceDeps));
    },
    /** The next pending items of a dependent resource's work list. */
    async listChildItems(input: ListChildItemsInput): Promise<readonly number[]> {
      return withBoundary(() => listChildItems(input, resourceDeps));
    },
    /** Fetches and stages one batch of a dependent resource's items; 404s are marked unresolvable. */
    async fetchChildBatch(input: FetchChildBatchInput): Promise<FetchChildBatchResult> {
      return fetchChildBatch(input, resourceDeps, Context.current());
    },
    /** Merges what the resolution staged, in one transaction. */
    async mergeChildren(input: MergeChildrenInput): Promise<ResourceCounts> {
      return mergeChildren(input, resourceDeps, Context.current());
    },
    /** Closes the dependent resource's run; a polled child's pending items carry over. */
    async finishChildren(input: FinishChildrenInput): Promise<FinishChildrenResult> {
      return withBoundary(() => finishChildren(input, resourceDeps));
    },
    /** Closes the load and releases the lease. */
    async finishLoad(input: FinishLoadInput): Promise<void> {
      return withBoundary(() => finishLoad(input, lifecycle(input.source)));
    },
  } satisfies IngestActivities & ResolveActivities & HealthActivities;
}

/** Runs an activity body; a failure leaves as the `ApplicationFailure` the boundary decides. */
async function withBoundary<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const attempt = Context.current().info.attempt;
    throw toApplicationFailure(error, { transientFailures: attempt, rateLimited: 0 });
  }
}

export type Activities = ReturnType<typeof createActivities>;
