/**
 * The JSON that crosses Temporal: workflow inputs and results, activity inputs and results, query answers. Small,
 * secret-free, stable (histories and schedules keep them): ids, names, counts and short messages — never records.
 * Imported by workflow code, so it holds types and constants only.
 */
import type { CursorValue, ResolvedResource, ResolvedRetry, ResolvedSource } from './plan.ts';

/** A window of an incremental resource for one run (a backfill): the stored cursor stays where it is. */
export interface IncrementalWindowInput {
  readonly start?: CursorValue;
  readonly end?: CursorValue;
}

/** What a person types into the Temporal CLI or UI: `{"source": "messaging"}`. */
export interface IngestSourceInput {
  readonly source: string;
  /** Only these resources (and the parents they need); all by default. */
  readonly resources?: readonly string[];
  /** Per incremental resource, another window for this run only: `{"events": {"start": "2026-01-01T00:00:00Z"}}`. */
  readonly window?: Readonly<Record<string, IncrementalWindowInput>>;
  /** Incremental resources that start again from their `initial_value` (their merge stores what they reach). */
  readonly reset?: readonly string[];
  /**
   * Resources whose `replace` or deletion detection may remove more of their table than the worker's guard allows
   * (by default half of it) in this run: the API really lost those records.
   */
  readonly allowDeletes?: readonly string[];
  /**
   * Resources with side effects whose earlier sends of unknown outcome an operator has checked: this run may send
   * again (otherwise such a send blocks the next ones).
   */
  readonly acknowledgeSends?: readonly string[];
}

/** The window an incremental resource's run asked for, and the cursor stored after it. */
export interface IncrementalReport {
  readonly start: CursorValue | null;
  readonly end: CursorValue | null;
  /** Whether this run moves the stored cursor (not for a backfill window or a fixed `end_value`). */
  readonly advances: boolean;
  /** Records the API sent outside the window, left out. */
  readonly outside: number;
  /** The stored cursor once the run merged. */
  readonly cursor: CursorValue | null;
}

export type ResourceStatus = 'pending' | 'running' | 'ok' | 'failed' | 'skipped';

/** Row counts of one resource in one load; every number comes from the statements that did the work. */
export interface ResourceCounts {
  readonly fetched: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly rejected: number;
  readonly pages: number;
  /**
   * Schema drift, present when there is some: top-level fields the resource's table does not know (kept in `data`
   * only) → how many records had them.
   */
  readonly drift?: Readonly<Record<string, number>>;
  /** Present for an incremental resource: its window and cursor. */
  readonly incremental?: IncrementalReport;
}

export const zeroCounts: ResourceCounts = {
  fetched: 0,
  inserted: 0,
  updated: 0,
  unchanged: 0,
  deleted: 0,
  rejected: 0,
  pages: 0,
};

/** What became of one resource. */
export interface ResourceReport {
  readonly resource: string;
  readonly status: ResourceStatus;
  readonly counts: ResourceCounts;
  /** Why it was skipped or how it failed (type = our error code). */
  readonly reason?: { readonly code: string; readonly message: string };
  readonly durationMs?: number;
}

export type IngestOutcome = 'ok' | 'partial' | 'failed';

/** The result of `ingestSource` (and the details of its failure when some resources failed). */
export interface LoadReport {
  readonly source: string;
  readonly loadId: string;
  readonly planHash: string;
  readonly outcome: IngestOutcome;
  readonly resources: readonly ResourceReport[];
}

/** The `progress` query's answer: the report so far. */
export interface IngestProgress {
  readonly source: string;
  readonly loadId: string | null;
  readonly planHash: string | null;
  readonly phase: 'planning' | 'loading' | 'finishing' | 'done';
  readonly resources: readonly ResourceReport[];
}

/** `planSource` activity. */
export interface PlanSourceResult {
  readonly plan: ResolvedSource;
}

/** `beginLoad` activity: takes the source's lease and opens the load in the ledger. */
export interface BeginLoadInput {
  readonly source: string;
  readonly planHash: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly resources: readonly string[];
  /** Days the source's rejected records are kept (its file's `rejected_records.retention_days`; absent: 30). */
  readonly rejectedRetentionDays?: number;
}

export interface BeginLoadResult {
  readonly loadId: string;
}

/** `ingestResource` activity: fetch, extract, stage and merge one resource. */
export interface IngestResourceInput {
  readonly loadId: string;
  readonly source: string;
  readonly baseUrl: string;
  readonly planHash: string;
  readonly resource: ResolvedResource;
  /** The source's retry budget (what its file sets; the worker's defaults fill the rest). */
  readonly retry?: ResolvedRetry;
  /** What the run input asks of this incremental resource's window. */
  readonly window?: IncrementalWindowInput;
  readonly reset?: boolean;
  /** The run input lifts the guard against destructive loads for this resource. */
  readonly allowDeletes?: boolean;
  /** The run input acknowledges earlier sends of unknown outcome of this resource. */
  readonly acknowledgeSends?: boolean;
}

/** `finishLoad` activity: closes the load in the ledger and releases the lease. */
export interface FinishLoadInput {
  readonly loadId: string;
  readonly source: string;
  readonly workflowId: string;
  readonly outcome: IngestOutcome;
  readonly resources: readonly ResourceReport[];
}

