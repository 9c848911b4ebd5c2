/**
 * What the resource activities tell the worker's telemetry, in one place: the spans of an attempt (fetch, each
 * staged batch, the merge — children of the activity's span) and the metrics of a load (records fetched, rows
 * merged by outcome and the merge's duration, the resource's last success, retries and failures). Metrics come from
 * facts the activities already have (a checkpoint, a settled child item, a merge's outcome, the retry decision);
 * nothing here changes what they do.
 */
import type { Attributes, Context as TraceContext } from '@opentelemetry/api';
import type { Context } from '@temporalio/activity';
import type { ApplicationFailure } from '@temporalio/common';
import type { MergeOutcome } from '../db/merge/merge.ts';
import type { StageOutcome } from '../db/staging/stage-records.ts';
import { noIngestMetrics, type IngestMetrics } from '../telemetry/ingest-metrics.ts';
import { activeContext, inSpan } from '../telemetry/spans.ts';
import type { FailureFacts } from './failure.ts';

/** The resource an attempt works on. */
export interface ObservedRun {
  readonly loadId: string;
  readonly source: string;
  readonly resource: string;
}

/** The run of a resource activity's input (the planned resource's name), for telemetry. */
export function observedRun(input: {
  readonly loadId: string;
  readonly source: string;
  readonly resource: { readonly name: string };
}): ObservedRun {
  return { loadId: input.loadId, source: input.source, resource: input.resource.name };
}

/** Where an attempt stands when it fails: what decides whether its failure is a metric at all, and which. */
export interface AttemptState {
  /** The activity was cancelled — by its workflow, or by the worker shutting down (`WORKER_SHUTDOWN`). */
  readonly cancelled: boolean;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** The retry policy's cap on attempts; undefined or 0: none. */
  readonly maximumAttempts: number | undefined;
}

/** The attempt state of the running activity. */
export function attemptState(context: Context): AttemptState {
  return {
    // The SDK cancels every running activity when its worker shuts down: this signal covers both.
    cancelled: context.cancellationSignal.aborted,
    attempt: context.info.attempt,
    maximumAttempts: context.info.retryPolicy?.maximumAttempts,
  };
}

/** One attempt of a resource activity, as telemetry sees it. */
export interface AttemptObserver {
  /** Runs the fetch (every page of this attempt) in its span. */
  fetch<T extends { readonly pages: number; readonly fetched: number }>(body: () => Promise<T>): Promise<T>;
  /** Stages one batch in its span (a sibling of the fetch's: batches are staged while the next page is read). */
  stage(seq: number, records: number, body: () => Promise<StageOutcome>): Promise<StageOutcome>;
  /**
   * `records` are now the load's for good, never fetched again in this load: the records of a checkpointed page, of
   * a child item that settled, of a merge that committed what nothing else counted. Each is counted once, so the
   * counter adds up to the runs' `fetched` counts however often attempts were retried.
   */
  kept(records: number): void;
  /** Runs the merge in its span and records its rows and duration. */
  merge(disposition: string, body: () => Promise<MergeOutcome>): Promise<MergeOutcome>;
  /** The resource's run succeeded now. */
  succeeded(): void;
  /**
   * The attempt failed: records the retry (and its delay) or the failure for good that `failure` and `state` say —
   * for good when the boundary made it non-retryable or it was the last attempt the retry policy allows. Nothing
   * when the activity was cancelled: a cancelled run or a stopping worker is not a failing resource.
   */
  failed(failure: ApplicationFailure, state: AttemptState): void;
}

/** Observes one attempt; call inside the activity, where the activity's span is the active context. */
export function observeAttempt(run: ObservedRun, metrics: IngestMetrics = noIngestMetrics): AttemptObserver {
  const parent: TraceContext = activeContext();
  const labels = { source: run.source, resource: run.resource };
  const attributes: Attributes = {
    'ingest.source': run.source,
    'ingest.resource': run.resource,
    'ingest.load_id': run.loadId,
  };
  return {
    fetch: (body) =>
      inSpan(
        'ingest.fetch',
        attributes,
        async (span) => {
          const fetched = await body();
          span.setAttributes({ 'ingest.pages': fetched.pages, 'ingest.records': fetched.fetched });
          return fetched;
        },
        parent,
      ),
    stage: (seq, records, body) =>
      inSpan(
        'ingest.stage',
        { ...attributes, 'ingest.batch_seq': seq, 'ingest.records': records },
        async (span) => {
          const staged = await body();
          span.setAttribute('ingest.rejected', staged.rejected);
          return staged;
        },
        parent,
      ),
    kept: (records) => {
      if (records > 0) metrics.fetched(labels, records);
    },
    merge: (disposition, body) =>
      inSpan(
        'ingest.merge',
        { ...attributes, 'ingest.disposition': disposition },
        async (span) => {
          const merged = await body();
          span.setAttributes({
            'ingest.inserted': merged.inserted,
            'ingest.updated': merged.updated,
            'ingest.unchanged': merged.unchanged,
            'ingest.deleted': merged.deleted,
            'ingest.rejected': merged.rejected,
          });
          // An earlier attempt's merge was counted by that attempt: counting it again would double the rows.
          if (!merged.alreadyMerged)
            metrics.merged({ ...labels, disposition }, merged, merged.mergeMs / 1000);
          return merged;
        },
        parent,
      ),
    succeeded: () => metrics.loaded(labels, new Date()),
    failed: (failure, state) => {
      if (state.cancelled) return;
      const lastAttempt =
        state.maximumAttempts !== undefined &&
        state.maximumAttempts > 0 &&
        state.attempt >= state.maximumAttempts;
      if (failure.nonRetryable || lastAttempt) {
        metrics.failed(labels, failure.type ?? 'INTERNAL');
        return;
      }
      // The boundary's facts: a retryable failure with a Retry-After is the API rate limiting us.
      const facts = failure.details?.[0] as Partial<FailureFacts> | undefined;
      const delay: unknown = failure.nextRetryDelay; // a number: the boundary sets milliseconds
      metrics.retried(
        labels,
        facts?.retryAfterMs === undefined ? 'transient' : 'rate_limited',
        typeof delay === 'number' ? delay : 0,
      );
    },
  };
}
