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
  BeginResolveInput,
  FetchMessageBatchInput,
  FetchMessageBatchResult,
  IngestResourceInput,
  IngestSourceInput,
  ListPendingInput,
  ListPendingResult,
  MergePassInput,
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
  beginResolve,
  fetchMessageBatch,
  finishResolve,
  listPendingMessages,
  mergeMessagePass,
} from './resolve-messages.ts';
import type { RetryBudget } from './retry.ts';

export interface ActivityDeps {
  readonly db: Kysely<Database>;
  /** Where sources read config values, base URLs and credentials from, at run time (the app passes its environment). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base URLs that win over the environment, per source (the sandbox in `npm start`). */
  readonly baseUrls?: Readonly<Record<string, string>>;
  /** Whether a workflow run is still running (the source's lease); from a Temporal client. */
  readonly runStatus?: RunStatusLookup;
  readonly sandbox?: boolean;
  /** The HTTP client the resources share (connection reuse); one is created when omitted. */
  readonly http?: HttpClient;
  readonly retryBudget?: RetryBudget;
  /** Heartbeat period of `ingestResource` (tests shorten it). */
  readonly heartbeatIntervalMs?: number;
  /** The most memory one sort of a merge may use, in MB (default `defaultMergeMemoryMb`, 1 GB). */
  readonly mergeMemoryMb?: number;
  /** Whether a big first load may swap in the table staging built (`StagingOptions.firstLoadSwap`; default true). */
  readonly firstLoadSwap?: boolean;
}

/** Builds the activities with their dependencies bound. Workflows import only the *type* of this object. */
export function createActivities(deps: ActivityDeps) {
  const env = deps.env;
  const runStatus: RunStatusLookup =
    deps.runStatus ??
    (() => Promise.reject(new Error('createActivities: no runStatus lookup (a Temporal client) was given')));
  const lifecycle = { db: deps.db, runStatus, sandbox: deps.sandbox ?? false };
  const http = deps.http ?? createHttpClient();
  const resourceDeps = {
    db: deps.db,
    client: http,
    env,
    ...(deps.retryBudget === undefined ? {} : { retryBudget: deps.retryBudget }),
    ...(deps.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: deps.heartbeatIntervalMs }),
    ...(deps.mergeMemoryMb === undefined ? {} : { mergeMemoryMb: deps.mergeMemoryMb }),
    ...(deps.firstLoadSwap === undefined ? {} : { firstLoadSwap: deps.firstLoadSwap }),
  };
  return {
    /** Reports the Postgres server version and database the worker writes to. */
    async probeDatabase(): Promise<DatabaseProbe> {
      return probeDatabase(deps.db);
    },
    /** Resolves a source into a plan with its hash. */
    async planSource(input: IngestSourceInput): Promise<PlanSourceResult> {
      return withBoundary(() =>
        planSource(input, { env, ...(deps.baseUrls === undefined ? {} : { baseUrls: deps.baseUrls }) }),
      );
    },
    /** Takes the source's lease and opens the load. */
    async beginLoad(input: BeginLoadInput): Promise<BeginLoadResult> {
      return withBoundary(() => beginLoad(input, lifecycle));
    },
    /** Fetches, stages and merges one resource; returns its counts. Decides its own retries. */
    async ingestResource(input: IngestResourceInput): Promise<ResourceCounts> {
      return ingestResource(input, resourceDeps, Context.current());
    },
    /** Opens the run of a dependent resource (`resolveSmsMessages`). */
    async beginResolve(input: BeginResolveInput): Promise<void> {
      return withBoundary(() => beginResolve(input, resourceDeps));
    },
    /** The next keyset page of pending message ids. */
    async listPendingMessages(input: ListPendingInput): Promise<ListPendingResult> {
      return withBoundary(() => listPendingMessages(input, resourceDeps));
    },
    /** Fetches and stages one batch of message details; 404s are marked unresolvable. */
    async fetchMessageBatch(input: FetchMessageBatchInput): Promise<FetchMessageBatchResult> {
      return withBoundary(() => fetchMessageBatch(input, resourceDeps, Context.current().cancellationSignal));
    },
    /** Merges one polling pass in one transaction. */
    async mergeMessagePass(input: MergePassInput): Promise<ResourceCounts> {
      return withBoundary(() => mergeMessagePass(input, resourceDeps));
    },
    /** Closes the dependent resource's run with its totals. */
    async finishResolve(input: BeginResolveInput & { readonly totals: ResourceCounts }): Promise<void> {
      return withBoundary(() => finishResolve(input, resourceDeps));
    },
    /** Closes the load and releases the lease. */
    async finishLoad(input: FinishLoadInput): Promise<void> {
      return withBoundary(() => finishLoad(input, lifecycle));
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
