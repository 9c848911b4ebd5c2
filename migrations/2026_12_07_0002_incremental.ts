/**
 * Incremental loading:
 * - `ingest.cursors`: per (source, resource), the cursor the last successful load reached — written in the merge
 *   transaction of that resource, so it advances exactly when the data it stands for commits.
 * - `ingest.resource_runs.incremental`: the window a resource's run asked for (`{start, end, advances}`), decided at
 *   its first attempt and kept, so a resumed attempt continues with the same start; it is in the report too.
 * - `ingest.resource_runs.cursor_max` / `outside_window`: the largest cursor value loaded and the records left out
 *   (before the start or after the end), up to the last checkpointed page — what a resumed attempt continues from.
 *
 * Frozen in time: takes `Kysely<any>`, never imports app code.
 */
import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE ingest.cursors (
      source      text NOT NULL,
      resource    text NOT NULL,
      value       jsonb NOT NULL,
      load_id     text,
      updated_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source, resource)
    )`.execute(db);
  await sql`
    ALTER TABLE ingest.resource_runs
      ADD COLUMN incremental     jsonb,
      ADD COLUMN cursor_max      jsonb,
      ADD COLUMN outside_window  bigint NOT NULL DEFAULT 0`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE ingest.resource_runs
      DROP COLUMN incremental, DROP COLUMN cursor_max, DROP COLUMN outside_window`.execute(db);
  await sql`DROP TABLE ingest.cursors`.execute(db);
}
