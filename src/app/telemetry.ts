/**
 * A process's telemetry, wired from its settings before anything Temporal is created (the Temporal runtime and its
 * metrics exporter can be installed once per process): the runtime's Prometheus exporter on a private loopback port
 * with our metrics on its meter, the tracer provider and the SDK's tracing interceptors when an OTLP endpoint is set,
 * and — once the worker exists — the operator endpoint (`/metrics` and `/healthz`) on the metrics address. With
 * neither setting there is nothing: no exporter, no tracer provider, no server, and recording is a no-op.
 */
import { readFile } from 'node:fs/promises';
import { Runtime as TemporalRuntime, type Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { readLastSuccesses, type LastSuccess } from '../db/ledger/freshness.ts';
import type { Database } from '../db/schema.ts';
import { IngestError, describeError } from '../errors.ts';
import { freePort, loopback } from '../local/ports.ts';
import { installTemporalRuntime, logger } from '../logging.ts';
import {
  createIngestMetrics,
  noIngestMetrics,
  prometheusTelemetry,
  type IngestMetrics,
} from '../telemetry/ingest-metrics.ts';
import {
  startTelemetryServer,
  type HealthReport,
  type TelemetryServer,
} from '../telemetry/telemetry-server.ts';
import { shownOrigin, type TelemetrySettings } from '../telemetry/telemetry-settings.ts';
import { bundleHasTracing, type WorkerTracing } from '../telemetry/worker-tracing.ts';
import { openDatabaseProbe, type DatabaseProbe } from './database-probe.ts';
import type { SurveyedSource } from './sources.ts';

/** What the operator endpoint serves, and about which worker. */
export interface ServedWorker {
  readonly worker: Worker;
  /** The ledger, which the freshness gauge starts from. */
  readonly db: Kysely<Database>;
  /** The Postgres `/healthz` checks, on a connection of its own (never one of `db`'s). */
  readonly databaseUrl: string;
  /** The sources the worker serves (`surveySources`): the freshness gauge starts for their resources only. */
  readonly sources: readonly SurveyedSource[];
}

export interface Telemetry {
  /** Where the worker's activities and HTTP client record (a no-op without a metrics address). */
  readonly metrics: IngestMetrics;
  /** The interceptors and sinks of a traced worker and client; undefined without an OTLP endpoint. */
  readonly tracing: WorkerTracing | undefined;
  /**
   * Serves `/metrics` and `/healthz` of the worker on the metrics address and returns its URL; undefined (and
   * nothing served) without a metrics address. The freshness gauge starts from the ledger's last successes.
   */
  serve(served: ServedWorker): Promise<string | undefined>;
  /**
   * Warns (a log line) when the process traces and the prebuilt workflow bundle at `codePath` was built without the
   * workflow tracing interceptors (`npm run bundle` without `--tracing`): its runs' activities would each start a
   * trace of their own. Nothing when the process does not trace.
   */
  checkBundle(codePath: string): Promise<void>;
  /** Stops the server and exports the spans still buffered. Safe to call twice. */
  close(): Promise<void>;
}

/** How many ports the exporter is tried on: another process may take a free port before Core binds it. */
const exporterAttempts = 4;

/** Installs the Temporal runtime with the telemetry the settings ask for. Call before connecting to Temporal. */
export async function openTelemetry(settings: TelemetrySettings): Promise<Telemetry> {
  const { metricsAddress, tracesUrl } = settings;
  // The runtime's exporter serves /metrics only; it listens on loopback and our server passes its text through.
  let exporterAddress: string | undefined;
  if (metricsAddress === undefined) installTemporalRuntime();
  else exporterAddress = await installWithExporter(freePort);
  const metrics =
    exporterAddress === undefined
      ? noIngestMetrics
      : createIngestMetrics(TemporalRuntime.instance().metricMeter);
  const tracing =
    tracesUrl === undefined ? undefined : (await import('../telemetry/tracing.ts')).startTracing(tracesUrl);
  if (tracesUrl !== undefined)
    logger.info({ endpoint: shownOrigin(tracesUrl) }, 'tracing to an OTLP endpoint');
  let server: TelemetryServer | undefined;
  let probe: DatabaseProbe | undefined;
  let closed = false;
  return {
    metrics,
    tracing,
    async serve({ worker, db, databaseUrl, sources }) {
      if (metricsAddress === undefined || exporterAddress === undefined) return undefined;
      seedFreshness(metrics, await readLastSuccesses(db), sources);
      const databaseProbe = (probe = openDatabaseProbe(databaseUrl));
      server = await startTelemetryServer({
        address: metricsAddress,
        metricsUrl: `http://${exporterAddress}/metrics`,
        health: () => workerHealth(worker, databaseProbe),
      });
      return server.url;
    },
    async checkBundle(codePath) {
      if (tracing === undefined || bundleHasTracing(await readFile(codePath, 'utf8'))) return;
      logger.warn(
        { workflowBundle: codePath },
        'the workflow bundle has no tracing interceptors: each activity starts a trace of its own, without its ' +
          'workflow. Rebuild it with `npm run bundle -- --tracing`, or start the worker without --workflow-bundle',
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await server?.close();
      await probe?.close();
      await tracing?.shutdown();
    },
  };
}

/**
 * Installs the Temporal runtime with its Prometheus exporter on a loopback port from `pickPort`; returns the
 * exporter's `host:port`. A port taken before Core binds it is replaced by another, up to `attempts` ports; then, or
 * on any other failure, `METRICS_LISTEN_FAILED`.
 */
export async function installWithExporter(
  pickPort: () => Promise<number>,
  attempts: number = exporterAttempts,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const address = `${loopback}:${await pickPort()}`;
    try {
      installTemporalRuntime(prometheusTelemetry(address));
      return address;
    } catch (error) {
      if (!isAddressInUse(error) || attempt >= attempts) {
        throw new IngestError(
          'environment',
          'METRICS_LISTEN_FAILED',
          `cannot start the metrics exporter on ${address}` +
            (attempt > 1 ? ` (after ${attempt - 1} other loopback ports were taken)` : '') +
            `: ${describeError(error)}`,
        );
      }
    }
  }
}

/** Core's exporter reports a taken port as a plain Error whose text carries the OS's (os error 98 on Linux). */
function isAddressInUse(error: unknown): boolean {
  return (
    error instanceof Error &&
    /address already in use|EADDRINUSE|os error (48|98|10048)\b/i.test(error.message)
  );
}

/**
 * Starts the freshness gauge of each resource the worker serves from its last success in the ledger; the ledger's
 * other resources — another fleet's sources, sources or resources since removed — get no series from this worker.
 */
export function seedFreshness(
  metrics: IngestMetrics,
  lastSuccesses: readonly LastSuccess[],
  sources: readonly SurveyedSource[],
): void {
  const served = new Set(
    sources.flatMap((source) => source.resourceNames.map((r) => `${source.name}\0${r}`)),
  );
  for (const last of lastSuccesses) {
    if (served.has(`${last.source}\0${last.resource}`)) metrics.loaded(last, last.at);
  }
}

/** Healthy: the worker polls (state `RUNNING`) and Postgres answers the probe. */
async function workerHealth(worker: Worker, probe: DatabaseProbe): Promise<HealthReport> {
  const state = worker.getState();
  const database = (await probe.check()) ? 'ok' : 'unavailable';
  return { ok: state === 'RUNNING' && database === 'ok', parts: { worker: state, database } };
}
