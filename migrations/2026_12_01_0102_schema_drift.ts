/**
 * Schema drift: the top-level field names each staged batch's records carried (`staged_batches.fields`: field →
 * number of records), and what the merge found unknown to the resource's table — fields that are neither the primary
 * key nor the first path element of a typed column, so they live in `data` only (`resource_runs.drift`: field →
 * records). Counted in Node from the already-parsed records; no per-record SQL.
 *
 * Frozen in time: takes `Kysely<any>`, never imports app code.
 */
import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE ingest.staged_batches ADD COLUMN fields jsonb NOT NULL DEFAULT '{}'`.execute(db);
  await sql`ALTER TABLE ingest.resource_runs ADD COLUMN drift jsonb NOT NULL DEFAULT '{}'`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE ingest.staged_batches DROP COLUMN fields`.execute(db);
  await sql`ALTER TABLE ingest.resource_runs DROP COLUMN drift`.execute(db);
}
