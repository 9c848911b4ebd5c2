/**
 * Staging: the records of one (load, resource) stream into UNLOGGED tables of the system schema, named in
 * `ingest.staging_tables`, until the fetch is complete and `mergeStaged` consumes them in one transaction. They
 * survive an activity retry, so a resumed fetch appends; each batch carries a sequence number, and re-sending a
 * sequence number replaces that batch instead of duplicating it (`ingest.staged_batches`).
 *
 * A batch is kept as sent: ONE text parameter, the JSON array of the records' raw texts, which the merge expands
 * with `jsonb_array_elements` straight into the target — Postgres parses each record once, and the jsonb is built
 * from the raw text, so big integers and long decimals stay exact. A narrow key row per record serves dedupe and
 * counts; a record whose raw text (md5) is the one stored is not sent at all. Records Postgres cannot store
 * (U+0000, lone surrogates: flagged by the extractor) or without their primary key go to `ingest.rejected_records`
 * with the reason; the rest still land.
 */
import { createHash, hash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ExtractedRecord } from '../http/extract/types.ts';
import { IngestError, describeError } from '../errors.ts';
import type { ResourceTable } from './resource-tables.ts';
import type { Database } from './schema.ts';
import { inTransaction } from './transaction.ts';

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
}

/** A record that will not be staged, and why. `ordinal` is its 0-based position in the batch. */
export interface RecordRejection {
  readonly ordinal: number;
  /** Stable code: an extractor issue (`nul-char`, `lone-surrogate`, `raw-control-char`), `missing-primary-key`, `invalid-primary-key`, `not-an-object` or `invalid-json`. */
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
  const staging: Staging = {
    loadId,
    target,
    tableName: stagingTableName(loadId, target.resource),
    targetWasEmpty: rows[0]?.empty === true,
  };
  const keyColumns = target.primaryKey.map((k) => sql`${sql.id(k.column)} text NOT NULL`);
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
    if (registered === undefined) return;
    // Two tables. `stage_…` holds each batch as sent: the JSON array text of the records to write (parsed by
    // the merge, once, straight into the target), their ordinals and raw-text md5s. `stage_…_keys` holds one narrow
    // row per good record — key, position, and whether its raw text is the one already stored (`unchanged`, then
    // it is not in the batch text at all): what dedupe, counts and (issue 7) deletion detection need.
    await sql`
      CREATE UNLOGGED TABLE IF NOT EXISTS ${stagingTable(staging)} (
        seq         bigint PRIMARY KEY,
        records     text NOT NULL,
        ords        integer[] NOT NULL,
        raw_hashes  uuid[] NOT NULL,
        -- UTF-8 length of each record's text: lets a repair cut the batch apart without parsing it.
        byte_lengths integer[] NOT NULL
      ) WITH (autovacuum_enabled = false)`.execute(trx);
    await sql`ALTER TABLE ${stagingTable(staging)} ALTER COLUMN records SET STORAGE EXTERNAL`.execute(trx);
    await sql`
      CREATE UNLOGGED TABLE IF NOT EXISTS ${stagingKeysTable(staging)} (
        seq         bigint NOT NULL,
        ord         integer NOT NULL,
        ${sql.join(keyColumns)},
        unchanged   boolean NOT NULL,
        superseded  boolean NOT NULL DEFAULT false
      ) WITH (autovacuum_enabled = false)`.execute(trx);
    await sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${staging.tableName}_keys_seq`)} ON ${stagingKeysTable(staging)} (seq)`.execute(
      trx,
    );
  });
  return staging;
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
  const good: StagedRecord[] = [];
  records.forEach((record, ordinal) => {
    const rejection = checkRecord(record, ordinal, staging.target);
    if (rejection === undefined) good.push(stagedRecord(record, ordinal, staging.target));
    else rejections.push(rejection);
  });
  try {
    return await writeBatch(db, staging, seq, good, rejections);
  } catch (error) {
    throw databaseError(staging, 'STAGE_FAILED', error);
  }
}

