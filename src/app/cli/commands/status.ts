/**
 * `ingest status [source]`: per source, the latest loads from the ledger (`ingest.loads`: outcome, started,
 * finished), the resources of the latest load (`ingest.resource_runs`: status and counts) with their freshness —
 * the time since each resource's last successful load — and, when Temporal is reachable, the runs going on now
 * (workflows by the `IngestSource` search attribute).
 */
import type { Client } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import { scanSources } from '../../../config/registry.ts';
import { readLastSuccesses } from '../../../db/ledger/freshness.ts';
import type { Database } from '../../../db/schema.ts';
import { describeError } from '../../../errors.ts';
import { searchAttributes } from '../../../shared/names.ts';
import { sourceSearchAttribute } from '../../../workflows/search-attributes.ts';
import { CliError, type CliContext, type RegisterCommand } from '../context.ts';
import { formatDuration, table } from '../format.ts';

export interface StatusLoad {
  readonly loadId: string;
  readonly status: string;
  readonly workflowId: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
}

export interface StatusResource {
  readonly resource: string;
  /** In the latest load of the source, when it ran there. */
  readonly status: string | null;
  readonly fetched: number | null;
  readonly inserted: number | null;
  readonly updated: number | null;
  readonly unchanged: number | null;
  readonly rejected: number | null;
  readonly error: string | null;
  readonly lastSuccessAt: string | null;
  /** Milliseconds since the last successful load of the resource (null: never loaded successfully). */
  readonly freshnessMs: number | null;
}

export interface StatusRunning {
  readonly workflowId: string;
  readonly runId: string;
  readonly startedAt: string;
}

export interface SourceStatus {
  readonly source: string;
  readonly loads: readonly StatusLoad[];
  readonly resources: readonly StatusResource[];
  /** The runs going on now; null when Temporal was not asked (see `temporal`). */
  readonly running: readonly StatusRunning[] | null;
}

export interface Status {
  readonly at: string;
  /** `ok`, or why the running runs are not known. */
  readonly temporal: string;
  readonly sources: readonly SourceStatus[];
}

export const registerStatus: RegisterCommand = (program, context) => {
  program
    .command('status')
    .description('The latest loads per source, resource freshness, and the runs going on now')
    .argument('[source]', 'only this source')
    .option(
      '--limit <n>',
      'loads shown per source',
      (value: string) => {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1)
          throw new CliError(`--limit ${value}: expected a whole number ≥ 1`, 2);
        return n;
      },
      3,
    )
    .option('--json', 'print the status as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  ingest status',
        '  ingest status communications --limit 10',
        '  ingest status --json',
        '',
        'Reads DATABASE_URL (the ledger); asks TEMPORAL_ADDRESS for runs going on now when it is set.',
      ].join('\n'),
    )
    .action(async (source: string | undefined, options: { limit: number; json?: boolean }) => {
      const ctx = context();
      const status = await readStatus(ctx, source, options.limit);
      if (options.json === true) ctx.print(JSON.stringify(status, null, 2));
      else for (const line of statusLines(status)) ctx.print(line);
    });
};

async function readStatus(ctx: CliContext, source: string | undefined, limit: number): Promise<Status> {
  const now = new Date();
  const database = await ctx.database();
  let ledger: Map<string, Omit<SourceStatus, 'running'>>;
  try {
    ledger = await readLedger(database.db, source, limit, now);
  } finally {
    await database.close();
  }
  // The sources of the folder that never loaded are listed too (a broken folder is no reason to fail).
  const folder = await scanSources(ctx.sourcesDir).catch(() => undefined);
  for (const name of folder?.sources.keys() ?? []) {
    if ((source === undefined || source === name) && !ledger.has(name)) {
      ledger.set(name, { source: name, loads: [], resources: [] });
    }
  }
  if (source !== undefined && !ledger.has(source)) {
    throw new CliError(`no load of "${source}" is recorded and the sources folder has no such source`, 1);
  }
  const { temporal, running } = await readRunning(ctx, source);
  const sources = [...ledger.values()]
    .sort((a, b) => a.source.localeCompare(b.source))
    .map((entry) => ({
      ...entry,
      running: running === undefined ? null : (running.get(entry.source) ?? []),
    }));
  return { at: now.toISOString(), temporal, sources };
}

