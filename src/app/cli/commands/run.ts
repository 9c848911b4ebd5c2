/**
 * `ingest run <source>`: starts the `ingestSource` workflow on the `ingest` task queue and prints its id and Web UI
 * link. With `--wait` it follows the run — each resource's state from the workflow's `progress` query, and the
 * pending activities (attempt, last failure, heartbeat details) from `describe()` — then prints the report and exits
 * 0 (ok), 2 (partial) or 1 (failed).
 */
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { describeError } from '../../../errors.ts';
import type {
  IncrementalWindowInput,
  IngestProgress,
  IngestSourceInput,
  LoadReport,
} from '../../../shared/ingest-types.ts';
import type { CursorValue } from '../../../shared/plan.ts';
import { taskQueue as ingestTaskQueue } from '../../../shared/names.ts';
import type { ingestSource } from '../../../workflows/index.ts';
import { sourceSearchAttribute } from '../../../workflows/search-attributes.ts';
import { CliError, type CliContext, type RegisterCommand } from '../context.ts';
import { decodePendingActivities } from '../decode-pending.ts';
import { countCells, countHeader, formatDuration, reportLines, table } from '../format.ts';
import { list } from './plan.ts';

interface RunOptions {
  readonly resources?: string[];
  readonly window?: Record<string, IncrementalWindowInput>;
  readonly reset?: string[];
  readonly wait?: boolean;
  readonly workflowId?: string;
  readonly taskQueue: string;
}

export const registerRun: RegisterCommand = (program, context) => {
  program
    .command('run')
    .description('Start a run of <source> (the ingestSource workflow); --wait follows it to its report')
    .argument('<source>', 'the source name')
    .option('--resources <names>', 'only these resources (comma-separated; their parents are added)', list)
    .option(
      '--window <resource=start..end>',
      'backfill this window of an incremental resource, this run only (repeatable; either end may be empty)',
      parseWindow,
    )
    .option(
      '--reset <resource>',
      'start this incremental resource again from its initial_value (repeatable)',
      list,
    )
    .option('--wait', 'follow the run: live progress, then the report; exit 0 ok, 2 partial, 1 failed')
    .option('--workflow-id <id>', 'the workflow id (default ingest/<source>/<timestamp>)')
    .option('--task-queue <name>', 'the task queue the workers poll', ingestTaskQueue)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  ingest run communications --wait',
        '  ingest run messaging --resources contacts,phones',
        '  ingest run shop --window orders=2026-01-01T00:00:00Z..2026-02-01T00:00:00Z --wait',
        '  ingest run shop --reset orders --workflow-id reset-orders-1',
        '',
        'A worker (`npm run worker`, `ingest worker`) must be running. Exit code with --wait: 0 ok, 2 partial,',
        '1 failed; without --wait: 0 once the run is started.',
      ].join('\n'),
    )
    .action(async (source: string, options: RunOptions) => {
      const ctx = context();
      const input: IngestSourceInput = {
        source,
        ...(options.resources === undefined ? {} : { resources: options.resources }),
        ...(options.window === undefined ? {} : { window: options.window }),
        ...(options.reset === undefined ? {} : { reset: options.reset }),
      };
      const temporal = await ctx.temporal();
      try {
        process.exitCode = await startRun(ctx, temporal.client, input, options);
      } finally {
        await temporal.close();
      }
    });
};

/** `resource=start..end` (a numeric end is a number), added to the windows given before. */
export function parseWindow(
  value: string,
  previous: Record<string, IncrementalWindowInput> = {},
): Record<string, IncrementalWindowInput> {
  const match = /^([^=]+)=(.*)\.\.(.*)$/.exec(value);
  if (match === null) {
    throw new CliError(
      `--window ${value}: expected resource=start..end (e.g. orders=2026-01-01..2026-02-01)`,
      2,
    );
  }
  const [, resource = '', start = '', end = ''] = match;
  const cursor = (text: string): CursorValue => (/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text);
  if (start.trim() === '' && end.trim() === '') {
    throw new CliError(`--window ${value}: give a start, an end or both`, 2);
  }
  return {
    ...previous,
    [resource.trim()]: {
      ...(start.trim() === '' ? {} : { start: cursor(start.trim()) }),
      ...(end.trim() === '' ? {} : { end: cursor(end.trim()) }),
    },
  };
}

