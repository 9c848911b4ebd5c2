/**
 * The SQL of one staged batch, in one transaction: register it (`ingest.staged_batches`; a re-sent sequence number
 * replaces what it staged before), write its batch row (every good record's ordinal, key, key hash and whether its
 * raw text is the stored one) and its rejections, and shape the records that changed into rows of the target
 * (`…_rows`). Records whose raw text is the one stored are not sent at all.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ExtractedRecord } from '../../shared/records.ts';
import type { Database } from '../schema.ts';
import { typedValueSql } from '../tables/typed-columns.ts';
import { inTransaction } from '../transaction.ts';
import type { FieldLayout } from '../tables/record-top-level.ts';
import { int4Array, textArray, uuidArray } from './binary-arrays.ts';
import type { RecordRejection } from './record-checks.ts';
import { keyArray, stagedKeyColumn, stagedRowsTable, stagingTable, type Staging } from './registry.ts';

/** A record that passed the checks: the record, its raw text's UTF-8 bytes, position, md5 of those bytes and key. */
export interface StagedRecord {
  readonly ordinal: number;
  /** The record as extracted: its `text` is read only when something goes wrong (a refused record's payload). */
  readonly record: ExtractedRecord;
  /** The raw text's UTF-8 bytes: the record's own (`ExtractedRecord.bytes`), or its text encoded. */
  readonly bytes: Uint8Array;
  /** md5 of the raw text's UTF-8 bytes, hex. */
  readonly rawHash: string;
  /**
   * The key's text, exactly what the merge's `value ->> field` reads (see `tables/key-text.ts`: a number is taken from the
   * raw text and printed as Postgres prints it), so staged keys and written keys always agree.
   */
  readonly key: readonly string[];
  /** Its top-level field names (they count for schema drift). */
  readonly layout: FieldLayout;
}

/**
 * Stages one batch in one transaction (see the module comment): `good` are the records that passed the checks,
 * `fields` their top-level field counts (for schema drift).
 * `replaced`: the sequence number had been staged before, and its earlier records were replaced.
 */
export async function writeBatch(
  db: Kysely<Database>,
  staging: Staging,
  seq: number,
  good: readonly StagedRecord[],
  rejections: readonly RecordRejection[],
  fields: Readonly<Record<string, number>>,
): Promise<{ readonly replaced: boolean }> {
  const { loadId, target } = staging;
  const bytes = good.reduce((sum, record) => sum + record.bytes.length, 0);
  // A first load ships every record: its binary `text[]` is built at once. A re-load builds it after the lookup,
  // of the records not found unchanged — none, on an unchanged re-load.
  const texts = staging.targetWasEmpty ? textArrayOf(good) : undefined;
  return inTransaction(db, async (trx) => {
    // One statement registers the batch and, when the sequence number is new (the usual case), writes its batch
    // row: staging an unchanged re-load waits on round trips more than on either side's CPU (docs/loading.md).
    const registered = await sql<{ fresh: boolean; unchanged: string | null }>`
      WITH registered AS (
        INSERT INTO ingest.staged_batches (load_id, resource, seq, records, rejected, bytes, fields)
        VALUES (${loadId}, ${target.resource}, ${seq}, ${good.length}, ${rejections.length}, ${bytes},
                ${JSON.stringify(fields)}::jsonb)
        ON CONFLICT (load_id, resource, seq) DO UPDATE
          SET records = excluded.records, rejected = excluded.rejected, bytes = excluded.bytes,
              fields = excluded.fields, staged_at = now()
        RETURNING (xmax = 0) AS fresh
      )${good.length === 0 ? sql`` : sql`, batch AS (${batchRowInsert(staging, seq, good, sql`(SELECT fresh FROM registered)`)})`}
      SELECT (SELECT fresh FROM registered) AS fresh,
             ${good.length === 0 ? sql`NULL::text` : sql`(SELECT unchanged FROM batch)`} AS unchanged`.execute(
      trx,
    );
    // The transaction's settings, in one statement (`set_config(…, true)` is `SET LOCAL`: they end with the
    // transaction). Set after the statement above, which reads no timestamp and keeps a plan custom-made for its
    // batch; they hold for everything that follows:
    // - no wait for the WAL flush at commit: one fsync per batch adds up over a load's many batches, and
    //   asynchronous commit never breaks consistency — a server crash can lose only the last few batches, whole (an
    //   UNLOGGED staging loses everything anyway; a logged one, built to be swapped in, keeps every batch up to the
    //   last durable commit, and the checkpoint after a page's batches is one). The merge commits durably;
    // - typed columns read timestamps without a zone as UTC, whatever the session says;
    // - generic plans: a custom plan folds the batch's arrays into the plan as constants and copies them with it,
    //   which makes binding the rows statement cost more than its execution needs.
    await sql`
      SELECT set_config('synchronous_commit', 'off', true), set_config('TimeZone', 'UTC', true),
             set_config('plan_cache_mode', 'force_generic_plan', true)`.execute(trx);
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
      // Unchanged records are not sent: their bytes are not even copied.
      if (shipped.length > 0) {
        await insertRows(
          trx,
          staging,
          seq,
          shipped,
          shipped === good && texts !== undefined ? texts : textArrayOf(shipped),
        );
      }
    }
    return { replaced };
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
 * nor copied. (Every record's key text is exactly what SQL reads — `tables/key-text.ts` — so every record is looked
 * up.)
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

/** The binary `text[]` of records' raw texts: their bytes, copied once. */
function textArrayOf(records: readonly StagedRecord[]): Buffer {
  return textArray(records.map((r) => r.bytes));
}

/** An array parameter of any texts, as a binary `text[]` ({@link textArray}): no quoting or escaping to parse. */
function textListOf(values: readonly string[]): RawBuilder<unknown> {
  return sql`${textArray(values)}::text[]`;
}

/**
 * The canonical content hash of a jsonb value: Postgres's 64-bit jsonb hash (the one hash indexes and hash
 * partitioning use), consistent with jsonb equality — key order and whitespace do not change it — and cheaper than
 * `md5(value::text)`, which would print the value first (docs/loading.md). It compares a record with ITS previous
 * version only, so 64 bits leave a chance of about 5·10^-20 per change to miss one.
 */
export function contentHashSql(value: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`jsonb_hash_extended(${value}, 0)`;
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
