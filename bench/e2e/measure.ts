/**
 * One measured run of `bench:e2e`: an `ingestSource` workflow started with the Temporal client and awaited, timed
 * from start to result, with what it cost — WAL bytes, rows written (row versions, `xmin`), the worker's peak
 * resident memory (sampled from its process) and CPU time, the server's and the API's CPU time — and a check that
 * it did what the phase expects (counts), so that a figure is never that of a run that went wrong.
 */
import { loadavg } from 'node:os';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.ts';
import { taskQueue } from '../../src/shared/names.ts';
import type { IngestSourceInput, LoadReport, ResourceCounts } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { currentXid, rowsWrittenSince, serverCpuMs, tableOid, walLsn, walSince } from '../shared/postgres.ts';
import { processCpuMs, sampleMemory } from './processes.ts';

/** What a run is measured with: the database, the client, and the processes whose CPU and memory count. */
export interface Meters {
  readonly db: Kysely<Database>;
  readonly client: Client;
  readonly workerPid: number;
  /** The sandbox's process now (it restarts between revisions). */
  readonly apiPid: () => number;
}

/** The figures of one run. */
export interface RunFigures {
  readonly label: string;
  readonly workflowId: string;
  /** From the workflow's start to its result, as a client sees it. */
  readonly wallMs: number;
  /** The longest resource's own time (the report's `durationMs`): the wall time less planning and bookkeeping. */
  readonly resourceMs: number;
  /** The counts of every resource, added up. */
  readonly counts: ResourceCounts;
  readonly resources: number;
  /** Rows of the measured table written by the run (`xmin`); undefined when no table is measured. */
  readonly rowsWritten: number | undefined;
  /** The measured table was replaced (a first load swapped in). */
  readonly swapped: boolean;
  readonly walBytes: number;
  readonly worker: {
    readonly peakRssBytes: number;
    readonly medianRssBytes: number;
    readonly rssSamples: number;
    readonly cpuMs: number;
  };
  /** CPU time of the server's processes (a server on this machine only). */
  readonly postgresCpuMs: number | undefined;
  /** CPU time of the sandbox API's process (serving, not the product's work). */
  readonly apiCpuMs: number;
  /** The machine's 1-minute load average when the run started. */
  readonly loadAverage: number;
}

let runs = 0;

/** Runs `input` once, measured; `table` is the table whose rewritten rows count. Throws when the run fails. */
export async function measureRun(
  meters: Meters,
  label: string,
  input: IngestSourceInput,
  table?: string,
): Promise<RunFigures> {
  const { db, client, workerPid } = meters;
  const workflowId = `bench-e2e/${input.source}/${Date.now()}-${++runs}`;
  const walBefore = await walLsn(db);
  const xid = await currentXid(db);
  const oidBefore = table === undefined ? undefined : await tableOid(db, table);
  const postgresCpuBefore = await serverCpuMs(db);
  const workerCpuBefore = await processCpuMs(workerPid);
  const apiPid = meters.apiPid();
  const apiCpuBefore = await processCpuMs(apiPid);
  const memory = sampleMemory(workerPid);
  const loadAverage = loadavg()[0] ?? 0;
  const started = performance.now();
  const outcome = await client.workflow
    .execute<typeof ingestSource>('ingestSource', { taskQueue, workflowId, args: [input] })
    .then(
      (report: LoadReport) => ({ report }),
      (error: unknown) => ({ error }),
    );
  const wallMs = performance.now() - started;
  const rss = await memory.stop();
  if ('error' in outcome) throw outcome.error;
  const { report } = outcome;
  const workerCpuMs = (await processCpuMs(workerPid)) - workerCpuBefore;
  const apiCpuMs = (await processCpuMs(apiPid)) - apiCpuBefore;
  const postgresCpuAfter = await serverCpuMs(db);
  const walBytes = await walSince(db, walBefore);
  const figures: RunFigures = {
    label,
    workflowId,
    wallMs,
    resourceMs: Math.max(0, ...report.resources.map((r) => r.durationMs ?? 0)),
    counts: addCounts(report.resources.map((r) => r.counts)),
    resources: report.resources.length,
    rowsWritten: table === undefined ? undefined : await rowsWrittenSince(db, table, xid),
    swapped: table !== undefined && (await tableOid(db, table)) !== oidBefore,
    walBytes,
    worker: {
      peakRssBytes: rss.peak,
      medianRssBytes: rss.median,
      rssSamples: rss.samples,
      cpuMs: workerCpuMs,
    },
    postgresCpuMs:
      postgresCpuBefore === undefined || postgresCpuAfter === undefined
        ? undefined
        : postgresCpuAfter - postgresCpuBefore,
    apiCpuMs,
    loadAverage,
  };
  return figures;
}

/** Fails the benchmark when a run did not do what its phase is for (a figure of a wrong run means nothing). */
export function expectCounts(
  figures: RunFigures,
  expected: Partial<Pick<ResourceCounts, 'fetched' | 'inserted' | 'updated' | 'unchanged'>>,
): void {
  type Counted = 'fetched' | 'inserted' | 'updated' | 'unchanged';
  for (const [name, value] of Object.entries(expected) as [Counted, number][]) {
    if (figures.counts[name] !== value) {
      throw new Error(
        `${figures.label}: ${name} ${figures.counts[name]}, expected ${value} ` +
          `(counts ${JSON.stringify(figures.counts)}, workflow ${figures.workflowId})`,
      );
    }
  }
}

function addCounts(all: readonly ResourceCounts[]): ResourceCounts {
  const sum = (pick: (counts: ResourceCounts) => number) => all.reduce((total, c) => total + pick(c), 0);
  return {
    fetched: sum((c) => c.fetched),
    inserted: sum((c) => c.inserted),
    updated: sum((c) => c.updated),
    unchanged: sum((c) => c.unchanged),
    deleted: sum((c) => c.deleted),
    rejected: sum((c) => c.rejected),
    pages: sum((c) => c.pages),
  };
}
