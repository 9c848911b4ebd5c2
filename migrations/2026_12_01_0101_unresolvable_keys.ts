/**
 * Keys a dependent resource could not resolve (the messaging API answers 404 for an old or unknown request id):
 * final outcomes, so they are not asked for again, and visible to operators with the reason.
 *
 * Frozen in time: takes `Kysely<any>`, never imports app code.
 */
import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE ingest.unresolvable_keys (
      source       text NOT NULL,
      resource     text NOT NULL,
      key          text NOT NULL,
      http_status  integer,
      reason       text NOT NULL,
      load_id      text,
      marked_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source, resource, key)
    )`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE ingest.unresolvable_keys`.execute(db);
}
