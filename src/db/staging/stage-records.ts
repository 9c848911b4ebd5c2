/**
 * Staging a batch: the records of one (load, resource) stream into the staging tables (`registry.ts`) until the
 * fetch is complete and the merge consumes them in one transaction. They survive an activity retry, so a resumed
 * fetch appends; each batch carries a sequence number (`batchSeq`), and re-sending a sequence number replaces that
 * batch instead of duplicating it.
 *
 * Each record is checked in Node from its bytes (`record-checks.ts`: its key text, field names and depth), never
 * decoded or parsed, and its md5 is taken from them. The good ones go as ONE parameter: a binary `text[]`
 * (`binary-arrays.ts`) of their UTF-8 bytes, written once — on a re-load, of only the records not found unchanged.
 * Postgres parses and shapes them as it stages them (`write-batch.ts`), on the staging connections while the fetch
 * goes on, so the merge, one transaction on one core holding the table's lock, only copies rows. The jsonb is built
 * from the raw text, so big integers and long decimals stay exact. Postgres is also what proves a record JSON: a
 * record it refuses is parsed in Node, and one that is not JSON fails the load with the extraction's error, as a
 * malformed body does. Records Postgres cannot store (U+0000, lone surrogates: flagged by the extractor; raw
 * control characters: found by parsing; anything else Postgres refuses as jsonb) or without their primary key go to
 * `ingest.rejected_records` with the reason; the rest still land.
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ExtractedRecord } from '../../shared/records.ts';
import { IngestError, describeError } from '../../errors.ts';
import type { Database } from '../schema.ts';
import { TopLevelScanner } from '../tables/record-top-level.ts';
import { textArray } from './binary-arrays.ts';
import { checkRecord, classify, type RecordRejection } from './record-checks.ts';
import type { Staging } from './registry.ts';
import { writeBatch, type StagedRecord } from './write-batch.ts';

/** What staging a batch did. */
export interface StageOutcome {
  readonly staged: number;
  readonly rejected: number;
  /** The sequence number had been staged before: its earlier records were replaced. */
  readonly replaced: boolean;
}

/**
 * Sequence numbers must be deterministic for a position in the fetch (so a retry re-sends the same numbers):
 * `batchSeq(page, part)` numbers part `part` (< 2^20) of page `page`.
 */
export function batchSeq(page: number, part: number): number {
  if (!Number.isSafeInteger(page) || page < 0 || !Number.isInteger(part) || part < 0 || part >= 2 ** 20) {
    throw new RangeError(`batchSeq: page ${page}, part ${part} out of range`);
  }
  return page * 2 ** 20 + part;
}

/**
 * Stages one batch (`seq`: see {@link batchSeq}). Re-sending a `seq` replaces what it staged before, in one
 * transaction, so a retried page never duplicates. Bad records are rejected, not thrown; the good ones are staged.
 */
