/**
 * No staging is left once the case's loads are closed: the staging registry (`ingest.staging_tables`,
 * `ingest.staged_batches`) is empty, no staging table (`ingest.stage_…`) exists, and the sources' schemas hold no
 * table besides the registered resource tables (a first load swaps its staging in as the table: nothing may remain
 * of the swap either).
 */
import type pg from 'pg';
import type { CheckResult } from './result.ts';

/** Checks the case's database for staging left behind. */
export async function checkNoStaging(client: pg.Client): Promise<CheckResult> {
  const { rows } = await client.query<{ what: string; names: string[] }>(`
    SELECT 'registered stagings' AS what, array_agg(load_id || '/' || resource) AS names FROM ingest.staging_tables
    UNION ALL
    SELECT 'staged batches', array_agg(DISTINCT load_id || '/' || resource) FROM ingest.staged_batches
    UNION ALL
    SELECT 'staging tables', array_agg(c.relname::text)
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'ingest' AND c.relkind IN ('r', 'p') AND c.relname LIKE 'stage\\_%'
    UNION ALL
    SELECT 'stray tables in the sources'' schemas', array_agg(n.nspname || '.' || c.relname)
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname IN (SELECT DISTINCT table_schema FROM ingest.resource_tables) AND c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT 1 FROM ingest.resource_tables AS t
                      WHERE t.table_schema = n.nspname AND t.table_name = c.relname)`);
  const problems = rows
    .filter((row) => row.names !== null && row.names.length > 0)
    .map((row) => `${row.names.length} ${row.what} left: ${row.names.slice(0, 5).join(', ')}`);
  return { check: 'staging', problems, facts: problems.length === 0 ? 'none left' : 'some left' };
}
