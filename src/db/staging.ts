/**
 * Staging: the records of one (load, resource) stream into UNLOGGED tables of the system schema, named in
 * `ingest.staging_tables`, until the fetch is complete and `mergeStaged` consumes them in one transaction. They
 * survive an activity retry, so a resumed fetch appends; each batch carries a sequence number, and re-sending a
 * sequence number replaces that batch instead of duplicating it (`ingest.staged_batches`).
 *
 * A batch is ONE parameter, the records' raw texts (a binary `text[]`: their UTF-8 bytes, written once in Node,
 * each record's md5 taken from them), which Postgres parses and shapes
 * as it stages it — on the staging connections, while the fetch goes on: each record becomes a row of the target's
 * shape (key, typed columns, the jsonb, its canonical hash) in an UNLOGGED `…_rows` table, so the merge — one
 * transaction on one core, holding the table's lock — only copies rows, in key order; or, for a big first load into
 * a table with no row at all, a LOGGED one in the target's own shape, which the merge swaps in (`table-swap.ts`).
 * A server crash empties the UNLOGGED tables: `stagingLost` finds it out, so such a staging is never merged as the
 * whole load. The jsonb is built from the
 * raw text, so big integers and long decimals stay exact. Each good record's key, position and "unchanged" flag are
 * arrays in the batch row (dedupe, counts, deletions); a record whose raw text (md5) is the one stored is not sent
 * at all. Records Postgres cannot
 * store (U+0000, lone surrogates: flagged by the extractor; anything else Postgres refuses as jsonb) or without
 * their primary key go to `ingest.rejected_records` with the reason; the rest still land.
 */
import { createHash, hash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ExtractedRecord } from '../shared/records.ts';
import { IngestError, describeError } from '../errors.ts';
import { longEnoughToNest, maxRecordDepth, nestsDeeperThan } from './json-depth.ts';
import { primaryKeyTexts } from './key-text.ts';
import type { ResourceTable, TypedColumn } from './resource-tables.ts';
import type { Database } from './schema.ts';
import { inTransaction } from './transaction.ts';
import { swappableRows } from './table-swap.ts';
import { serverFeatures, typedValueSql, type ServerFeatures } from './typed-columns.ts';

/** The staging of one resource in one load. */
export interface Staging {
  readonly loadId: string;
  readonly target: ResourceTable;
  /** Table name in the `ingest` schema. */
  readonly tableName: string;
  /**
   * The target table had no live row when the staging was prepared: no record can be unchanged, so staging skips
   * the per-key lookup of stored raw hashes (a first load). Only a concurrent writer could make this stale, and the
   * merge still compares canonical hashes, so the worst case is a record sent whole instead of as a key.
   */
  readonly targetWasEmpty: boolean;
  /** What the server offers the typed columns' SQL (`typed-columns.ts`). */
  readonly features: ServerFeatures;
  /**
   * The rows table is LOGGED and has the target's columns, in its order (`table-swap.ts`): the target had no row at
   * all when the staging was created, so a big first load can make this table the target instead of copying it.
   */
  readonly swappable: boolean;
  /**
   * What an earlier attempt staged was lost — a server crash empties UNLOGGED tables, while the batch registry
   * (`staged_batches`) and the checkpoints, being logged, survive it — and has been discarded, as
   * `StagingOptions.restartIfLost` asked: the fetch must start again from its first page.
   */
  readonly restarted: boolean;
}

/** The staging options of an activity's dependencies (the worker's `--no-first-load-swap`). */
export function stagingOptions(deps: { readonly firstLoadSwap?: boolean | undefined }): StagingOptions {
  return deps.firstLoadSwap === undefined ? {} : { firstLoadSwap: deps.firstLoadSwap };
}

/** How to stage. */
export interface StagingOptions {
  /**
   * Build the rows table of a load into an EMPTY table so that the merge can swap it in (`table-swap.ts`) instead
   * of copying every row again. Default true; the staging then writes WAL (a logged table), which a copied first
   * load writes at the merge instead.
   */
  readonly firstLoadSwap?: boolean;
  /**
   * When an earlier attempt's staging was lost (see `Staging.restarted`), discard what is registered of it and
   * say so, for a caller that fetches the resource again from its start; otherwise (default) refuse with
   * `STAGING_LOST`, since the records would be missing from the load.
   */
  readonly restartIfLost?: boolean;
}

/** A record that will not be staged, and why. `ordinal` is its 0-based position in the batch. */
export interface RecordRejection {
  readonly ordinal: number;
  /** Stable code: an extractor issue (`nul-char`, `lone-surrogate`, `raw-control-char`), `missing-primary-key`, `invalid-primary-key`, `not-an-object`, `too-deep` or `invalid-json`. */
  readonly code: string;
  readonly reason: string;
  readonly recordKey: string | null;
  readonly payload: string;
}

/** What staging a batch did. */
export interface StageOutcome {
  readonly staged: number;
  readonly rejected: number;
  /** The sequence number had been staged before: its earlier records were replaced. */
  readonly replaced: boolean;
}