/** The failure type of a run in which some resources failed (its details hold the `LoadReport`). */
export const ingestFailureTypes = {
  partial: 'INGEST_PARTIAL_FAILURE',
  failed: 'INGEST_FAILED',
  busy: 'SOURCE_BUSY',
  timedOut: 'INGEST_RUN_TIMEOUT',
} as const;

/** What the `healthCheck` workflow's activity reports: the Postgres a worker writes to. */
export interface DatabaseProbe {
  readonly serverVersion: string;
  readonly database: string;
  readonly checkedAt: string;
}

/** The activity of the `healthCheck` workflow. */
export interface HealthActivities {
  probeDatabase(): Promise<DatabaseProbe>;
}

/**
 * The activities the workflows call, by their public type names. `createActivities` implements this interface;
 * workflows proxy it (types only).
 */
export interface IngestActivities {
  planSource(input: IngestSourceInput): Promise<PlanSourceResult>;
  beginLoad(input: BeginLoadInput): Promise<BeginLoadResult>;
  ingestResource(input: IngestResourceInput): Promise<ResourceCounts>;
  finishLoad(input: FinishLoadInput): Promise<void>;
}

/**
 * `resolveChildren` child workflow: its input (and its continue-as-new state). It fetches one dependent resource
 * once per set of parent values (`ingest.child_items`), in batches, and merges what it staged once at the end.
 */
export interface ResolveChildrenInput {
  readonly loadId: string;
  readonly source: string;
  readonly baseUrl: string;
  readonly planHash: string;
  /** The dependent resource. */
  readonly resource: ResolvedResource;
  /** The source's retry budget (what its file sets). */
  readonly retry?: ResolvedRetry;
  /** Parent value sets per fetch activity (default 50) and per listing of the work list (default 500). */
  readonly batchSize?: number;
  readonly pageSize?: number;
  /** Fetch activities at once (default 4). */
  readonly concurrency?: number;
  /** Batches after which the run continues as new (default 500), so its history stays small. */
  readonly maxBatchesPerRun?: number;
  /** The run input lifts the guard against destructive loads for this resource. */
  readonly allowDeletes?: boolean;
  /** Continue-as-new state: where the current pass stands and what was done so far. */
  readonly state?: ResolveState;
}

export interface ResolveState {
  readonly pass: number;
  /** Keyset cursor of the current pass: the last item handed out. */
  readonly after: number;
  /** Polling stops at this time (ms since the epoch); null for a child without `poll`. */
  readonly pollUntil: number | null;
  readonly pendingThisPass: number;
  /** Totals of every fetch so far. */
  readonly fetched: FetchChildBatchResult;
  readonly passes: number;
  readonly continuedAsNew: number;
}

export interface ResolveTotals {
  readonly counts: ResourceCounts;
  /** Distinct sets of parent values in the work list. */
  readonly items: number;
  readonly unresolvable: number;
  /** Polled children still not final when polling stopped: the next run polls them again. */
  readonly stillPending: number;
  readonly passes: number;
  /** How many times the resolution continued as new. */
  readonly continuedAsNew: number;
}

/** Names the dependent resource's run. */
export interface ChildRunInput {
  readonly loadId: string;
  readonly source: string;
  readonly resource: ResolvedResource;
}

export interface BeginChildrenResult {
  /** Items in the work list. */
  readonly items: number;
  /** Carried-over items given up at once (older than `poll.max_age_seconds`). */
  readonly givenUp: number;
}

export interface ListChildItemsInput {
  readonly loadId: string;
  readonly resource: string;
  readonly after: number;
  readonly limit: number;
}

export interface FetchChildBatchInput {
  readonly loadId: string;
  readonly source: string;
  readonly baseUrl: string;
  readonly planHash: string;
  readonly resource: ResolvedResource;
  /** Item numbers of the work list. */
  readonly items: readonly number[];
  readonly retry?: ResolvedRetry;
}

export interface FetchChildBatchResult {
  /** Records fetched (rejected ones included) and pages requested. */
  readonly fetched: number;
  readonly rejected: number;
  readonly pages: number;
  /** Items whose child came back (final, for a polled child), still pending, or unresolvable (404). */
  readonly done: number;
  readonly pending: number;
  readonly unresolvable: number;
  /** Some item's fetch ended on a response that `response_actions` ignored: the fetch may be partial. */
  readonly ignored: boolean;
}

export interface MergeChildrenInput extends ChildRunInput {
  /** Pages requested over the whole resolution (reported with the counts). */
  readonly pages: number;
  /** The fetch may be partial (an ignored response ended one): replace deletes nothing. */
  readonly incomplete: boolean;
  readonly allowDeletes?: boolean;
}

export interface FinishChildrenInput extends ChildRunInput {
  readonly counts: ResourceCounts;
}

export interface FinishChildrenResult {
  readonly items: number;
  readonly unresolvable: number;
  readonly stillPending: number;
}

/** The activities of `resolveChildren`. */
export interface ResolveActivities {
  beginChildren(input: ChildRunInput): Promise<BeginChildrenResult>;
  listChildItems(input: ListChildItemsInput): Promise<readonly number[]>;
  fetchChildBatch(input: FetchChildBatchInput): Promise<FetchChildBatchResult>;
  mergeChildren(input: MergeChildrenInput): Promise<ResourceCounts>;
  finishChildren(input: FinishChildrenInput): Promise<FinishChildrenResult>;
}