async function startRun(
  ctx: CliContext,
  client: Client,
  input: IngestSourceInput,
  options: RunOptions,
): Promise<number> {
  const workflowId = options.workflowId ?? `ingest/${input.source}/${new Date().toISOString()}`;
  const handle = await client.workflow.start<typeof ingestSource>('ingestSource', {
    taskQueue: options.taskQueue,
    workflowId,
    args: [input],
    // The workflow sets it too, in its first task: set here, a run still waiting for a worker is findable.
    typedSearchAttributes: [{ key: sourceSearchAttribute, value: input.source }],
    // What the run is, in the Web UI's list and header.
    staticSummary:
      `ingest ${input.source} · ${input.resources === undefined ? 'all resources' : input.resources.join(', ')}` +
      `${input.window === undefined ? '' : ` · window ${Object.keys(input.window).join(', ')}`}` +
      `${input.reset === undefined ? '' : ` · reset ${input.reset.join(', ')}`} · trigger: ingest run`,
  });
  ctx.print(`started ${handle.workflowId} (run ${handle.firstExecutionRunId})`);
  const { uiUrl, namespace } = ctx.settings.temporal;
  if (uiUrl !== undefined) {
    ctx.print(
      `  ${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/` +
        `${encodeURIComponent(handle.workflowId)}/${handle.firstExecutionRunId}`,
    );
  }
  if (options.wait !== true) return 0;
  const report = await follow(ctx, handle);
  ctx.print('');
  for (const line of reportLines(report)) ctx.print(line);
  return report.outcome === 'ok' ? 0 : report.outcome === 'partial' ? 2 : 1;
}

/** A pending activity, as `describe()` reports it. */
export interface PendingActivity {
  readonly id: string;
  readonly type: string;
  readonly attempt: number;
  readonly state: string;
  readonly heartbeat: unknown;
  readonly lastFailure: string | undefined;
}

/** Follows a run until it ends; its report (from the failure's details when it failed partially or wholly). */
async function follow(ctx: CliContext, handle: WorkflowHandle<typeof ingestSource>): Promise<LoadReport> {
  const tty = process.stderr.isTTY === true;
  let drawn = 0;
  let lastLines: string[] = [];
  const seen = new Map<string, string>();
  const draw = (progress: IngestProgress | undefined, pending: readonly PendingActivity[]) => {
    if (tty) {
      const lines = progressLines(progress, pending);
      if (lines.join('\n') === lastLines.join('\n')) return;
      if (drawn > 0) process.stderr.write(`\x1b[${drawn}A\x1b[J`);
      for (const line of lines) ctx.warn(line);
      drawn = lines.length;
      lastLines = lines;
      return;
    }
    for (const line of changeLines(progress, pending, seen)) ctx.warn(line);
  };
  // One poll at a time, and the last one awaited before returning: the connection is closed after this returns.
  let inflight: Promise<void> | undefined;
  const poll = () => {
    if (inflight !== undefined) return;
    inflight = Promise.all([
      handle.query<IngestProgress>('progress').catch(() => undefined),
      handle
        .describe()
        .then((description) =>
          decodePendingActivities(
            description.raw.pendingActivities ?? [],
            handle.client.options.loadedDataConverter,
          ),
        )
        .then(pendingActivities)
        .catch(() => [] as PendingActivity[]),
    ])
      .then(([progress, pending]) => draw(progress, pending))
      .finally(() => {
        inflight = undefined;
      });
  };
  poll();
  const timer = setInterval(poll, 1_000);
  try {
    return await handle.result();
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    if (
      cause instanceof ApplicationFailure &&
      (cause.type === 'INGEST_PARTIAL_FAILURE' || cause.type === 'INGEST_FAILED')
    ) {
      const report = cause.details?.[0] as LoadReport | undefined;
      if (report?.resources !== undefined) return report;
    }
    const why = cause === undefined ? describeError(error) : describeError(cause);
    const type = cause instanceof ApplicationFailure && cause.type ? `${cause.type}: ` : '';
    throw new CliError(`run ${handle.workflowId} failed: ${type}${why}`, 1);
  } finally {
    clearInterval(timer);
    await inflight;
  }
}