/** How the records so far stand. */
export interface StagingState {
  readonly batches: number;
  readonly records: number;
  readonly rejected: number;
  /** Highest staged sequence number, or null before the first batch. */
  readonly lastSeq: number | null;
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

/** The staging table's name for (load, resource): stable, short, and safe as an identifier. */
export function stagingTableName(loadId: string, resource: string): string {
  const digest = createHash('sha256').update(`${loadId}\u0000${resource}`).digest('hex');
  return `stage_${digest.slice(0, 24)}`;
}

/**
 * Creates (or finds, on a retry) the staging table of `target` for `loadId`. Idempotent and safe to call from
 * concurrent attempts. Call it once before `stageRecords`.
 */
export async function prepareStaging(
  db: Kysely<Database>,
  target: ResourceTable,
  loadId: string,
  options: StagingOptions = {},
): Promise<Staging> {
  // An append table (issue 7) takes every record as a new row: no record is ever "unchanged" there, so staging
  // treats it like an empty target and never probes it (it has no _deleted_at either).
  const { rows } =
    target.rowKey === 'position'
      ? { rows: [{ empty: true }] }
      : await sql<{ empty: boolean }>`
    SELECT NOT EXISTS (SELECT 1 FROM ${sql.id(target.schema, target.table)} WHERE _deleted_at IS NULL) AS empty`.execute(
          db,
        );
  const version = await sql<{ version: number }>`
    SELECT current_setting('server_version_num')::int AS version`.execute(db);
  const tableName = stagingTableName(loadId, target.resource);
  const staging: Staging = {
    loadId,
    target,
    tableName,
    targetWasEmpty: rows[0]?.empty === true,
    features: serverFeatures(version.rows[0]?.version ?? 0),
    swappable: false,
    restarted: false,
  };
  let restarted = false;
  const keyColumns = target.primaryKey.map((_, i) => sql`${keyArray(i)} text[] NOT NULL`);
  const rowColumns = [
    sql`_seq bigint NOT NULL, _ord integer NOT NULL`,
    ...target.primaryKey.map((_, i) => sql`${stagedKeyColumn(i)} text NOT NULL`),
    ...target.columns.map((c) => sql`${sql.id(c.column)} ${sql.raw(c.type)}`),
    sql`_data jsonb NOT NULL, _content_hash bigint NOT NULL, _raw_hash uuid NOT NULL`,
  ];
  await inTransaction(db, async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${staging.tableName}))`.execute(trx);
    const registered = await trx
      .insertInto('ingest.staging_tables')
      .values({
        load_id: loadId,
        resource: target.resource,
        source: target.source,
        table_name: staging.tableName,
      })
      .onConflict((oc) => oc.columns(['load_id', 'resource']).doNothing())
      .returning('table_name')
      .executeTakeFirst();
    // Registered before: the tables exist (they are created in the same transaction as the registry row). Skip
    // the DDL — `ALTER TABLE` and `CREATE INDEX IF NOT EXISTS` lock the tables even when there is nothing to do,
    // and concurrent batches writing into them (4 at once in resolveSmsMessages) then deadlock with this caller.
    if (registered === undefined) {
      await assertCurrentFormat(trx, staging);
      if (await stagingLost(trx, staging)) {
        if (options.restartIfLost !== true) throw stagingLostError(staging, false);
        await discardStagedFrom(trx, staging, 0);
        restarted = true;
      }
      return;
    }
    // Two tables. The batch table, one row per batch: for EVERY good record of the batch (the unchanged ones too),
    // its ordinal, key and whether its raw text is the one already stored — as arrays, not a row per record (a
    // narrow row and index entry per record cost about as much as the record itself). Dedupe, counts and deletion
    // detection read them through `stagedKeys`. `superseded`: ordinals a later record of the same key overrides,
    // decided by the merge. `key_hashes`: each key's 64-bit hash ({@link keyHashSql}), computed here on the staging
    // connections so the merge's test for repeated keys reads bigints instead of hashing 1 M key texts.
    // Both tables are UNLOGGED — no WAL for what the merge writes again — unless the rows table is to become the
    // target: a load into a table with no row at all stages into a table that can become it (`table-swap.ts`), and
    // both are logged then, so that a server crash keeps them consistent with each other.
    const swappable =
      options.firstLoadSwap !== false && staging.targetWasEmpty
        ? await swappableRows(trx, target)
        : undefined;
    const persistence = swappable === undefined ? sql`UNLOGGED` : sql``;
    await sql`
      CREATE ${persistence} TABLE IF NOT EXISTS ${stagingTable(staging)} (
        seq           bigint PRIMARY KEY,
        key_ords      integer[] NOT NULL,
        key_unchanged boolean[] NOT NULL,
        ${sql.join(keyColumns)},
        key_hashes    bigint[] NOT NULL,
        superseded    integer[] NOT NULL DEFAULT '{}'
      ) WITH (autovacuum_enabled = false)`.execute(trx);
    // A batch row holds ~60 KB of arrays per 1 000 records: stored out of line uncompressed, as pglz spent ≈ 1.5 % of
    // the staging's server CPU compressing them (random ids and hashes barely compress) and the merge decompressing.
    const arrays = [
      'key_ords',
      'key_unchanged',
      'key_hashes',
      ...target.primaryKey.map((_, i) => `key_${i}`),
    ];
    await sql`ALTER TABLE ${stagingTable(staging)} ${sql.join(
      arrays.map((column) => sql`ALTER COLUMN ${sql.id(column)} SET STORAGE EXTERNAL`),
    )}`.execute(trx);
    // The rows table, one row per record to write (`stagedRows`), in the target's shape: computing the typed
    // columns and the hash here, on the staging connections, takes them off the merge's single core (measured in
    // docs/loading.md). No index: the merge reads it whole, and replacing a batch (a retry) is rare.
    if (swappable === undefined) {
      await sql`
        CREATE UNLOGGED TABLE IF NOT EXISTS ${stagedRowsTable(staging)} (${sql.join(rowColumns)})
        WITH (autovacuum_enabled = false)`.execute(trx);
      // The jsonb is stored uncompressed: the target compresses what it keeps; compressing twice costs CPU.
      await sql`ALTER TABLE ${stagedRowsTable(staging)} ALTER COLUMN _data SET STORAGE EXTERNAL`.execute(trx);
    } else {
      // The table to become the target: its columns, types and storage, in its order, then `_seq`, `_ord`.
      await sql`
        CREATE TABLE IF NOT EXISTS ${stagedRowsTable(staging)} (${swappable.columns})
        WITH (autovacuum_enabled = false)`.execute(trx);
      if (swappable.storage.length > 0) {
        await sql`ALTER TABLE ${stagedRowsTable(staging)} ${sql.join(swappable.storage)}`.execute(trx);
      }
    }
  });
  // Read from the catalog, not from this call's decision: a retried attempt finds the tables an earlier one made.
  const made = await sql<{ logged: boolean }>`
    SELECT relpersistence = 'p' AS logged FROM pg_class WHERE oid = to_regclass(${`ingest.${tableName}_rows`})`.execute(
    db,
  );
  return { ...staging, swappable: made.rows[0]?.logged === true, restarted };
}

/**
 * True when the staging's batches are registered (`staged_batches`, logged) but its UNLOGGED batch table is empty:
 * a server crash emptied it (crash recovery resets every unlogged table), so what was staged before is gone. A
 * batch with good records always writes its batch row in the same transaction as its registry row, and the two are
 * removed together, so nothing else leaves this state.
 */
export async function stagingLost(db: Kysely<Database>, staging: Staging): Promise<boolean> {
  const { rows } = await sql<{ lost: boolean }>`
    SELECT c.relpersistence = 'u'
           AND NOT EXISTS (SELECT 1 FROM ${stagingTable(staging)})
           AND EXISTS (SELECT 1 FROM ingest.staged_batches
                       WHERE load_id = ${staging.loadId} AND resource = ${staging.target.resource} AND records > 0)
           AS lost
    FROM pg_class AS c WHERE c.oid = to_regclass(${`ingest.${staging.tableName}`})`.execute(db);
  return rows[0]?.lost === true;
}

/** The staging was lost (`stagingLost`): retryable where a retry can fetch again (the merge of `ingestResource`). */
export function stagingLostError(staging: Staging, retryable: boolean): IngestError {
  const { target, loadId } = staging;
  return new IngestError(
    'database',
    'STAGING_LOST',
    `What load ${loadId} staged for ${target.source}.${target.resource} is gone: a Postgres crash empties the ` +
      'unlogged staging tables. ' +
      (retryable
        ? 'The retried attempt fetches the resource again from its start.'
        : 'Start a new load of the source (the next run reconciles this one).'),
    { retryable, details: { source: target.source, resource: target.resource } },
  );
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
      return await writeBatch(db, staging, seq, good, texts, rejections, fieldCounts(good));
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
      return await writeBatch(db, staging, seq, kept, textArrayOf(kept), all, fieldCounts(kept));
    }
  } catch (error) {
    throw databaseError(staging, 'STAGE_FAILED', error);
  }
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

/** A record that passed the checks: the record, its raw text's UTF-8 bytes, position, md5 of those bytes and its key. */
interface StagedRecord {
  readonly ordinal: number;
  /** The record as extracted: its `text` is read only when something goes wrong (a refused record's payload). */
  readonly record: ExtractedRecord;
  /**
   * The raw text's UTF-8 bytes: the record's own (`ExtractedRecord.bytes`), or a view of their copy in the batch's
   * buffer.
   */
  readonly bytes: Uint8Array;
  /** md5 of the raw text's UTF-8 bytes, hex. */
  readonly rawHash: string;
  /**
   * The key's text, exactly what the merge's `value ->> field` reads (see `key-text.ts`: a number is taken from the
   * raw text and printed as Postgres prints it), so staged keys and written keys always agree.
   */
  readonly key: readonly string[];
  /** The record as parsed (its field names count for schema drift; its key fields name a rejected record). */
  readonly keyValues: Readonly<Record<string, unknown>>;
}

/** Postgres's binary array format: ndim, has-null flag, element type, then per dimension length and lower bound. */
const textOid = 25;
const int4Oid = 23;
const uuidOid = 2950;
const arrayHeaderBytes = 20;

/** Writes the header of a one-dimensional array of `count` elements of type `oid` at the start of `buffer`. */
function writeArrayHeader(buffer: Buffer, count: number, oid: number = textOid): void {
  buffer.writeInt32BE(1, 0);
  buffer.writeInt32BE(0, 4);
  buffer.writeInt32BE(oid, 8);
  buffer.writeInt32BE(count, 12);
  buffer.writeInt32BE(1, 16);
}

/**
 * `values` as a binary array parameter of a fixed-width element type `oid`: each element its length, `width`,
 * then its bytes, which `write` puts at `offset`.
 */
function fixedWidthArray<T>(
  values: readonly T[],
  oid: number,
  width: number,
  write: (array: Buffer, offset: number, value: T) => void,
): Buffer {
  const array = Buffer.allocUnsafe(arrayHeaderBytes + (4 + width) * values.length);
  writeArrayHeader(array, values.length, oid);
  let offset = arrayHeaderBytes;
  for (const value of values) {
    array.writeInt32BE(width, offset);
    write(array, offset + 4, value);
    offset += 4 + width;
  }
  return array;
}

/** `values` as a binary `int4[]` parameter. */
function int4Array(values: readonly number[]): Buffer {
  return fixedWidthArray(values, int4Oid, 4, (array, offset, value) => array.writeInt32BE(value, offset));
}

/** md5 digests (32 hex digits each) as a binary `uuid[]` parameter. */
function uuidArray(hexDigests: readonly string[]): Buffer {
  return fixedWidthArray(hexDigests, uuidOid, 16, (array, offset, digest) => {
    if (array.write(digest, offset, 16, 'hex') !== 16) throw new RangeError(`not an md5 digest: ${digest}`);
  });
}

/**
 * The accepted records as staging sends them: their raw texts' UTF-8 bytes in one buffer, a `text[]` in Postgres's
 * binary array format (each element its length, then its bytes), sent as a binary parameter — with each record's
 * md5 taken from its bytes (its own, or their copy there). A record that carries its bytes as received
 * (`ExtractedRecord.bytes`) is copied; otherwise its text is encoded, once. Measured on 200 k call records: encoding 2.9 µs a record, against 5.8 µs
 * for the md5 of each string plus joining the texts into one string that node-postgres encodes again. Postgres
 * parses each element alone (docs/loading.md: ≈ 11 % cheaper than parsing the batch as one jsonb array).
 */
function encodeRecords(accepted: readonly AcceptedRecord[]): {
  readonly records: StagedRecord[];
  readonly texts: Buffer;
} {
  const { array, starts } = textArray(accepted.map(({ record }) => record.bytes ?? record.text));
  const records = accepted.map(({ record, ordinal, key }, i): StagedRecord => {
    // A record with its bytes is hashed from them; only an encoded text needs a view of the copy. (A view for every
    // record and every key: 2 M Buffer objects per million records, ≈ 0.16 s of Node CPU for nothing.)
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
 * `values` as a binary `text[]` (Postgres's binary array format: the header, then each element's length and UTF-8
 * bytes — no quoting or escaping), written once, with where each element's bytes start (its length is the int32
 * before them). A value given as bytes is copied as it is (it must be UTF-8: `ExtractedRecord.bytes` is the text's
 * encoding).
 */
function textArray(values: readonly (string | Uint8Array)[]): {
  readonly array: Buffer;
  readonly starts: Int32Array;
} {
  let length = arrayHeaderBytes + 4 * values.length;
  for (const value of values) length += typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  const array = Buffer.allocUnsafe(length);
  writeArrayHeader(array, values.length);
  const starts = new Int32Array(values.length);
  let offset = arrayHeaderBytes;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string | Uint8Array;
    const start = offset + 4;
    let end: number;
    if (typeof value === 'string') {
      end = start + array.write(value, start, 'utf8');
    } else {
      array.set(value, start);
      end = start + value.length;
    }
    array.writeInt32BE(end - start, offset);
    starts[i] = start;
    offset = end;
  }
  return { array, starts };
}

/** The binary `text[]` of `records`' raw texts (a subset of a batch, copied out of its buffer). */
function textArrayOf(records: readonly StagedRecord[]): Buffer {
  const head = Buffer.allocUnsafe(arrayHeaderBytes);
  writeArrayHeader(head, records.length);
  const parts: Uint8Array[] = [head];
  for (const record of records) {
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(record.bytes.length);
    parts.push(size, record.bytes);
  }
  return Buffer.concat(parts);
}

/**
 * The top-level field names of a batch's good records, with how many records had each: what schema drift is
 * computed from (`drift.ts`). Only the keys of the already-parsed objects are iterated — no per-record SQL.
 */
function fieldCounts(records: readonly StagedRecord[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) {
    for (const field of Object.keys(record.keyValues)) counts.set(field, (counts.get(field) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
}

/**
 * Forgets every batch from `seq` on: for a fetch that restarts at an earlier position and may not reach the
 * batches it staged before (the data changed). Not needed when a retry re-sends the same batches.
 */
export async function discardStagedFrom(db: Kysely<Database>, staging: Staging, seq: number): Promise<void> {
  await inTransaction(db, async (trx) => {
    // The registry row's xmin marks this transaction as a write of the staging (a swap waits for every snapshot
    // older than the staging's last write: `table-swap.ts`).
    await trx
      .updateTable('ingest.staging_tables')
      .set({ table_name: staging.tableName })
      .where('load_id', '=', staging.loadId)
      .where('resource', '=', staging.target.resource)
      .execute();
    await sql`DELETE FROM ${stagingTable(staging)} WHERE seq >= ${seq}`.execute(trx);
    await sql`DELETE FROM ${stagedRowsTable(staging)} WHERE _seq >= ${seq}`.execute(trx);
    await trx
      .deleteFrom('ingest.staged_batches')
      .where('load_id', '=', staging.loadId)
      .where('resource', '=', staging.target.resource)
      .where('seq', '>=', String(seq))
      .execute();
    await trx
      .deleteFrom('ingest.rejected_records')
      .where('load_id', '=', staging.loadId)
      .where('resource', '=', staging.target.resource)
      .where('batch_seq', '>=', String(seq))
      .execute();
  });
}

/** Counts of what is staged (from the batch registry: cheap). */
export async function readStagingState(db: Kysely<Database>, staging: Staging): Promise<StagingState> {
  const row = await db
    .selectFrom('ingest.staged_batches')
    .select((eb) => [
      eb.fn.countAll<string>().as('batches'),
      eb.fn.coalesce(eb.fn.sum<string>('records'), sql<string>`0`).as('records'),
      eb.fn.coalesce(eb.fn.sum<string>('rejected'), sql<string>`0`).as('rejected'),
      eb.fn.max('seq').as('last_seq'),
    ])
    .where('load_id', '=', staging.loadId)
    .where('resource', '=', staging.target.resource)
    .executeTakeFirstOrThrow();
  return {
    batches: Number(row.batches),
    records: Number(row.records),
    rejected: Number(row.rejected),
    lastSeq: row.last_seq === null ? null : Number(row.last_seq),
  };
}

/** Drops the staging table of (load, resource) and its registry rows, if any (e.g. for an abandoned load). */
export async function dropStaging(db: Kysely<Database>, loadId: string, resource: string): Promise<void> {
  const tableName = stagingTableName(loadId, resource);
  // `…_keys`: the per-record key table of staging before the keys moved into the batch rows.
  await sql`DROP TABLE IF EXISTS ${sql.table(`ingest.${tableName}`)}, ${sql.table(`ingest.${tableName}_rows`)},
    ${sql.table(`ingest.${tableName}_keys`)}`.execute(db);
  await db
    .deleteFrom('ingest.staging_tables')
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .execute();
}

/** The staging table of batches as an SQL identifier. */
export function stagingTable(staging: Staging): RawBuilder<unknown> {
  return sql`${sql.id('ingest', staging.tableName)}`;
}

/** The staging table of shaped rows (one per record to write) as an SQL identifier. */
export function stagedRowsTable(staging: Staging): RawBuilder<unknown> {
  return sql`${sql.id('ingest', `${staging.tableName}_rows`)}`;
}

/** The column of a staged row holding the `index`-th key field's text (what `value ->> field` reads). */
export function stagedKeyColumn(index: number): RawBuilder<unknown> {
  return sql.id(`_key_${index}`);
}

/**
 * The staged rows to write, as a relation to select from, and how to read each target column from it. A row has
 * `_seq`, `_ord`, the key texts ({@link stagedKeyColumn}), the typed columns, `_data` (the record's jsonb),
 * `_content_hash` ({@link contentHashSql}) and `_raw_hash`. `withoutSuperseded` leaves out the records a later one
 * of the same key overrides (valid once the merge has decided them). A typed column the staging does not have with
 * the same type (the table was migrated between staging and merge) is computed from `_data` instead.
 * Give the relation the alias `x`.
 */
export async function stagedRows(
  db: Kysely<Database>,
  staging: Staging,
  { withoutSuperseded }: { readonly withoutSuperseded: boolean },
): Promise<{
  readonly relation: RawBuilder<unknown>;
  readonly column: (column: TypedColumn) => RawBuilder<unknown>;
}> {
  const staged = await stagingColumns(db, `${staging.tableName}_rows`);
  const filter = withoutSuperseded
    ? sql`WHERE NOT EXISTS (
        SELECT 1 FROM ${stagingTable(staging)} AS b
        WHERE b.seq = r._seq AND cardinality(b.superseded) > 0 AND r._ord = ANY (b.superseded))`
    : sql``;
  return {
    relation: sql`(SELECT r.* FROM ${stagedRowsTable(staging)} AS r ${filter})`,
    column: (c) =>
      staged.get(c.column) === formatTypes[c.type]
        ? sql.id('x', c.column)
        : typedValueSql(sql.id('x', '_data'), c, staging.features),
  };
}

/**
 * Every good staged record's key hash ({@link keyHashSql}), as a relation `(h)` to select from: the hashes staging
 * stored, or — for a staging written before it stored them (an upgrade during a load) — the keys hashed now.
 */
export async function stagedKeyHashes(db: Kysely<Database>, staging: Staging): Promise<RawBuilder<unknown>> {
  if ((await stagingColumns(db, staging.tableName)).has('key_hashes')) {
    return sql`(SELECT h FROM ${stagingTable(staging)} AS b CROSS JOIN LATERAL unnest(b.key_hashes) AS h)`;
  }
  const keys = staging.target.primaryKey.map((k) => sql.id('k', k.column));
  return sql`(SELECT ${keyHashSql(keys)} AS h FROM ${stagedKeys(staging)} AS k)`;
}

/** The columns of the staging table `ingest.<table>`, with their types as `format_type` prints them. */
async function stagingColumns(db: Kysely<Database>, table: string): Promise<ReadonlyMap<string, string>> {
  const { rows } = await sql<{ name: string; type: string }>`
    SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
    WHERE attrelid = ${`ingest.${table}`}::regclass AND attnum > 0 AND NOT attisdropped`.execute(db);
  return new Map(rows.map((row) => [row.name, row.type]));
}

/** How `format_type` prints each typed column type. */
const formatTypes: Readonly<Record<TypedColumn['type'], string>> = {
  text: 'text',
  bigint: 'bigint',
  integer: 'integer',
  numeric: 'numeric',
  'double precision': 'double precision',
  boolean: 'boolean',
  timestamptz: 'timestamp with time zone',
  date: 'date',
  jsonb: 'jsonb',
};

/**
 * A staging registered by an earlier version of the loader keeps its records in the batch rows, which this one does
 * not read: refuse it clearly (its records would otherwise be missed) instead of merging half a load.
 */
async function assertCurrentFormat(db: Kysely<Database>, staging: Staging): Promise<void> {
  const { rows } = await sql<{ present: boolean }>`
    SELECT to_regclass(${`ingest.${staging.tableName}_rows`}) IS NOT NULL AS present`.execute(db);
  if (rows[0]?.present === true) return;
  throw new IngestError(
    'database',
    'STAGING_FORMAT_CHANGED',
    `The staging of ${staging.target.source}.${staging.target.resource} in load ${staging.loadId} was written by an ` +
      'earlier version of durable-ingest, which stored records differently. Start a new load of the source (the ' +
      'next run reconciles this one and drops its staging).',
    { retryable: false, details: { source: staging.target.source, resource: staging.target.resource } },
  );
}

/**
 * Every good staged record's key, as a relation to select from: `seq, ord`, the key columns (named as in the
 * target), `unchanged` (its raw text is the one stored) and `superseded` (a later record of the same key wins;
 * valid once the merge has decided the winners). The one way for code outside staging to read staged keys — how
 * they are stored is staging's business. Give it an alias: `FROM ${stagedKeys(staging)} AS k`.
 */
export function stagedKeys(staging: Staging): RawBuilder<unknown> {
  const { primaryKey } = staging.target;
  const keys = primaryKey.map((k, i) => sql`u.${keyArray(i)} AS ${sql.id(k.column)}`);
  return sql`(
    SELECT b.seq, u.ord, ${sql.join(keys)}, u.unchanged,
           (cardinality(b.superseded) > 0 AND u.ord = ANY (b.superseded)) AS superseded
    FROM ${stagingTable(staging)} AS b
    CROSS JOIN LATERAL unnest(b.key_ords, b.key_unchanged, ${sql.join(primaryKey.map((_, i) => sql`b.${keyArray(i)}`))})
      AS u(ord, unchanged, ${sql.join(primaryKey.map((_, i) => keyArray(i)))})
  )`;
}

/**
 * The canonical content hash of a jsonb value: Postgres's 64-bit jsonb hash (the one hash indexes and hash
 * partitioning use), consistent with jsonb equality — key order and whitespace do not change it. Measured 3–4×
 * cheaper than `md5(value::text)` (docs/loading.md). It compares a record with ITS previous version only, so 64
 * bits leave a chance of about 5·10^-20 per change to miss one.
 */
export function contentHashSql(value: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`jsonb_hash_extended(${value}, 0)`;
}

async function writeBatch(
  db: Kysely<Database>,
  staging: Staging,
  seq: number,
  good: readonly StagedRecord[],
  /** The binary `text[]` of `good`'s raw texts ({@link encodeRecords}). */
  texts: Buffer,
  rejections: readonly RecordRejection[],
  fields: Readonly<Record<string, number>>,
): Promise<StageOutcome> {
  const { loadId, target } = staging;
  const bytes = good.reduce((sum, record) => sum + record.bytes.length, 0);
  return inTransaction(db, async (trx) => {
    // One statement registers the batch and, when the sequence number is new (the usual case), writes its batch
    // row: a batch of unchanged records costs three round trips (BEGIN, this, COMMIT) instead of five — measured
    // on unchanged re-loads, where staging waits on round trips more than on either side's CPU (docs/loading.md).
    // It also sets the transaction's settings (`set_config(…, true)` is `SET LOCAL`), for what follows it:
    // - no wait for the WAL flush at commit: one fsync per batch is measurable (843 batches for 1 M records), and
    //   asynchronous commit never breaks consistency — a server crash can lose only the last few batches, whole (an
    //   UNLOGGED staging loses everything anyway; a logged one, built to be swapped in, keeps every batch up to the
    //   last durable commit, and the checkpoint after a page's batches is one). The merge commits durably;
    // - typed columns read timestamps without a zone as UTC, whatever the session says;
    // - generic plans: a custom plan folds the batch's arrays into the plan as constants and copies them with it —
    //   server logs of 200 k records: the rows statement's bind 2.6 ms → 1.25 ms a batch, its execution unchanged.
    const registered = await sql<{ fresh: boolean; unchanged: string | null }>`
      WITH registered AS (
        INSERT INTO ingest.staged_batches (load_id, resource, seq, records, rejected, bytes, fields)
        SELECT ${loadId}, ${target.resource}, ${seq}, ${good.length}, ${rejections.length}, ${bytes},
               ${JSON.stringify(fields)}::jsonb
        WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL
          AND set_config('TimeZone', 'UTC', true) IS NOT NULL
          AND set_config('plan_cache_mode', 'force_generic_plan', true) IS NOT NULL
        ON CONFLICT (load_id, resource, seq) DO UPDATE
          SET records = excluded.records, rejected = excluded.rejected, bytes = excluded.bytes,
              fields = excluded.fields, staged_at = now()
        RETURNING (xmax = 0) AS fresh
      )${good.length === 0 ? sql`` : sql`, batch AS (${batchRowInsert(staging, seq, good, sql`(SELECT fresh FROM registered)`)})`}
      SELECT (SELECT fresh FROM registered) AS fresh,
             ${good.length === 0 ? sql`NULL::text` : sql`(SELECT unchanged FROM batch)`} AS unchanged`.execute(
      trx,
    );
    const replaced = registered.rows[0]?.fresh === false;
    let unchanged = unchangedOrdinals(good, registered.rows[0]?.unchanged ?? null);
    if (replaced) {
      await sql`DELETE FROM ${stagingTable(staging)} WHERE seq = ${seq}`.execute(trx);
      await sql`DELETE FROM ${stagedRowsTable(staging)} WHERE _seq = ${seq}`.execute(trx);
      await trx
        .deleteFrom('ingest.rejected_records')
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .where('batch_seq', '=', String(seq))
        .execute();
    }
    if (rejections.length > 0) {
      await trx
        .insertInto('ingest.rejected_records')
        .values(
          rejections.map((r) => ({
            load_id: loadId,
            source: target.source,
            resource: target.resource,
            batch_seq: seq,
            ordinal: r.ordinal,
            reason_code: r.code,
            reason: r.reason,
            record_key: r.recordKey,
            payload: r.payload,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['load_id', 'resource', 'batch_seq', 'ordinal']).doUpdateSet((eb) => ({
            reason_code: eb.ref('excluded.reason_code'),
            reason: eb.ref('excluded.reason'),
            record_key: eb.ref('excluded.record_key'),
            payload: eb.ref('excluded.payload'),
            rejected_at: sql`now()`,
          })),
        )
        .execute();
    }
    if (good.length > 0) {
      // A re-sent batch: its earlier rows are gone now, so its batch row is written anew.
      if (replaced) {
        const { rows } = await sql<{
          unchanged: string | null;
        }>`${batchRowInsert(staging, seq, good, sql`true`)}`.execute(trx);
        unchanged = unchangedOrdinals(good, rows[0]?.unchanged ?? null);
      }
      const shipped = unchanged.size === 0 ? good : good.filter((r) => !unchanged.has(r.ordinal));
      // Unchanged records are not sent: the others' texts are copied out of the batch's buffer (a re-load).
      if (shipped.length > 0) {
        await insertRows(
          trx,
          staging,
          seq,
          shipped,
          shipped.length === good.length ? texts : textArrayOf(shipped),
        );
      }
    }
    return { staged: good.length, rejected: rejections.length, replaced };
  });
}

/**
 * Writes the shipped records of a batch as rows of the target's shape: ONE statement parses each raw text into jsonb
 * (numbers stay exact) and computes each row's key texts (`->>`, exactly
 * what the merge compares), typed columns (guarded casts: a value that does not fit is NULL, never an error) and
 * canonical hash. Only a record Postgres refuses as jsonb fails it (see `stageRecords`).
 */
async function insertRows(
  trx: Kysely<Database>,
  staging: Staging,
  seq: number,
  shipped: readonly StagedRecord[],
  /** The binary `text[]` of `shipped`'s raw texts. */
  texts: Buffer,
): Promise<void> {
  const { target } = staging;
  const value = sql`e.value`;
  await sql`
    INSERT INTO ${stagedRowsTable(staging)} (${sql.join([
      sql`_seq, _ord`,
      ...target.primaryKey.map((_, i) => stagedKeyColumn(i)),
      ...target.columns.map((c) => sql.id(c.column)),
      sql`_data, _content_hash, _raw_hash`,
    ])})
    SELECT ${sql.join([
      sql`${seq}::bigint, e.ord`,
      ...target.primaryKey.map((k) => sql`${value} ->> ${k.field}`),
      ...target.columns.map((c) => typedValueSql(value, c, staging.features)),
      sql`${value}, ${contentHashSql(value)}, e.raw_hash`,
    ])}
    FROM (
      -- Each record parsed once (OFFSET 0 keeps the planner from repeating the cast in every column's expression).
      SELECT r.text::jsonb AS value, r.ord, r.raw_hash
      FROM ROWS FROM (
        unnest(${texts}::text[]),
        unnest(${int4Array(shipped.map((r) => r.ordinal))}::int[]),
        unnest(${uuidArray(shipped.map((r) => r.rawHash))}::uuid[])
      ) AS r(text, ord, raw_hash)
      OFFSET 0
    ) AS e`.execute(trx);
}

/**
 * The statement that writes the batch row — every good record's ordinal, key, key hash and whether it is unchanged —
 * when `when` holds, and returns which records are unchanged (`unchangedOrdinals`): a record is unchanged when its
 * key is live in the table with the same raw-text md5, so it will not be sent at all — neither parsed, nor hashed,
 * nor copied. (Every record's key text is exactly what SQL reads — `key-text.ts` — so every record is looked up.)
 * A first load (the table was empty) looks nothing up. Looking up and writing in one statement sends the keys once
 * and saves a round trip a batch.
 */
function batchRowInsert(
  staging: Staging,
  seq: number,
  good: readonly StagedRecord[],
  when: RawBuilder<unknown>,
): RawBuilder<{ unchanged: string | null }> {
  const { target } = staging;
  const arrays = target.primaryKey.map((_, i) => keyArray(i));
  const parts = target.primaryKey.map((_, i) => sql.id('u', `a${i}`));
  const names = sql.join(parts.map((_, i) => sql.id(`a${i}`)));
  const keyArrays = sql.join(arrays.map((a) => sql`k.${a}`));
  const unchanged = staging.targetWasEmpty
    ? sql`array_fill(false, ARRAY[${good.length}::int])`
    : sql`ARRAY(
        SELECT EXISTS (
          SELECT 1 FROM ${sql.id(target.schema, target.table)} AS t
          WHERE ${sql.join(
            target.primaryKey.map((key, i) => sql`t.${sql.id(key.column)} = ${parts[i]}`),
            sql` AND `,
          )} AND t._raw_hash = u.raw_hash AND t._deleted_at IS NULL)
        FROM unnest(${keyArrays}, k.raw_hashes) WITH ORDINALITY AS u(${names}, raw_hash, n)
        ORDER BY u.n)`;
  const rawHashes = staging.targetWasEmpty
    ? sql``
    : sql`, ${uuidArray(good.map((r) => r.rawHash))}::uuid[] AS raw_hashes`;
  // The flags come back as one text, a `t` or `f` per record in order — and only when some record is unchanged
  // (never on a first load): an int[] of ordinals cost Node a parse per element.
  return sql<{ unchanged: string | null }>`
    INSERT INTO ${stagingTable(staging)} (seq, key_ords, key_unchanged, ${sql.join(arrays)}, key_hashes)
    SELECT ${seq}::bigint, ${int4Array(good.map((r) => r.ordinal))}::int[], ${unchanged}, ${keyArrays},
           ARRAY(SELECT ${keyHashSql(parts)} FROM unnest(${keyArrays}) WITH ORDINALITY AS u(${names}, n) ORDER BY u.n)
    FROM (SELECT ${sql.join(
      target.primaryKey.map((_, i) => sql`${textListOf(good.map((r) => r.key[i] ?? ''))} AS ${keyArray(i)}`),
    )}${rawHashes}) AS k
    WHERE ${when}
    RETURNING CASE WHEN true = ANY (key_unchanged) THEN array_to_string(key_unchanged, '') END AS unchanged`;
}

/** The ordinals of `good` whose flag in `flags` (`batchRowInsert`'s text: `t` or `f` per record) is `t`. */
function unchangedOrdinals(good: readonly StagedRecord[], flags: string | null): ReadonlySet<number> {
  const unchanged = new Set<number>();
  if (flags === null) return unchanged;
  if (flags.length !== good.length)
    throw new Error(`staging: ${flags.length} flags for ${good.length} records`);
  for (let i = 0; i < good.length; i++) {
    if (flags.charCodeAt(i) === 0x74) unchanged.add((good[i] as StagedRecord).ordinal);
  }
  return unchanged;
}

/** An array parameter of any texts, as a binary `text[]` ({@link textArray}). Measured on the batch row's keys: see docs/loading.md. */
function textListOf(values: readonly string[]): RawBuilder<unknown> {
  return sql`${textArray(values).array}::text[]`;
}

/**
 * The 64-bit hash of a key, from its parts' texts (what `->>` reads): staging stores it per record
 * (`key_hashes`), and the merge tests whether any hash repeats before it counts keys exactly. Two keys may share a
 * hash; equal keys always do, so a test that finds no repeated hash proves there is no repeated key.
 */
function keyHashSql(parts: readonly RawBuilder<unknown>[]): RawBuilder<string> {
  return parts.length === 1
    ? sql<string>`hashtextextended(${parts[0]}, 0)`
    : sql<string>`hashtextextended(concat_ws(chr(31), ${sql.join(parts)}), 0)`;
}

/** The staged array of the `index`-th key column's values. */
export function keyArray(index: number): RawBuilder<unknown> {
  return sql.id(`key_${index}`);
}

/** Why a record cannot be staged, or its key text when it can. */
function checkRecord(
  record: ExtractedRecord,
  ordinal: number,
  target: ResourceTable,
  fields: readonly string[],
):
  | { readonly ok: true; readonly key: readonly string[] }
  | { readonly ok: false; readonly rejection: RecordRejection } {
  // Called for every record: no closure or array is made on the way of a good record with string keys.
  const [issue] = record.issues;
  if (issue !== undefined) return reject(record, ordinal, target, issue, issueReasons[issue] ?? issue);
  const value = record.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return reject(record, ordinal, target, 'not-an-object', 'the record is not a JSON object');
  }
  let allStrings = true;
  for (const field of fields) {
    const key = (value as Record<string, unknown>)[field];
    if (key === undefined || key === null) {
      return reject(
        record,
        ordinal,
        target,
        'missing-primary-key',
        `primary key field "${field}" is missing or null`,
      );
    }
    if (typeof key !== 'string') {
      allStrings = false;
      if (typeof key !== 'number' && typeof key !== 'boolean') {
        return reject(
          record,
          ordinal,
          target,
          'invalid-primary-key',
          `primary key field "${field}" is not a scalar`,
        );
      }
    }
  }
  // A record whose bytes are too few to nest that deep is not even decoded.
  if (
    (record.bytes === undefined || longEnoughToNest(record.bytes.length, maxRecordDepth)) &&
    nestsDeeperThan(record.text, maxRecordDepth)
  ) {
    return reject(
      record,
      ordinal,
      target,
      'too-deep',
      `the record nests arrays and objects deeper than ${maxRecordDepth} levels, which Postgres jsonb may refuse`,
    );
  }
  // A string key is its own text; numbers (and booleans) are read from the raw text (key-text.ts).
  if (allStrings && fields.length === 1) {
    return { ok: true, key: [(value as Record<string, string>)[fields[0] as string] as string] };
  }
  const texts = primaryKeyTexts(value as Record<string, unknown>, record.text, fields);
  const key: string[] = [];
  for (const text of texts) {
    if (!text.ok) return reject(record, ordinal, target, text.code, text.reason);
    key.push(text.text);
  }
  return { ok: true, key };
}

const issueReasons: Readonly<Record<string, string>> = {
  'nul-char': 'a string holds U+0000, which Postgres text and jsonb cannot store',
  'lone-surrogate': 'a string holds a lone UTF-16 surrogate escape, which Postgres jsonb refuses',
  'raw-control-char': 'a string holds a raw control character, which strict JSON forbids',
};

function reject(
  record: ExtractedRecord,
  ordinal: number,
  target: ResourceTable,
  code: string,
  reason: string,
): { readonly ok: false; readonly rejection: RecordRejection } {
  return {
    ok: false,
    rejection: {
      ordinal,
      code,
      reason,
      recordKey: keyText(record.value, target),
      payload: storablePayload(record.text),
    },
  };
}

function keyText(value: unknown, target: ResourceTable): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const parts = target.primaryKey.map(({ field }) => (value as Record<string, unknown>)[field]);
  if (parts.every((p) => p === undefined || p === null)) return null;
  return storablePayload(JSON.stringify(parts.length === 1 ? parts[0] : parts) ?? 'null');
}

/** Postgres text cannot hold U+0000: a raw NUL (only in an invalid record) is written as its JSON escape. */
function storablePayload(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}

function databaseError(staging: Staging, code: string, error: unknown): IngestError {
  return new IngestError(
    'database',
    code,
    `Staging ${staging.target.source}.${staging.target.resource} (load ${staging.loadId}) failed: ${describeError(error)}`,
    { cause: error, details: { source: staging.target.source, resource: staging.target.resource } },
  );
}