async function readLedger(
  db: Kysely<Database>,
  source: string | undefined,
  limit: number,
  now: Date,
): Promise<Map<string, Omit<SourceStatus, 'running'>>> {
  const loads = await db
    .selectFrom(
      db
        .selectFrom('ingest.loads')
        .select([
          'load_id',
          'source',
          'status',
          'workflow_id',
          'started_at',
          'finished_at',
          'error',
          sql<number>`row_number() over (partition by source order by started_at desc)`.as('n'),
        ])
        .$if(source !== undefined, (q) => q.where('source', '=', source ?? ''))
        .as('l'),
    )
    .selectAll()
    .where('n', '<=', limit)
    .orderBy('source')
    .orderBy('started_at', 'desc')
    .execute();
  const latest = new Map<string, string>();
  for (const load of loads) if (!latest.has(load.source)) latest.set(load.source, load.load_id);
  const runs =
    latest.size === 0
      ? []
      : await db
          .selectFrom('ingest.resource_runs')
          .select([
            'load_id',
            'source',
            'resource',
            'status',
            'fetched',
            'inserted',
            'updated',
            'unchanged',
            'rejected',
            'error',
          ])
          .where('load_id', 'in', [...latest.values()])
          .orderBy('started_at')
          .execute();
  const fresh = await readLastSuccesses(db, source);
  const out = new Map<string, Omit<SourceStatus, 'running'>>();
  const entry = (name: string) => {
    let found = out.get(name);
    if (found === undefined) {
      found = { source: name, loads: [], resources: [] };
      out.set(name, found);
    }
    return found as { source: string; loads: StatusLoad[]; resources: StatusResource[] };
  };
  for (const load of loads) {
    entry(load.source).loads.push({
      loadId: load.load_id,
      status: load.status,
      workflowId: load.workflow_id,
      startedAt: new Date(load.started_at).toISOString(),
      finishedAt: load.finished_at === null ? null : new Date(load.finished_at).toISOString(),
      error: load.error,
    });
  }
  const lastSuccess = new Map(fresh.map((row) => [`${row.source}\u0000${row.resource}`, row.at]));
  const num = (value: string | number) => Number(value);
  const listed = new Set<string>();
  for (const run of runs) {
    const key = `${run.source}\u0000${run.resource}`;
    listed.add(key);
    const last = lastSuccess.get(key) ?? null;
    entry(run.source).resources.push({
      resource: run.resource,
      status: run.status,
      fetched: num(run.fetched),
      inserted: num(run.inserted),
      updated: num(run.updated),
      unchanged: num(run.unchanged),
      rejected: num(run.rejected),
      error: run.error,
      lastSuccessAt: last?.toISOString() ?? null,
      freshnessMs: last === null ? null : now.getTime() - last.getTime(),
    });
  }
  // Resources loaded before but not in the latest load: their freshness still matters.
  for (const row of fresh) {
    const key = `${row.source}\u0000${row.resource}`;
    if (listed.has(key)) continue;
    const last = lastSuccess.get(key) ?? null;
    entry(row.source).resources.push({
      resource: row.resource,
      status: null,
      fetched: null,
      inserted: null,
      updated: null,
      unchanged: null,
      rejected: null,
      error: null,
      lastSuccessAt: last?.toISOString() ?? null,
      freshnessMs: last === null ? null : now.getTime() - last.getTime(),
    });
  }
  return out;
}

/** The running `ingestSource` runs by source, or why they are not known. */
async function readRunning(
  ctx: CliContext,
  source: string | undefined,
): Promise<{ temporal: string; running: Map<string, StatusRunning[]> | undefined }> {
  if (!ctx.settings.temporal.address) {
    return { temporal: 'not asked (TEMPORAL_ADDRESS not set)', running: undefined };
  }
  let opened: { client: Client; close(): Promise<void> } | undefined;
  try {
    opened = await ctx.temporal();
    const filter =
      source === undefined
        ? `WorkflowType = 'ingestSource'`
        : `${searchAttributes.source} = ${JSON.stringify(source)}`;
    const running = new Map<string, StatusRunning[]>();
    for await (const info of opened.client.workflow.list({
      query: `${filter} AND ExecutionStatus = 'Running'`,
    })) {
      const name = info.typedSearchAttributes.get(sourceSearchAttribute);
      if (name === undefined) continue;
      running.set(name, [
        ...(running.get(name) ?? []),
        { workflowId: info.workflowId, runId: info.runId, startedAt: info.startTime.toISOString() },
      ]);
    }
    return { temporal: 'ok', running };
  } catch (error) {
    return { temporal: `unreachable (${describeError(error).split('\n')[0] ?? ''})`, running: undefined };
  } finally {
    await opened?.close().catch(() => undefined);
  }
}

/** The status as text. */
export function statusLines(status: Status): string[] {
  const now = Date.parse(status.at);
  const ago = (iso: string | null) => (iso === null ? '' : `${formatDuration(now - Date.parse(iso))} ago`);
  const lines: string[] = [];
  if (status.temporal !== 'ok') lines.push(`Running runs: ${status.temporal}.`);
  for (const source of status.sources) {
    lines.push('');
    const running =
      source.running === null
        ? ''
        : source.running.length === 0
          ? '  — not running'
          : `  — RUNNING: ${source.running.map((run) => `${run.workflowId} (since ${ago(run.startedAt)})`).join(', ')}`;
    lines.push(`${source.source}${running}`);
    if (source.loads.length === 0) {
      lines.push('  no load recorded');
      continue;
    }
    lines.push(
      ...table(
        ['load', 'outcome', 'started', 'took', 'workflow'],
        source.loads.map((load) => [
          load.loadId,
          load.status,
          ago(load.startedAt),
          load.finishedAt === null
            ? ''
            : formatDuration(Date.parse(load.finishedAt) - Date.parse(load.startedAt)),
          load.workflowId ?? '',
        ]),
      ),
    );
    const cell = (n: number | null) => (n === null ? '' : String(n));
    if (source.resources.length > 0) {
      lines.push('');
      lines.push(
        ...table(
          ['resource', 'latest', 'fetched', 'new', 'changed', 'unchanged', 'rejected', 'fresh'],
          source.resources.map((r) => [
            r.resource,
            r.status ?? '(not in the latest load)',
            cell(r.fetched),
            cell(r.inserted),
            cell(r.updated),
            cell(r.unchanged),
            cell(r.rejected),
            r.freshnessMs === null ? 'never loaded' : formatDuration(r.freshnessMs),
          ]),
          { numeric: [2, 3, 4, 5, 6] },
        ),
      );
    }
    for (const load of source.loads.slice(0, 1))
      if (load.error !== null) lines.push(`  error: ${load.error}`);
  }
  return lines;
}