export async function stageRecords(
  db: Kysely<Database>,
  staging: Staging,
  seq: number,
  records: readonly ExtractedRecord[],
): Promise<StageOutcome> {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`stageRecords: bad sequence number ${seq}`);
  const { target } = staging;
  const rejections: RecordRejection[] = [];
  const good: StagedRecord[] = [];
  const scanner = new TopLevelScanner(target.primaryKey.map((k) => k.field));
  for (let ordinal = 0; ordinal < records.length; ordinal++) {
    const record = records[ordinal] as ExtractedRecord;
    const bytes = bytesOf(record);
    const checked = checkRecord(record, bytes, ordinal, target, scanner);
    if (!checked.ok) rejections.push(checked.rejection);
    else
      good.push({
        ordinal,
        record,
        bytes,
        rawHash: hash('md5', bytes, 'hex'),
        key: checked.key,
        layout: checked.layout,
      });
  }
  let refused: ReadonlySet<number>;
  try {
    return await stageBatch(db, staging, seq, good, rejections);
  } catch (error) {
    // Postgres refused a record the checks let through (one that is not JSON, or a number beyond numeric's range):
    // the batch's transaction rolled back whole. Find the refused records, and stage the batch without them.
    if (!isDataError(error)) throw databaseError(staging, 'STAGE_FAILED', error);
    refused = await refusedAsJsonb(db, good).catch((cause: unknown) => {
      throw databaseError(staging, 'STAGE_FAILED', cause);
    });
    if (refused.size === 0) throw databaseError(staging, 'STAGE_FAILED', error);
  }
  // A refused record is parsed: one that is not JSON fails the load with the extraction's error (not wrapped: it is
  // the body's fault, not the database's); the others are rejected.
  const more = good
    .filter((r) => refused.has(r.ordinal))
    .map(
      (r) =>
        classify(r.record, r.ordinal, target, 'invalid-json', 'Postgres refused the record as jsonb')
          .rejection,
    );
  const kept = good.filter((r) => !refused.has(r.ordinal));
  const all = [...rejections, ...more].sort((a, b) => a.ordinal - b.ordinal);
  try {
    return await stageBatch(db, staging, seq, kept, all);
  } catch (error) {
    throw databaseError(staging, 'STAGE_FAILED', error);
  }
}

/** A record's UTF-8 bytes: as received, or its text encoded (a record that was built, not cut from a body). */
function bytesOf(record: ExtractedRecord): Buffer {
  const { bytes } = record;
  if (bytes === undefined) return Buffer.from(record.text);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Writes the batch (`write-batch.ts`) and says what it staged. */
async function stageBatch(
  db: Kysely<Database>,
  staging: Staging,
  seq: number,
  good: readonly StagedRecord[],
  rejections: readonly RecordRejection[],
): Promise<StageOutcome> {
  const { replaced } = await writeBatch(db, staging, seq, good, rejections, fieldCounts(good));
  return { staged: good.length, rejected: rejections.length, replaced };
}

/**
 * The ordinals of the records whose bytes Postgres does not accept as jsonb (one statement, soft errors only). The
 * bytes are UTF-8 (`ExtractedRecord.bytes` is a text's encoding; the extractor checked the body's), as the `text[]`
 * parameter must be.
 */
async function refusedAsJsonb(
  db: Kysely<Database>,
  records: readonly StagedRecord[],
): Promise<ReadonlySet<number>> {
  const { rows } = await sql<{ i: number }>`
    SELECT (e.n - 1)::int AS i
    FROM unnest(${textArray(records.map((r) => r.bytes))}::text[]) WITH ORDINALITY AS e(t, n)
    WHERE NOT ingest.input_is_valid(e.t, 'jsonb')`.execute(db);
  return new Set(rows.map((row) => records[row.i]?.ordinal ?? -1));
}

/** Errors caused by a value (class 22: data exception; 54001: too deeply nested), not by the database. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code === '54001');
}

/**
 * The top-level field names of a batch's good records, with how many records had each: what schema drift is
 * computed from (`merge/drift.ts`). Records share their field layouts (`tables/record-top-level.ts`), so each run
 * of records with the same layout is counted at once — no string per field per record, no per-record SQL.
 */
function fieldCounts(records: readonly StagedRecord[]): Record<string, number> {
  const counts = new Map<string, number>();
  let i = 0;
  while (i < records.length) {
    const layout = (records[i] as StagedRecord).layout;
    let run = 1;
    while (i + run < records.length && (records[i + run] as StagedRecord).layout === layout) run++;
    for (const field of layout.distinct) counts.set(field, (counts.get(field) ?? 0) + run);
    i += run;
  }
  return Object.fromEntries(counts);
}

function databaseError(staging: Staging, code: string, error: unknown): IngestError {
  return new IngestError(
    'database',
    code,
    `Staging ${staging.target.source}.${staging.target.resource} (load ${staging.loadId}) failed: ${describeError(error)}`,
    { cause: error, details: { source: staging.target.source, resource: staging.target.resource } },
  );
}
