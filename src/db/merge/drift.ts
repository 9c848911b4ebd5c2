/**
 * Schema drift: the top-level fields of a resource's records that its table does not know — neither a primary key
 * field nor the first path element of a typed column. They are kept (in `data`), never dropped; the run reports them
 * so an operator can add a typed column (a migration). For a table created at run time (`tables/auto-tables.ts`) every
 * field but the key is such a field. Computed from the per-batch field counts staging records
 * (`ingest.staged_batches.fields`), so it costs one small aggregate per merge.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { Staging } from '../staging/registry.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';

/** Field → number of staged records that had it, for the fields the table does not know; sorted by field name. */
export type SchemaDrift = Readonly<Record<string, number>>;

/** The fields a table knows: its primary key fields and the first path element of each typed column. */
export function knownFields(target: ResourceTable): ReadonlySet<string> {
  return new Set([
    ...target.primaryKey.map((k) => k.field),
    ...target.columns.flatMap((c) => (c.path[0] === undefined ? [] : [c.path[0]])),
  ]);
}

/** The schema drift of what is staged for (load, resource). Call it before the staging is dropped. */
export async function readStagedDrift(db: Kysely<Database>, staging: Staging): Promise<SchemaDrift> {
  const { rows } = await sql<{ field: string; records: string }>`
    SELECT f.key AS field, sum(f.value::bigint) AS records
    FROM ingest.staged_batches AS b, jsonb_each_text(b.fields) AS f
    WHERE b.load_id = ${staging.loadId} AND b.resource = ${staging.target.resource}
    GROUP BY f.key ORDER BY f.key`.execute(db);
  const known = knownFields(staging.target);
  const drift: Record<string, number> = {};
  for (const row of rows) {
    if (!known.has(row.field)) drift[row.field] = Number(row.records);
  }
  return drift;
}
