/**
 * The `append` disposition's write: every staged record becomes a new row of an append table
 * (`tables/append-tables.ts`), keyed by its load position, copied from the rows staging shaped.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { stagedKeyColumn } from '../staging/registry.ts';
import { stagedRows } from '../staging/staged-reads.ts';
import type { Staging } from '../staging/registry.ts';
import { positionKeyColumns } from '../tables/resource-tables.ts';
import { coercedSql, isGuarded } from '../tables/typed-columns.ts';

/** What appending a staging wrote. */
export interface AppendCounts {
  readonly inserted: number;
  readonly coercions: Record<string, number>;
}

/**
 * Appends every staged record (duplicates of a key included: it is append) as a new row keyed by its load
 * position, copied from the rows staging shaped (as the merge does). Called by `mergeStaged`
 * inside its transaction; a retried merge finds the staging gone and returns the recorded counts, so a load's rows
 * are appended once.
 */
export async function appendStagedRows(trx: Kysely<Database>, staging: Staging): Promise<AppendCounts> {
  const { target, loadId } = staging;
  const table = sql.id(target.schema, target.table);
  const columns = target.columns;
  const staged = await stagedRows(trx, staging, { withoutSuperseded: false });
  const guarded = columns.filter(isGuarded);
  const returning = sql.join(
    guarded.length === 0
      ? [sql`1 AS one`]
      : guarded.map((c, i) => sql`${coercedSql('t', c)} AS ${sql.id(`c${i}`)}`),
  );
  const { rows } = await sql<Record<string, string>>`
    WITH written AS (
      INSERT INTO ${table} AS t (${sql.join([
        ...positionKeyColumns.map((c) => sql.id(c)),
        ...target.primaryKey.map((k) => sql.id(k.column)),
        ...columns.map((c) => sql.id(c.column)),
        sql`data, _content_hash, _raw_hash, _loaded_at`,
      ])})
      SELECT ${sql.join([
        sql`${loadId}::text, x._seq, x._ord`,
        ...target.primaryKey.map((_, i) => sql`x.${stagedKeyColumn(i)}`),
        ...columns.map((c) => staged.column(c)),
        sql`x._data, x._content_hash, x._raw_hash, now()`,
      ])}
      FROM ${staged.relation} AS x
      RETURNING ${returning}
    )
    SELECT ${sql.join([
      sql`count(*) AS n`,
      ...guarded.map((_, i) => sql`count(*) FILTER (WHERE ${sql.id(`c${i}`)}) AS ${sql.id(`c${i}`)}`),
    ])}
    FROM written`.execute(trx);
  const coercions: Record<string, number> = {};
  guarded.forEach((c, i) => {
    const count = Number(rows[0]?.[`c${i}`] ?? 0);
    if (count > 0) coercions[c.column] = count;
  });
  return { inserted: Number(rows[0]?.['n'] ?? 0), coercions };
}