type RawPending = NonNullable<
  Awaited<ReturnType<WorkflowHandle['describe']>>['raw']['pendingActivities']
>[number];

/** The pending activities of a run, heartbeat details decoded. */
export function pendingActivities(raw: readonly RawPending[]): PendingActivity[] {
  return raw.map((activity) => {
    let heartbeat: unknown;
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (payload) {
      try {
        heartbeat = defaultPayloadConverter.fromPayload(payload);
      } catch {
        heartbeat = '(undecodable)';
      }
    }
    return {
      id: activity.activityId ?? '',
      type: activity.activityType?.name ?? '',
      attempt: activity.attempt ?? 1,
      state: String(activity.state ?? ''),
      heartbeat,
      lastFailure: activity.lastFailure?.message ?? undefined,
    };
  });
}

function heartbeatText(heartbeat: unknown): string {
  if (heartbeat === undefined) return '';
  if (heartbeat === null || typeof heartbeat !== 'object') return JSON.stringify(heartbeat);
  return Object.entries(heartbeat as Record<string, unknown>)
    .map(([key, value]) => `${key} ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

function pendingLine(activity: PendingActivity): string {
  const attempt = activity.attempt > 1 ? `, attempt ${activity.attempt}` : '';
  const beat = heartbeatText(activity.heartbeat);
  const failure = activity.lastFailure === undefined ? '' : `; last failure: ${activity.lastFailure}`;
  return `  activity ${activity.type} #${activity.id}${attempt}${beat === '' ? '' : `: ${beat}`}${failure}`;
}

/** The compact table a terminal shows (redrawn in place). */
export function progressLines(
  progress: IngestProgress | undefined,
  pending: readonly PendingActivity[],
): string[] {
  if (progress === undefined) return ['waiting for a worker to pick the run up…'];
  const rows = progress.resources.map((r) => [
    r.resource,
    r.status,
    ...countCells(r),
    r.reason === undefined ? '' : `${r.reason.code}`,
  ]);
  const numeric = countHeader.map((_, i) => i + 2);
  return [
    `${progress.source}: ${progress.phase}${progress.loadId === null ? '' : ` (load ${progress.loadId})`}`,
    ...table(['resource', 'status', ...countHeader, 'reason'], rows, { numeric }),
    ...pending.map(pendingLine),
  ];
}

/** The lines of what changed since the last poll (for a log, not a terminal). */
export function changeLines(
  progress: IngestProgress | undefined,
  pending: readonly PendingActivity[],
  seen: Map<string, string>,
): string[] {
  const lines: string[] = [];
  const note = (key: string, state: string, line: string) => {
    if (seen.get(key) === state) return;
    seen.set(key, state);
    lines.push(line);
  };
  if (progress === undefined) return lines;
  note('phase', progress.phase, `${progress.source}: ${progress.phase}`);
  for (const r of progress.resources) {
    const counts = r.status === 'pending' ? '' : ` — ${r.counts.fetched} fetched, ${r.counts.pages} pages`;
    const reason = r.reason === undefined ? '' : ` — ${r.reason.code}: ${r.reason.message}`;
    const took = r.durationMs === undefined ? '' : ` in ${formatDuration(r.durationMs)}`;
    note(
      `resource:${r.resource}`,
      `${r.status}${counts}${reason}`,
      `  ${r.resource}: ${r.status}${counts}${took}${reason}`,
    );
  }
  for (const activity of pending) {
    note(
      `activity:${activity.id}`,
      `${activity.attempt}|${activity.lastFailure ?? ''}`,
      pendingLine(activity),
    );
  }
  return lines;
}
