/**
 * Staging a batch: the records of one (load, resource) stream into the staging tables (`registry.ts`) until the
 * fetch is complete and the merge consumes them in one transaction. They survive an activity retry, so a resumed
 * fetch appends; each batch carries a sequence number (`batchSeq`), and re-sending a sequence number replaces that
 * batch instead of duplicating it.
 *
 * Each record is checked in Node (`record-checks.ts`); the good ones go as ONE parameter, their raw texts (a binary
 * `text[]`, `binary-arrays.ts`: their UTF-8 bytes written once, each record's md5 taken from them), which Postgres
 * parses and shapes as it stages them (`write-batch.ts`) — on the staging connections, while the fetch goes on — so
 * the merge, one transaction on one core holding the table's lock, only copies rows. The jsonb is built from the raw
 * text, so big integers and long decimals stay exact. Records Postgres cannot store (U+0000, lone surrogates: flagged
 * by the extractor; anything else Postgres refuses as jsonb) or without their primary key go to
 * `ingest.rejected_records` with the reason; the rest still land.
 */
import { hash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ExtractedRecord } from '../../shared/records.ts';
import { IngestError, describeError } from '../../errors.ts';
import type { Database } from '../schema.ts';
import { textArray, textArrayOfBytes } from './binary-arrays.ts';
import { checkRecord, keyText, storablePayload, type RecordRejection } from './record-checks.ts';
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
  const rejections: RecordRejection[] = [];
  const accepted: AcceptedRecord[] = [];
  const fields = staging.target.primaryKey.map((k) => k.field);
  for (let ordinal = 0; ordinal < records.length; ordinal++) {
    const record = records[ordinal] as ExtractedRecord;
    const checked = checkRecord(record, ordinal, staging.target, fields);
    if (checked.ok) accepted.push({ record, ordinal, key: checked.key });
    else rejections.push(checked.rejection);
  }
  const { records: good, texts } = encodeRecords(accepted);
  try {
    try {
      return await stageBatch(db, staging, seq, good, texts, rejections);
    } catch (error) {
      // Postgres refused a record the checks let through (a number beyond numeric's range, say): the batch's
      // transaction rolled back whole. Find the refused records, reject them, and stage the batch without them.
      if (!isDataError(error)) throw error;
      const refused = await refusedAsJsonb(db, good);
      if (refused.size === 0) throw error;
      const kept = good.filter((r) => !refused.has(r.ordinal));
      const more = good
        .filter((r) => refused.has(r.ordinal))
        .map((r) => ({
          ordinal: r.ordinal,
          code: 'invalid-json',
          reason: 'Postgres refused the record as jsonb',
          recordKey: keyText(r.keyValues, staging.target),
          payload: storablePayload(r.record.text),
        }));
      const all = [...rejections, ...more].sort((a, b) => a.ordinal - b.ordinal);
      const keptTexts = textArrayOfBytes(kept.map((r) => r.bytes));
      return await stageBatch(db, staging, seq, kept, keptTexts, all);
    }
  } catch (error) {
    throw databaseError(staging, 'STAGE_FAILED', error);
  }
}

/** Writes the batch (`write-batch.ts`) and says what it staged. */
async function stageBatch(
  db: Kysely<Database>,
  staging: Staging,
  seq: number,
  good: readonly StagedRecord[],
  texts: Buffer,
  rejections: readonly RecordRejection[],
): Promise<StageOutcome> {
  const { replaced } = await writeBatch(db, staging, seq, good, texts, rejections, fieldCounts(good));
  return { staged: good.length, rejected: rejections.length, replaced };
}

/** The ordinals of the records whose text Postgres does not accept as jsonb (one statement, soft errors only). */
async function refusedAsJsonb(
  db: Kysely<Database>,
  records: readonly StagedRecord[],
): Promise<ReadonlySet<number>> {
  const { rows } = await sql<{ i: number }>`
    SELECT (e.n - 1)::int AS i
    FROM json_array_elements_text(${JSON.stringify(records.map((r) => r.record.text))}::json) WITH ORDINALITY AS e(t, n)
    WHERE NOT ingest.input_is_valid(e.t, 'jsonb')`.execute(db);
  return new Set(rows.map((row) => records[row.i]?.ordinal ?? -1));
}

/** Errors caused by a value (class 22: data exception; 54001: too deeply nested), not by the database. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code === '54001');
}

/** A record that passed the checks, with its position and key text. */
interface AcceptedRecord {
  readonly record: ExtractedRecord;
  readonly ordinal: number;
  readonly key: readonly string[];
}

/**
 * The accepted records as staging sends them: their raw texts' UTF-8 bytes in one buffer, a binary `text[]`
 * (`binary-arrays.ts`) — with each record's md5 taken from its bytes (its own, or their copy there). A record that
 * carries its bytes as received (`ExtractedRecord.bytes`) is copied; otherwise its text is encoded, once: neither the
 * md5 of a string nor a joined text that node-postgres would encode again. Postgres parses each element on its own,
 * which is cheaper than parsing the batch as one jsonb array (docs/loading.md).
 */
function encodeRecords(accepted: readonly AcceptedRecord[]): {
  readonly records: StagedRecord[];
  readonly texts: Buffer;
} {
  const { array, starts } = textArray(accepted.map(({ record }) => record.bytes ?? record.text));
  const records = accepted.map(({ record, ordinal, key }, i): StagedRecord => {
    // A record with its bytes is hashed from them; only an encoded text needs a view of the copy (a view for every
    // record would be a Buffer object per record for nothing).
    const start = starts[i] as number;
    const bytes = record.bytes ?? array.subarray(start, start + array.readInt32BE(start - 4));
    return {
      ordinal,
      record,
      bytes,
      rawHash: hash('md5', bytes, 'hex'),
      key,
      keyValues: record.value as Record<string, unknown>,
    };
  });
  return { records, texts: array };
}

/**
 * The top-level field names of a batch's good records, with how many records had each: what schema drift is
 * computed from (`merge/drift.ts`). Only the keys of the already-parsed objects are iterated — no per-record SQL.
 */
function fieldCounts(records: readonly StagedRecord[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) {
    for (const field of Object.keys(record.keyValues)) counts.set(field, (counts.get(field) ?? 0) + 1);
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
