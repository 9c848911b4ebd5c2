/**
 * Diagnostic activities: prove that a worker reaches its Postgres. `npm start` and `ingest doctor` run them through
 * the `healthCheck` workflow, so a green result means Temporal → worker → activity → Postgres all work.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { DatabaseProbe } from '../shared/ingest-types.ts';

/** Asks Postgres who it is. */
export async function probeDatabase(db: Kysely<Database>): Promise<DatabaseProbe> {
  const { rows } = await sql<{ version: string; database: string; now: Date }>`
    SELECT current_setting('server_version') AS version, current_database() AS database, now() AS now
  `.execute(db);
  const row = rows[0];
  if (!row) throw new Error('SELECT returned no row');
  return { serverVersion: row.version, database: row.database, checkedAt: row.now.toISOString() };
}
