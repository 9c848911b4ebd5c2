/**
 * Append tables: the shape that `write_disposition: append` needs. Every run inserts every record as a new row, so
 * the record's primary key cannot be the table's PRIMARY KEY; the load position is — `(_load_id, _batch_seq, _ord)`,
 * unique for each staged record and deterministic across retries — and the record's key is kept as ordinary
 * (indexed) columns. A table created by a migration with the record key as PRIMARY KEY is refused for append
 * (`merge/dispositions.ts`), never silently merged into. The merge writes them with `merge/append-rows.ts`.
 *
 * Shape: `_load_id, _batch_seq, _ord` (PRIMARY KEY), the record key columns (`text NOT NULL`), typed columns,
 * `data jsonb`, `_content_hash`, `_raw_hash`, `_loaded_at` (the merge transaction's time). No `_changed_at` or
 * `_deleted_at`: an appended row is never changed or deleted by a load.
 */
import { sql, type Kysely } from 'kysely';
import { IngestError, isIngestError } from '../../errors.ts';
import type { Database } from '../schema.ts';
import type { AutoTableSpec } from './auto-tables.ts';
import {
  positionKeyColumns,
  readResourceTable,
  type KeyColumn,
  type ResourceTable,
  type TypedColumn,
} from './resource-tables.ts';

/** What an append table is created for. */
export interface AppendTableSpec {
  readonly source: string;
  readonly resource: string;
  readonly schema: string;
  readonly table: string;
  /** The record's key (fields and their text columns); kept as ordinary columns. */
  readonly primaryKey: readonly KeyColumn[];
  /** Typed columns besides the key (default none: the record is in `data`). */
  readonly columns?: readonly TypedColumn[];
}

/**
 * Creates the append table of a resource and registers it (`created_by = 'auto'`) in one transaction. Idempotent:
 * an existing table or registration is left as it is. For a resource with no migration whose disposition is append.
 */
export async function createAppendTable(db: Kysely<Database>, spec: AppendTableSpec): Promise<void> {
  if (spec.primaryKey.length === 0) {
    // Staging keeps a key per record (dedupe, counts, rejections): an append without a primary key is not supported.
    throw new IngestError(
      'config',
      'APPEND_WITHOUT_KEY',
      `${spec.source}.${spec.resource}: an append table needs the record's primary key (set primary_key)`,
      { retryable: false, details: { source: spec.source, resource: spec.resource } },
    );
  }
  const table = sql.id(spec.schema, spec.table);
  const columns = spec.columns ?? [];
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`append-table:${spec.schema}.${spec.table}`}))`.execute(
      trx,
    );
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(spec.schema)}`.execute(trx);
    await sql`
      CREATE TABLE IF NOT EXISTS ${table} (
        _load_id       text NOT NULL,
        _batch_seq     bigint NOT NULL,
        _ord           integer NOT NULL,
        ${sql.join(spec.primaryKey.map((k) => sql`${sql.id(k.column)} text NOT NULL`))},
        ${sql.join([
          ...columns.map((c) => sql`${sql.id(c.column)} ${sql.raw(c.type)}`),
          sql`data jsonb NOT NULL`,
        ])},
        _content_hash  bigint NOT NULL,
        _raw_hash      uuid,
        _loaded_at     timestamptz NOT NULL,
        PRIMARY KEY (${sql.join(positionKeyColumns.map((c) => sql.id(c)))})
      )`.execute(trx);
    await sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${spec.table}_record_key`)}
      ON ${table} (${sql.join(spec.primaryKey.map((k) => sql.id(k.column)))})`.execute(trx);
    const registered = await trx
      .insertInto('ingest.resource_tables')
      .values({
        source: spec.source,
        resource: spec.resource,
        table_schema: spec.schema,
        table_name: spec.table,
        primary_key: spec.primaryKey.map((k) => k.field),
        primary_key_columns: spec.primaryKey.map((k) => k.column),
        created_by: 'auto',
      })
      .onConflict((oc) => oc.columns(['source', 'resource']).doNothing())
      .returning('resource')
      .executeTakeFirst();
    if (registered !== undefined && columns.length > 0) {
      await trx
        .insertInto('ingest.resource_columns')
        .values(
          columns.map((c, ordinal) => ({
            source: spec.source,
            resource: spec.resource,
            column_name: c.column,
            field_path: [...c.path],
            data_type: c.type,
            ordinal,
          })),
        )
        .execute();
    }
  });
}

/** True for a table that `appendStagedRows` can write (see {@link ResourceTable.rowKey}). */
export function isAppendTable(target: ResourceTable): boolean {
  return target.rowKey === 'position';
}

/**
 * The registered table of an append resource, or — for a resource no migration registered — its append table,
 * created now ({@link createAppendTable}; the key columns are named as the key fields, as auto tables name them).
 */
export async function ensureAppendTable(db: Kysely<Database>, spec: AutoTableSpec): Promise<ResourceTable> {
  try {
    return await readResourceTable(db, spec.source, spec.resource);
  } catch (error) {
    if (!(isIngestError(error) && error.code === 'RESOURCE_TABLE_MISSING')) throw error;
  }
  await createAppendTable(db, {
    source: spec.source,
    resource: spec.resource,
    schema: spec.source,
    table: spec.tableName,
    primaryKey: spec.primaryKey.map((field) => ({ field, column: field })),
  });
  return readResourceTable(db, spec.source, spec.resource);
}
