/**
 * One run per source at a time: at most one `running` load per source among loads started by a workflow. This is
 * the source's lease; `beginLoad` takes it by inserting the load, and a second run of the same source hits this
 * index instead of racing the first.
 *
 * Frozen in time: takes `Kysely<any>`, never imports app code.
 */
import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE UNIQUE INDEX loads_one_running_per_source ON ingest.loads (source)
    WHERE status = 'running' AND workflow_id IS NOT NULL`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS ingest.loads_one_running_per_source`.execute(db);
}
