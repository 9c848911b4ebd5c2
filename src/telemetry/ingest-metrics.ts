/**
 * Our own metrics, recorded through the Temporal SDK's metric meter so that they leave through the same Prometheus
 * exporter as the SDK's (one scrape endpoint). `createIngestMetrics(meter)` makes the instruments once per process;
 * the activities record what a load did, the HTTP client what the APIs answered. Label values are source and
 * resource names, origins (`scheme://host[:port]`, never a path or a query) and small closed sets (outcomes, status
 * codes, error codes): nothing that can hold a secret, nothing unbounded.
 */
import type { MetricMeter, MetricTags } from '@temporalio/common';
import type { TelemetryOptions } from '@temporalio/worker';

/** Which resource a recording is about. */
export interface ResourceLabels {
  readonly source: string;
  readonly resource: string;
}

/** What one merge did to the resource's table (a merge outcome's counts). */
export interface MergedRows {
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly rejected: number;
}

/** Why an activity attempt is retried: the API asked us to wait (429, 503 with `Retry-After`), or backoff. */
export type RetryReason = 'rate_limited' | 'transient';

/** What the HTTP client reports (structurally the `HttpObserver` of `src/http/client.ts`). */
export interface HttpMetrics {
  /** A response's status line arrived from `origin` (every hop: redirects and 401s count too). */
  response(origin: string, status: number): void;
  /** A request waited `waitMs` for its slot under the worker's own rate limit (`--rate-limit`). */
  throttled(origin: string, waitMs: number): void;
}

/** The recorder the worker's activities and HTTP client share. Every method is cheap and never throws. */
export interface IngestMetrics {
  readonly http: HttpMetrics;
  /**
   * Records a load fetched and keeps (rejected ones included), counted once each as they are kept for good — a
   * checkpointed page, a settled child item — so that over a run they add up to its `fetched` count, retries or not.
   */
  fetched(labels: ResourceLabels, records: number): void;
  /** A merge committed: its rows by outcome and how long it took. */
  merged(labels: ResourceLabels & { readonly disposition: string }, rows: MergedRows, seconds: number): void;
  /** The resource's run succeeded at `at` (the freshness gauge). */
  loaded(labels: ResourceLabels, at: Date): void;
  /** A failed attempt is retried after `delayMs`. */
  retried(labels: ResourceLabels, reason: RetryReason, delayMs: number): void;
  /** A failed attempt is not retried: the resource fails with `code`. */
  failed(labels: ResourceLabels, code: string): void;
}

/** The metric names, as scraped (counters carry `_total`, durations are seconds). */
export const metricNames = {
  rows: 'ingest_rows_total',
  fetched: 'ingest_records_fetched_total',
  httpResponses: 'ingest_http_responses_total',
  throttleWait: 'ingest_http_throttle_wait_seconds',
  retryDelay: 'ingest_retry_delay_seconds',
  failures: 'ingest_resource_failures_total',
  mergeDuration: 'ingest_merge_duration_seconds',
  lastSuccess: 'ingest_last_success_timestamp_seconds',
} as const;

/**
 * Bucket bounds of our histograms, in seconds, for the exporter (`histogramBucketOverrides`): the SDK's defaults
 * are sized for its own millisecond latencies.
 */
export const histogramBuckets: Readonly<Record<string, number[]>> = {
  [metricNames.mergeDuration]: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
  [metricNames.retryDelay]: [1, 2, 5, 10, 30, 60, 120, 300],
  [metricNames.throttleWait]: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
};

/**
 * The Temporal runtime's telemetry: its Prometheus exporter on `bindAddress` (SDK metrics as the SDK names them —
 * `temporal_…`, durations in milliseconds, as Temporal's own SDK dashboards expect — and ours), with our
 * histograms' buckets.
 */
export function prometheusTelemetry(bindAddress: string): TelemetryOptions {
  return { metrics: { prometheus: { bindAddress, histogramBucketOverrides: { ...histogramBuckets } } } };
}

const rowOutcomes = ['inserted', 'updated', 'unchanged', 'deleted', 'rejected'] as const;

/** `2xx`, `4xx`, … of a status code. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** Builds the instruments on `meter` (the Temporal runtime's, whose exporter the process installed). */
export function createIngestMetrics(meter: MetricMeter): IngestMetrics {
  const rows = meter.createCounter(
    metricNames.rows,
    'rows',
    'Rows a merge wrote or left, by outcome (inserted, updated, unchanged, deleted, rejected)',
  );
  const fetched = meter.createCounter(
    metricNames.fetched,
    'records',
    "Records fetched and kept by loads, as pages are checkpointed and child items settle (a run's fetched count)",
  );
  const responses = meter.createCounter(
    metricNames.httpResponses,
    'responses',
    'HTTP responses from the APIs, by origin, status class and status',
  );
  const throttleWait = meter.createHistogram(
    metricNames.throttleWait,
    'float',
    'seconds',
    "Waits for a request slot under this worker's own rate limit (--rate-limit), by origin",
  );
  const retryDelay = meter.createHistogram(
    metricNames.retryDelay,
    'float',
    'seconds',
    'Retries of resource activities: count, and the delay before each (Retry-After or backoff), by reason',
  );
  const failures = meter.createCounter(
    metricNames.failures,
    'attempts',
    'Resource activity attempts that failed for good (not retried), by error code',
  );
  const mergeDuration = meter.createHistogram(
    metricNames.mergeDuration,
    'float',
    'seconds',
    'Duration of the one-transaction merge of a resource',
  );
  const lastSuccess = meter.createGauge(
    metricNames.lastSuccess,
    'int',
    'seconds',
    "Unix time of each resource's last successful load (freshness: time() - this)",
  );
  // A recording must never fail an activity: a metric is not worth a load.
  const safely =
    <A extends unknown[]>(record: (...args: A) => void) =>
    (...args: A): void => {
      try {
        record(...args);
      } catch {
        // dropped
      }
    };
  const tags = (labels: ResourceLabels): MetricTags => ({
    source: labels.source,
    resource: labels.resource,
  });
  return {
    http: {
      response: safely((origin: string, status: number) =>
        responses.add(1, { origin, status_class: statusClass(status), status: String(status) }),
      ),
      throttled: safely((origin: string, waitMs: number) => throttleWait.record(waitMs / 1000, { origin })),
    },
    fetched: safely((labels: ResourceLabels, records: number) => fetched.add(records, tags(labels))),
    merged: safely(
      (labels: ResourceLabels & { readonly disposition: string }, merged: MergedRows, seconds: number) => {
        // Every outcome is written, zeros too, so that rate() sees each series from the first load on.
        for (const outcome of rowOutcomes) rows.add(merged[outcome], { ...tags(labels), outcome });
        mergeDuration.record(seconds, { ...tags(labels), disposition: labels.disposition });
      },
    ),
    loaded: safely((labels: ResourceLabels, at: Date) =>
      lastSuccess.set(Math.floor(at.getTime() / 1000), tags(labels)),
    ),
    retried: safely((labels: ResourceLabels, reason: RetryReason, delayMs: number) =>
      retryDelay.record(delayMs / 1000, { ...tags(labels), reason }),
    ),
    failed: safely((labels: ResourceLabels, code: string) => failures.add(1, { ...tags(labels), code })),
  };
}

/** Records nothing: a worker without metrics, and tests that do not look. */
export const noIngestMetrics: IngestMetrics = {
  http: { response: () => {}, throttled: () => {} },
  fetched: () => {},
  merged: () => {},
  loaded: () => {},
  retried: () => {},
  failed: () => {},
};
