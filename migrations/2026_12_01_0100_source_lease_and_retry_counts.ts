/**
 * Retry bookkeeping per resource run: transient failures and rate-limited replies, counted apart, so the activity
 * can give up after N transient failures while 429s spend only time.
 *
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
  await sql`
    ALTER TABLE ingest.resource_runs
      ADD COLUMN transient_failures integer NOT NULL DEFAULT 0,
      ADD COLUMN rate_limited integer NOT NULL DEFAULT 0`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS ingest.loads_one_running_per_source`.execute(db);
  await sql`ALTER TABLE ingest.resource_runs DROP COLUMN transient_failures, DROP COLUMN rate_limited`.execute(
    db,
  );
}
