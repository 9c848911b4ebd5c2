/**
 * The activities of `resolveSmsMessages`: the message details behind the request ids that `sms` produced. The ids
 * come from Postgres — every id in the parent table (`messaging.sms`, this run's send included) whose message is not
 * final yet and was not found unresolvable — in keyset pages, so any number of them is read in bounded pieces.
 * Each batch is fetched (one request per id) and staged into the resource's staging; a 404 is a per-record outcome
 * (`ingest.unresolvable_keys`, final), not a failed resource. Each polling pass ends with ONE merge.
 */
import { sql, type Kysely } from 'kysely';
import type { ResolvedResource } from '../shared/plan.ts';
import { finishResourceRun, startResourceRun } from '../db/ledger/ledger.ts';
import { mergeMode } from '../db/merge/dispositions.ts';
import { mergeOptions, mergeStaged } from '../db/merge/merge.ts';
import { readResourceTable, type ResourceTable } from '../db/tables/resource-tables.ts';
import type { Database } from '../db/schema.ts';
import { prepareStaging, stagingOptions } from '../db/staging/prepare.ts';
import { batchSeq, stageRecords } from '../db/staging/stage-records.ts';
import { IngestError, isIngestError } from '../errors.ts';
import type { HttpClient } from '../http/client.ts';
import type { ExtractedRecord } from '../shared/records.ts';
import { openResource, type ResourceRequester } from '../http/resource-request.ts';
import { countsOf, singleResourcePlan } from './resource-run.ts';
import type {
  BeginResolveInput,
  FetchMessageBatchInput,
  FetchMessageBatchResult,
  ListPendingInput,
  ListPendingResult,
  MergePassInput,
  ResourceCounts,
} from '../shared/ingest-types.ts';

/** Message statuses after which a message never changes (the messaging API's contract). */
export const finalMessageStatuses = ['DELIVERED', 'UNDELIVERABLE', 'REJECTED', 'EXPIRED'] as const;

export interface ResolveDeps {
  readonly db: Kysely<Database>;
  readonly client: HttpClient;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The most memory one sort of a merge may use, in MB (`MergeOptions.memoryMb`). */
  readonly mergeMemoryMb?: number;
  /** Whether a big first load may swap in the table staging built (`StagingOptions.firstLoadSwap`). */
  readonly firstLoadSwap?: boolean;
}

/** Opens the resource run of the dependent resource in the ledger (idempotent). */
export async function beginResolve(input: BeginResolveInput, deps: ResolveDeps): Promise<void> {
  refuseNonMerge(input.source, input.resource);
  await startResourceRun(deps.db, {
    loadId: input.loadId,
    source: input.source,
    resource: input.resource.name,
    writeDisposition: input.resource.writeDisposition,
  });
}

/** The next `limit` ids after `after` (keyset, ascending) whose message is not final and not unresolvable. */
export async function listPendingMessages(
  input: ListPendingInput,
  deps: ResolveDeps,
): Promise<ListPendingResult> {
  const { parent, child, parentKey, statusColumn } = await tablesOf(deps.db, input.source, input.resource);
  const childKey = child.primaryKey[0]?.column;
  if (childKey === undefined) throw noKey(child);
  const { rows } = await sql<{ id: string }>`
    SELECT p.${sql.id(parentKey)} AS id
    FROM ${sql.id(parent.schema)}.${sql.id(parent.table)} AS p
    WHERE p._deleted_at IS NULL
      AND p.${sql.id(parentKey)} IS NOT NULL
      AND (${input.after}::text IS NULL OR p.${sql.id(parentKey)} COLLATE "C" > ${input.after}::text COLLATE "C")
      AND NOT EXISTS (
        SELECT 1 FROM ${sql.id(child.schema)}.${sql.id(child.table)} AS c
        WHERE c.${sql.id(childKey)} = p.${sql.id(parentKey)}
          AND c.${sql.id(statusColumn)} IN (${sql.join([...finalMessageStatuses])}))
      AND NOT EXISTS (
        SELECT 1 FROM ingest.unresolvable_keys AS u
        WHERE u.source = ${input.source} AND u.resource = ${input.resource.name} AND u.key = p.${sql.id(parentKey)})
    ORDER BY p.${sql.id(parentKey)} COLLATE "C"
    LIMIT ${input.limit}`.execute(deps.db);
  return { ids: rows.map((row) => row.id) };
}

/**
 * Fetches one batch of ids and stages their records under the batch's number (a retried batch replaces itself). Returns how
 * many came back final, still pending, or unresolvable (404).
 */