/** A record that passed the checks: its raw text, position, md5 of the raw text and (when all strings) its key. */
interface StagedRecord {
  readonly ordinal: number;
  readonly text: string;
  readonly rawHash: string;
  /** The key values when they are all strings (only those are probed: their text is exactly what SQL reads). */
  readonly key: readonly string[] | null;
  /** The record's key fields, as parsed (numbers and booleans are staged as their JSON text). */
  readonly keyValues: Readonly<Record<string, unknown>>;
}

function stagedRecord(record: ExtractedRecord, ordinal: number, target: ResourceTable): StagedRecord {
  const value = record.value as Record<string, unknown>;
  const key = target.primaryKey.map(({ field }) => value[field]);
  return {
    ordinal,
    text: record.text,
    rawHash: hash('md5', record.text, 'hex'),
    key: key.every((k): k is string => typeof k === 'string') ? key : null,
    keyValues: value,
  };
}

/**
 * Forgets every batch from `seq` on: for a fetch that restarts at an earlier position and may not reach the
 * batches it staged before (the data changed). Not needed when a retry re-sends the same batches.
 */
export async function discardStagedFrom(db: Kysely<Database>, staging: Staging, seq: number): Promise<void> {
  await inTransaction(db, async (trx) => {
    await sql`DELETE FROM ${stagingTable(staging)} WHERE seq >= ${seq}`.execute(trx);
    await sql`DELETE FROM ${stagingKeysTable(staging)} WHERE seq >= ${seq}`.execute(trx);
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
  await sql`DROP TABLE IF EXISTS ${sql.table(`ingest.${tableName}`)}, ${sql.table(`ingest.${tableName}_keys`)}`.execute(
    db,
  );
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

/**
 * Every good staged record's key, as a relation to select from: `seq, ord`, the key columns (named as in the
 * target), `unchanged` (its raw text is the one stored) and `superseded` (a later record of the same key wins;
 * valid once the merge has decided the winners). The one way for code outside staging to read staged keys — how
 * they are stored is staging's business. Give it an alias: `FROM ${stagedKeys(staging)} AS k`.
 */
export function stagedKeys(staging: Staging): RawBuilder<unknown> {
  return sql`(SELECT * FROM ${stagingKeysTable(staging)})`;
}

/** The staging table of keys (one row per good record) as an SQL identifier. */
export function stagingKeysTable(staging: Staging): RawBuilder<unknown> {
  return sql`${sql.id('ingest', `${staging.tableName}_keys`)}`;
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
  rejections: readonly RecordRejection[],
): Promise<StageOutcome> {
  const { loadId, target } = staging;
  const bytes = good.reduce((sum, record) => sum + Buffer.byteLength(record.text), 0);
  return inTransaction(db, async (trx) => {
    // No wait for the WAL flush at commit: the staged rows live in UNLOGGED tables, which a server crash empties
    // anyway (failing the attempt), so a durable commit of the batch's registry row buys nothing — and one fsync
    // per batch is measurable (843 batches for 1 M records). Asynchronous commit never breaks consistency: a crash
    // can only lose the last few batches, which the emptied staging has lost too. The merge commits durably.
    await sql`SET LOCAL synchronous_commit = off`.execute(trx);
    const registered = await sql<{ fresh: boolean }>`
      INSERT INTO ingest.staged_batches (load_id, resource, seq, records, rejected, bytes)
      VALUES (${loadId}, ${target.resource}, ${seq}, ${good.length}, ${rejections.length}, ${bytes})
      ON CONFLICT (load_id, resource, seq) DO UPDATE
        SET records = excluded.records, rejected = excluded.rejected, bytes = excluded.bytes, staged_at = now()
      RETURNING (xmax = 0) AS fresh`.execute(trx);
    const replaced = registered.rows[0]?.fresh === false;
    if (replaced) {
      await sql`DELETE FROM ${stagingTable(staging)} WHERE seq = ${seq}`.execute(trx);
      await sql`DELETE FROM ${stagingKeysTable(staging)} WHERE seq = ${seq}`.execute(trx);
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
      const unchanged = await stageKeys(trx, staging, seq, good);
      const shipped = unchanged.size === 0 ? good : good.filter((r) => !unchanged.has(r.ordinal));
      if (shipped.length > 0) {
        await sql`
          INSERT INTO ${stagingTable(staging)} (seq, records, ords, raw_hashes, byte_lengths)
          VALUES (${seq}, ${`[${shipped.map((r) => r.text).join(',')}]`},
                  ${sql.val(shipped.map((r) => r.ordinal))}::int[], ${sql.val(shipped.map((r) => r.rawHash))}::uuid[],
                  ${sql.val(shipped.map((r) => Buffer.byteLength(r.text)))}::int[])`.execute(trx);
      }
    }
    return { staged: good.length, rejected: rejections.length, replaced };
  });
}

/**
 * Stages the batch's keys in one statement, which also looks up each key's stored raw-text md5: a record whose raw
 * text is the one stored is `unchanged` and will not be sent at all — neither parsed, nor hashed, nor copied.
 * Returns the ordinals of those. (Only records whose key values are all strings are looked up: their text is
 * exactly what SQL reads.)
 */
async function stageKeys(
  trx: Kysely<Database>,
  staging: Staging,
  seq: number,
  records: readonly StagedRecord[],
): Promise<ReadonlySet<number>> {
  const { target } = staging;
  const entries = JSON.stringify(
    records.map((r) => [
      r.ordinal,
      r.key === null ? null : r.rawHash,
      ...(r.key ?? target.primaryKey.map(({ field }) => String(r.keyValues[field]))),
    ]),
  );
  const keyOf = (index: number) => sql`(p.item ->> ${sql.raw(String(index + 2))})`;
  const keyColumns = target.primaryKey.map((k) => sql.id(k.column));
  const unchanged = staging.targetWasEmpty
    ? sql`false`
    : sql`(p.item ->> 1) IS NOT NULL AND EXISTS (
        SELECT 1 FROM ${sql.id(target.schema, target.table)} AS t
        WHERE ${sql.join(
          target.primaryKey.map((k, i) => sql`t.${sql.id(k.column)} = ${keyOf(i)}`),
          sql` AND `,
        )}
          AND t._raw_hash = (p.item ->> 1)::uuid AND t._deleted_at IS NULL
      )`;
  const { rows } = await sql<{ ord: number }>`
    WITH staged AS (
      INSERT INTO ${stagingKeysTable(staging)} (seq, ord, ${sql.join(keyColumns)}, unchanged)
      SELECT ${seq}::bigint, (p.item ->> 0)::int, ${sql.join(target.primaryKey.map((_, i) => keyOf(i)))}, ${unchanged}
      FROM jsonb_array_elements(${entries}::jsonb) AS p(item)
      RETURNING ord, unchanged
    )
    SELECT ord FROM staged WHERE unchanged`.execute(trx);
  return new Set(rows.map((r) => r.ord));
}

/** Why a record cannot be staged, or undefined when it can. */
function checkRecord(
  record: ExtractedRecord,
  ordinal: number,
  target: ResourceTable,
): RecordRejection | undefined {
  const reject = (code: string, reason: string): RecordRejection => ({
    ordinal,
    code,
    reason,
    recordKey: keyText(record.value, target),
    payload: storablePayload(record.text),
  });
  const [issue] = record.issues;
  if (issue !== undefined) {
    const reasons: Record<string, string> = {
      'nul-char': 'a string holds U+0000, which Postgres text and jsonb cannot store',
      'lone-surrogate': 'a string holds a lone UTF-16 surrogate escape, which Postgres jsonb refuses',
      'raw-control-char': 'a string holds a raw control character, which strict JSON forbids',
    };
    return reject(issue, reasons[issue] ?? issue);
  }
  const value = record.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return reject('not-an-object', 'the record is not a JSON object');
  }
  for (const { field } of target.primaryKey) {
    const key = (value as Record<string, unknown>)[field];
    if (key === undefined || key === null) {
      return reject('missing-primary-key', `primary key field "${field}" is missing or null`);
    }
    if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
      return reject('invalid-primary-key', `primary key field "${field}" is not a scalar`);
    }
  }
  return undefined;
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
