/**
 * The rows a complete load no longer has: `replace` deletes them, deletion detection (`merge` with
 * `deletion_detection: true`) marks them `_deleted_at`. Both run inside the merge transaction, after the staged rows
 * are written, as ONE anti-join of the table against the keys this load staged (`stagedKeys`: every good record,
 * unchanged and superseded ones included) — so readers see the old table until the merge commits, no row seen in the
 * load is touched, and nothing happens unless the merge runs, which is only after the resource's complete fetch.
 *
 * A record that was fetched but rejected (U+0000, refused by Postgres, …) still exists in the API: when its key
 * could be read (`rejected_records.record_key`) its row is kept. When a rejected record has no readable key, the
 * rows it stands for are unknown, so this load deletes and marks nothing (`skipped` says why).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { IngestError } from '../../errors.ts';
import type { MergeMode } from './dispositions.ts';
import type { Database } from '../schema.ts';
import type { Staging } from '../staging/registry.ts';
import { stagedKeys } from '../staging/staged-reads.ts';

/** What the deletion step did. */
export interface DeletionOutcome {
  /** Rows deleted (`replace`) or marked deleted (deletion detection) by this load. */
  readonly deleted: number;
  /** Why nothing was deleted although the mode asks for it (rejected records without a readable key), else null. */
  readonly skipped: string | null;
}

const nothing: DeletionOutcome = { deleted: 0, skipped: null };

/**
 * Deletes (`replace`) or marks deleted (deletion detection) every row whose key `staging` does not hold. Call it in
 * the merge transaction, with the table locked against other writers, after the staged rows are written.
 */
export async function applyDeletions(
  trx: Kysely<Database>,
  staging: Staging,
  mode: MergeMode,
  incompleteFetch?: string,
  maxDeleteShare?: number,
): Promise<DeletionOutcome> {
  const marks = mode.disposition === 'merge' && mode.deletionDetection;
  if (mode.disposition !== 'replace' && !marks) return nothing;
  if (incompleteFetch !== undefined) {
    return { deleted: 0, skipped: `${incompleteFetch}: no row was ${marks ? 'marked deleted' : 'deleted'}` };
  }
  const { target, loadId } = staging;
  const keys = target.primaryKey;
  if (keys.length === 0) return nothing;

  const rejectedKeys = sql`(
    SELECT ${sql.join(keys.map((_, i) => sql`${rejectedKeyPart(keys.length, i)} AS ${sql.id(`k${i}`)}`))}
    FROM ingest.rejected_records AS r
    WHERE r.load_id = ${loadId} AND r.resource = ${target.resource}
  )`;
  const anyPartMissing = sql.join(
    keys.map((_, i) => sql`${sql.id(`k${i}`)} IS NULL`),
    sql` OR `,
  );
  const keyless = await sql<{ n: string }>`
    SELECT count(*) AS n FROM ${rejectedKeys} AS p WHERE ${anyPartMissing}`.execute(trx);
  const unknown = Number(keyless.rows[0]?.n ?? 0);
  if (unknown > 0) {
    return {
      deleted: 0,
      skipped:
        `${unknown} rejected record(s) of this load have no readable primary key, so the rows they stand for ` +
        `are unknown: no row was ${marks ? 'marked deleted' : 'deleted'}`,
    };
  }

  const table = sql.id(target.schema, target.table);
  const matches = (alias: string, column: (index: number) => string) =>
    sql.join(
      // Identifiers quoted one by one: a key column may hold a dot (`sql.ref` would split it).
      keys.map((k, i) => sql`t.${sql.id(k.column)} = ${sql.id(alias)}.${sql.id(column(i))}`),
      sql` AND `,
    );
  const absent = sql`
    NOT EXISTS (SELECT 1 FROM ${stagedKeys(staging)} AS k WHERE ${matches('k', (i) => keys[i]?.column ?? '')})
    AND NOT EXISTS (SELECT 1 FROM ${rejectedKeys} AS p WHERE ${matches('p', (i) => `k${i}`)})`;
  if (maxDeleteShare !== undefined && maxDeleteShare < 1) {
    await guardShare(trx, staging, { absent, marks, maxDeleteShare });
  }
  const { rows } = marks
    ? await sql<{ n: string }>`
        WITH gone AS (
          UPDATE ${table} AS t SET _deleted_at = now(), _changed_at = now(), _load_id = ${loadId}::text
          WHERE t._deleted_at IS NULL AND ${absent}
          RETURNING 1
        )
        SELECT count(*) AS n FROM gone`.execute(trx)
    : await sql<{ n: string }>`
        WITH gone AS (DELETE FROM ${table} AS t WHERE ${absent} RETURNING 1)
        SELECT count(*) AS n FROM gone`.execute(trx);
  return { deleted: Number(rows[0]?.n ?? 0), skipped: null };
}

/**
 * The guard of destructive loads: a load that would delete (or mark deleted) more than `maxDeleteShare` of the
 * table's live rows — an API that answered an empty list, say — fails the resource instead, inside the merge
 * transaction, so nothing of it commits. The run input can allow it for a resource (`allowDeletes`).
 */
async function guardShare(
  trx: Kysely<Database>,
  staging: Staging,
  guard: { readonly absent: RawBuilder<unknown>; readonly marks: boolean; readonly maxDeleteShare: number },
): Promise<void> {
  const { target } = staging;
  const table = sql.id(target.schema, target.table);
  const live = guard.marks ? sql`t._deleted_at IS NULL` : sql`true`;
  const { rows } = await sql<{ gone: string; total: string }>`
    SELECT count(*) FILTER (WHERE ${guard.absent}) AS gone, count(*) AS total
    FROM ${table} AS t WHERE ${live}`.execute(trx);
  const gone = Number(rows[0]?.gone ?? 0);
  const total = Number(rows[0]?.total ?? 0);
  if (gone === 0 || gone <= guard.maxDeleteShare * total) return;
  const percent = (share: number) => `${Math.round(share * 1000) / 10} %`;
  throw new IngestError(
    'config',
    'DESTRUCTIVE_LOAD_REFUSED',
    `${target.source}.${target.resource}: this load would ${guard.marks ? 'mark deleted' : 'delete'} ${gone} of ` +
      `${total} rows (${percent(gone / total)}), more than the ${percent(guard.maxDeleteShare)} allowed; nothing ` +
      `was written. If the API really lost them, run again with {"allowDeletes": ["${target.resource}"]} in the ` +
      'run input.',
    { retryable: false, details: { source: target.source, resource: target.resource, gone, total } },
  );
}

/**
 * Part `index` of a rejected record's key as the text the key column would hold, or NULL when it cannot be read.
 * `record_key` is the JSON text of the key (a scalar, or an array of parts for a composite key); nested CASEs,
 * because SQL does not promise that `AND` checks the guard first.
 */
function rejectedKeyPart(parts: number, index: number): RawBuilder<unknown> {
  const json = sql`(r.record_key::jsonb)`;
  const part =
    parts === 1
      ? sql`CASE WHEN jsonb_typeof(${json}) IN ('string', 'number', 'boolean') THEN ${json} #>> '{}' END`
      : sql`CASE WHEN jsonb_typeof(${json}) = 'array'
          THEN CASE WHEN jsonb_typeof(${json} -> ${sql.lit(index)}) IN ('string', 'number', 'boolean')
            THEN ${json} ->> ${sql.lit(index)} END END`;
  return sql`CASE WHEN r.record_key IS NOT NULL AND ingest.input_is_valid(r.record_key, 'jsonb') THEN ${part} END`;
}