export async function fetchMessageBatch(
  input: FetchMessageBatchInput,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<FetchMessageBatchResult> {
  const requester = requesterFor(input, deps);
  const target = await readResourceTable(deps.db, input.source, input.resource.name);
  const staging = await prepareStaging(deps.db, target, input.loadId, stagingOptions(deps));
  const records: ExtractedRecord[] = [];
  const unresolvable: { key: string; status: number; reason: string }[] = [];
  for (const id of input.ids) {
    signal.throwIfAborted();
    try {
      const fetched = await requester.fetchRecords(requester.render({ requestId: id }), { signal });
      for await (const batch of fetched.batches) records.push(...batch.records);
    } catch (error) {
      const status = isIngestError(error) ? error.details['status'] : undefined;
      if (status !== 404) throw error;
      unresolvable.push({ key: id, status: 404, reason: isIngestError(error) ? error.message : 'not found' });
    }
  }
  const staged = await stageRecords(deps.db, staging, batchSeq(input.batch, 0), records);
  if (unresolvable.length > 0) {
    await deps.db
      .insertInto('ingest.unresolvable_keys')
      .values(
        unresolvable.map((u) => ({
          source: input.source,
          resource: input.resource.name,
          key: u.key,
          http_status: u.status,
          reason: u.reason.slice(0, 2000),
          load_id: input.loadId,
        })),
      )
      .onConflict((oc) => oc.columns(['source', 'resource', 'key']).doNothing())
      .execute();
  }
  const final = records.filter((r) =>
    (finalMessageStatuses as readonly string[]).includes(String((r.value as { status?: unknown }).status)),
  ).length;
  return {
    fetched: records.length,
    final,
    pending: records.length - final,
    unresolvable: unresolvable.length,
    rejected: staged.rejected,
  };
}

/** Merges what one polling pass staged, in one transaction. */
export async function mergeMessagePass(input: MergePassInput, deps: ResolveDeps): Promise<ResourceCounts> {
  const target = await readResourceTable(deps.db, input.source, input.resource.name);
  const staging = await prepareStaging(deps.db, target, input.loadId, stagingOptions(deps));
  // Each pass merges the keys it resolved only: replace or deletion detection would take that for the whole table
  // (the config refuses both for parent-dependent resources), so a pass always merges.
  const merged = await mergeStaged(deps.db, staging, mergeMode, mergeOptions(deps));
  return countsOf(merged, 0);
}

/** Closes the dependent resource's run in the ledger with the totals of every pass. */
export async function finishResolve(
  input: BeginResolveInput & { readonly totals: ResourceCounts },
  deps: ResolveDeps,
): Promise<void> {
  await deps.db
    .updateTable('ingest.resource_runs')
    .set({
      fetched: String(input.totals.fetched),
      inserted: String(input.totals.inserted),
      updated: String(input.totals.updated),
      unchanged: String(input.totals.unchanged),
      rejected: String(input.totals.rejected),
    })
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource.name)
    .execute();
  await finishResourceRun(deps.db, {
    loadId: input.loadId,
    resource: input.resource.name,
    status: 'succeeded',
  });
}

function requesterFor(input: FetchMessageBatchInput, deps: ResolveDeps): ResourceRequester {
  const plan = singleResourcePlan(input);
  const opened = openResource(plan, input.resource.name, { client: deps.client, env: deps.env });
  if (opened.kind === 'skipped') {
    throw new IngestError('config', 'RESOURCE_SKIPPED', `${input.resource.name}: ${opened.skip.reason}`);
  }
  return opened.requester;
}

async function tablesOf(db: Kysely<Database>, source: string, resource: ResolvedResource) {
  if (resource.dependency === null) {
    throw new IngestError('config', 'NOT_DEPENDENT', `${source}.${resource.name} has no parent resource`);
  }
  const [parent, child] = await Promise.all([
    readResourceTable(db, source, resource.dependency.parent),
    readResourceTable(db, source, resource.name),
  ]);
  const field = resource.dependency.fields[0];
  const parentKey = parent.primaryKey.find((k) => k.field === field)?.column;
  if (parentKey === undefined) {
    throw new IngestError(
      'config',
      'PARENT_FIELD_NOT_KEY',
      `${source}.${resource.name} resolves ${resource.dependency.parent}.${String(field)}, which is not the parent's primary key`,
    );
  }
  const statusColumn = child.columns.find((c) => c.path.length === 1 && c.path[0] === 'status')?.column;
  if (statusColumn === undefined) {
    throw new IngestError(
      'config',
      'NO_STATUS_COLUMN',
      `${source}.${resource.name} has no typed status column`,
    );
  }
  return { parent, child, parentKey, statusColumn };
}

function noKey(table: ResourceTable): IngestError {
  return new IngestError('config', 'NO_PRIMARY_KEY', `${table.source}.${table.resource} has no primary key`);
}

/**
 * A dependent resource is resolved in passes (only the keys that are not final yet), each merged on its own:
 * `replace` would empty the table of every earlier pass and `append` would copy a record once per poll. So only
 * `merge` runs; the config accepts the others (dlt's default is append), the run refuses them here, before any
 * request.
 */
function refuseNonMerge(source: string, resource: ResolvedResource): void {
  if (resource.writeDisposition === 'merge') return;
  throw new IngestError(
    'config',
    'DISPOSITION_NOT_SUPPORTED',
    `${source}.${resource.name}: write_disposition ${resource.writeDisposition} is not supported for a resource ` +
      `whose requests depend on a parent resource (${resource.dependency?.parent ?? 'its parent'}): it is resolved ` +
      'in passes, each merged on its own, so no load holds its whole table. Set write_disposition: merge (append ' +
      'is the default when it is not set).',
    { retryable: false, details: { source, resource: resource.name } },
  );
}
