/** Small builders shared by the loader tests: extracted records, a started load, row versions. */
import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import type { ExtractedRecord, RecordIssue } from '../../src/shared/records.ts';
import { startLoad, startResourceRun } from '../../src/db/ledger/ledger.ts';
import type { ResourceTable } from '../../src/db/tables/resource-tables.ts';
import type { Database } from '../../src/db/schema.ts';
import { prepareStaging } from '../../src/db/staging/prepare.ts';
import type { Staging } from '../../src/db/staging/registry.ts';
import { stageRecords } from '../../src/db/staging/stage-records.ts';

/** A record as the extractor yields it; `text` defaults to `JSON.stringify(value)`. */
export function extracted(
  value: unknown,
  text?: string,
  issues: readonly RecordIssue[] = [],
): ExtractedRecord {
  return { value, text: text ?? JSON.stringify(value), issues };
}

/** A call record with the given id (and optional overrides). */
export function callRecord(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    uri: `https://api.example.com/v1/user_call_records/${id}`,
    sessionId: `s-${id}`,
    startTime: '2024-07-19T10:21:02.000Z',
    duration: 61,
    type: 'Voice',
    direction: 'Inbound',
    from: { name: 'Ada', phoneNumber: '+15550001' },
    to: { phoneNumber: '+15550002', location: 'Austin, TX' },
    message: null,
    ...overrides,
  };
}

/** Starts a load and a resource run for it (the merge records its counts there). */
export async function startRun(
  db: Kysely<Database>,
  loadId: string,
  source: string,
  resource: string,
): Promise<void> {
  await startLoad(db, { loadId, source });
  await startResourceRun(db, { loadId, source, resource });
}

/** Row versions written by transactions after `since` (a txid from {@link currentTxid}), counted by `xmin`. */
export async function rowsWrittenSince(db: Kysely<Database>, table: string, since: bigint): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM ${sql.table(table)} WHERE xmin::text::bigint > ${String(since % 2n ** 32n)}`.execute(
    db,
  );
  return Number(rows[0]?.n ?? 0);
}

/** The current transaction id (for {@link rowsWrittenSince}). */
export async function currentTxid(db: Kysely<Database>): Promise<bigint> {
  const { rows } = await sql<{ id: string }>`SELECT txid_current()::text AS id`.execute(db);
  return BigInt(rows[0]?.id ?? '0');
}

/** A record of the property tests' models: a call record whose `duration` is the value, maybe with its keys reversed. */
export interface ModelRecord {
  readonly key: string;
  readonly value: number;
  readonly reordered: boolean;
}

/** The extracted record of a {@link ModelRecord} (another key order, same content, when `reordered`). */
export function recordOf(r: ModelRecord): ExtractedRecord {
  const value = callRecord(r.key, { duration: r.value });
  const text = JSON.stringify(r.reordered ? Object.fromEntries(Object.entries(value).reverse()) : value);
  return extracted(JSON.parse(text), text);
}

/** The property tests' model records: one of six keys, a value in `0..maxValue`, maybe with reordered keys. */
export function modelRecords(maxValue: number): fc.Arbitrary<ModelRecord> {
  return fc.record({
    key: fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5'),
    value: fc.integer({ min: 0, max: maxValue }),
    reordered: fc.boolean(),
  });
}

/** After staging `after` batches the activity "dies"; the retry re-sends from `resendFrom` (≤ it) on. */
export interface StagingRetry {
  readonly after: number;
  readonly resendFrom: number;
}

/** No retry, or a retry after any number of a load's `batchCount` batches. */
export function stagingRetries(batchCount: number): fc.Arbitrary<StagingRetry | null> {
  return fc.option(
    fc
      .integer({ min: 0, max: batchCount })
      .chain((after) =>
        fc.record({ after: fc.constant(after), resendFrom: fc.integer({ min: 0, max: after }) }),
      ),
    { nil: null },
  );
}

/**
 * Stages the batches of one load (seq = index) as an activity would, dying after `retry.after` batches and
 * re-sending from `retry.resendFrom` after preparing the staging again. Returns the staging to merge.
 */
export async function stageWithRetry(
  db: Kysely<Database>,
  table: ResourceTable,
  loadId: string,
  batches: readonly (readonly ModelRecord[])[],
  retry: StagingRetry | null,
): Promise<Staging> {
  let staging = await prepareStaging(db, table, loadId);
  const firstAttempt = retry === null ? batches.length : retry.after;
  for (let seq = 0; seq < firstAttempt; seq += 1) {
    await stageRecords(db, staging, seq, (batches[seq] ?? []).map(recordOf));
  }
  if (retry !== null) {
    staging = await prepareStaging(db, table, loadId);
    for (let seq = retry.resendFrom; seq < batches.length; seq += 1) {
      await stageRecords(db, staging, seq, (batches[seq] ?? []).map(recordOf));
    }
  }
  return staging;
}
