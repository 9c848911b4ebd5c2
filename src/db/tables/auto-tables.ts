/**
 * Tables created at run time for a resource the config has and no migration registered (`created_by = 'auto'`):
 * the minimal shape of a migrated resource table — the primary key (text NOT NULL, one column per key field, named
 * as the field), `data jsonb` and the load metadata — in the source's schema (created if missing), registered in
 * `ingest.resource_tables` like a migrated one. No typed columns: every other field stays in `data` and is reported
 * as schema drift (`merge/drift.ts`). A migration can later register typed columns for it.
 *
 * Idempotent and safe under concurrent callers: creation runs in one transaction under an advisory lock per source
 * (the schema and every table of the source are created one at a time), and re-reads the registry under the lock.
 * Every identifier is quoted (`sql.id`).
 */
import { sql, type Kysely } from 'kysely';
import { IngestError, isIngestError } from '../../errors.ts';
import { readResourceTable, type ResourceTable } from './resource-tables.ts';
import type { Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';

/** What a table is created from: the planned resource (`ResolvedResource` has these fields). */
export interface AutoTableSpec {
  readonly source: string;
  readonly resource: string;
  /** The table's name (dlt `table_name`, the resource's name by default). */
  readonly tableName: string;
  /** Field names of the primary key, in key order. */
  readonly primaryKey: readonly string[];
}

/** The metadata columns every resource table has; a key field may not be called like one of them. */
export const metadataColumns = [
  'data',
  '_content_hash',
  '_raw_hash',
  '_load_id',
  '_first_loaded_at',
  '_changed_at',
  '_deleted_at',
] as const;

/** Postgres truncates longer identifiers (NAMEDATALEN - 1 bytes): refused instead of silently shortened. */
const maxIdentifierBytes = 63;

/**
 * The registered table of a resource; when there is none, creates the minimal one and registers it
 * (`created_by = 'auto'`). Throws a non-retryable `config` error for a resource without a primary key (the merge
 * needs one) or whose names cannot make a table, and a `conflict` error when its table name is taken.
 */
export async function ensureResourceTable(db: Kysely<Database>, spec: AutoTableSpec): Promise<ResourceTable> {
  const found = await readRegistered(db, spec.source, spec.resource);
  if (found !== undefined) return found;
  checkSpec(spec);
  await inTransaction(db, async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('ingest.auto_table'), hashtext(${spec.source}))`.execute(
      trx,
    );
    const registered = await trx
      .selectFrom('ingest.resource_tables')
      .select(['source', 'resource'])
      .where((eb) =>
        eb.or([
          eb.and([eb('source', '=', spec.source), eb('resource', '=', spec.resource)]),
          eb.and([eb('table_schema', '=', spec.source), eb('table_name', '=', spec.tableName)]),
        ]),
      )
      .execute();
    if (registered.some((r) => r.source === spec.source && r.resource === spec.resource)) return;
    const owner = registered[0];
    if (owner !== undefined)
      throw tableTaken(spec, `the registered table of ${owner.source}.${owner.resource}`);
    const { rows } = await sql<{ exists: boolean }>`
      SELECT to_regclass(${`${quote(spec.source)}.${quote(spec.tableName)}`}) IS NOT NULL AS exists`.execute(
      trx,
    );
    if (rows[0]?.exists === true) throw tableTaken(spec, 'a table no migration registered');

    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(spec.source)}`.execute(trx);
    const keys = spec.primaryKey.map((field) => sql.id(field));
    await sql`
      CREATE TABLE ${sql.id(spec.source, spec.tableName)} (
        ${sql.join(spec.primaryKey.map((field) => sql`${sql.id(field)} text NOT NULL`))},
        data              jsonb NOT NULL,
        _content_hash     bigint NOT NULL,
        _raw_hash         uuid,
        _load_id          text NOT NULL,
        _first_loaded_at  timestamptz NOT NULL,
        _changed_at       timestamptz NOT NULL,
        _deleted_at       timestamptz,
        PRIMARY KEY (${sql.join(keys)})
      )`.execute(trx);
    await trx
      .insertInto('ingest.resource_tables')
      .values({
        source: spec.source,
        resource: spec.resource,
        table_schema: spec.source,
        table_name: spec.tableName,
        primary_key: sql<string[]>`${sql.val(spec.primaryKey)}::text[]`,
        primary_key_columns: sql<string[]>`${sql.val(spec.primaryKey)}::text[]`,
        created_by: 'auto',
      })
      .execute();
  });
  return readResourceTable(db, spec.source, spec.resource);
}

async function readRegistered(
  db: Kysely<Database>,
  source: string,
  resource: string,
): Promise<ResourceTable | undefined> {
  try {
    return await readResourceTable(db, source, resource);
  } catch (error) {
    if (isIngestError(error) && error.code === 'RESOURCE_TABLE_MISSING') return undefined;
    throw error;
  }
}

function checkSpec(spec: AutoTableSpec): void {
  const where = `${spec.source}.${spec.resource}`;
  const refuse = (code: string, message: string) =>
    new IngestError('config', code, `${where}: ${message}`, {
      retryable: false,
      details: { source: spec.source, resource: spec.resource },
    });
  if (spec.primaryKey.length === 0) {
    throw refuse(
      'AUTO_TABLE_NEEDS_PRIMARY_KEY',
      'no migration registered a table for this resource and it has no primary_key, so no table can be created ' +
        'for the merge disposition — set primary_key in the config (or add a migration for it)',
    );
  }
  for (const name of [spec.tableName, ...spec.primaryKey]) {
    if (name.length === 0 || Buffer.byteLength(name) > maxIdentifierBytes) {
      throw refuse(
        'AUTO_TABLE_BAD_NAME',
        `cannot create a table for it: the name ${JSON.stringify(name)} must be 1 to ${maxIdentifierBytes} bytes`,
      );
    }
    if (name.includes('\u0000')) throw refuse('AUTO_TABLE_BAD_NAME', 'a table or key name holds U+0000');
  }
  const clash = spec.primaryKey.find((field) => (metadataColumns as readonly string[]).includes(field));
  if (clash !== undefined) {
    throw refuse(
      'AUTO_TABLE_BAD_NAME',
      `primary key field "${clash}" has the name of a metadata column (${metadataColumns.join(', ')})`,
    );
  }
  if (new Set(spec.primaryKey).size !== spec.primaryKey.length) {
    throw refuse('AUTO_TABLE_BAD_NAME', 'the primary key names a field twice');
  }
}

function tableTaken(spec: AutoTableSpec, by: string): IngestError {
  return new IngestError(
    'conflict',
    'AUTO_TABLE_TAKEN',
    `${spec.source}.${spec.resource}: no table is registered for it, and its table ${spec.source}.${spec.tableName} ` +
      `is ${by} — give the resource another table_name or register the table with a migration`,
    { retryable: false, details: { source: spec.source, resource: spec.resource } },
  );
}

/** An identifier quoted for `to_regclass` (which parses its argument as SQL). */
function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
