/**
 * The database, searched for secrets as a dump would show it: every row of every table of every schema (the
 * system catalogs apart) as its text — `row::text`, the form `COPY` and `pg_dump` write, which prints bytea as hex
 * and jsonb as JSON — tested against every form of every secret in one pass per table.
 */
import type pg from 'pg';
import { quoteIdentifier } from '../../../src/local/postgres.ts';
import type { SecretForm } from './secret-forms.ts';

export interface DatabaseSweep {
  /** Where a secret was found: `<schema>.<table>: <secret> (<form>)`. */
  readonly found: readonly string[];
  readonly tables: number;
  readonly rows: number;
}

/** Sweeps the database `client` is connected to. */
export async function sweepDatabase(client: pg.Client, forms: readonly SecretForm[]): Promise<DatabaseSweep> {
  const tables = await client.query<{ schema: string; name: string }>(`
    SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    ORDER BY 1, 2`);
  const found: string[] = [];
  let rows = 0;
  for (const { schema, name } of tables.rows) {
    // The row's text is computed once (OFFSET 0 keeps the planner from inlining it per form).
    const { rows: hits } = await client.query<{ rows: string; forms: number[] | null }>(
      `SELECT (SELECT count(*) FROM ${quoteIdentifier(schema)}.${quoteIdentifier(name)}) AS rows,
              (SELECT array_agg(DISTINCT f.i)
               FROM ${quoteIdentifier(schema)}.${quoteIdentifier(name)} AS r
               CROSS JOIN LATERAL (SELECT r::text AS x OFFSET 0) AS t
               CROSS JOIN unnest($1::text[]) WITH ORDINALITY AS f(text, i)
               WHERE strpos(t.x, f.text) > 0) AS forms`,
      [forms.map((form) => form.text)],
    );
    rows += Number(hits[0]?.rows ?? 0);
    for (const index of hits[0]?.forms ?? []) {
      const form = forms[Number(index) - 1];
      if (form !== undefined) found.push(`${schema}.${name}: ${form.secret} (${form.form})`);
    }
  }
  return { found, tables: tables.rows.length, rows };
}
