/**
 * A send whose outcome is unknown blocks the next sends of that resource until an operator acknowledges it: the
 * intent's status may now be `acknowledged` (the run input's `acknowledgeSends` sets it).
 *
 * Frozen in time: takes `Kysely<any>`, never imports app code.
 */
import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE ingest.send_intents DROP CONSTRAINT IF EXISTS sms_send_intents_status_check`.execute(
    db,
  );
  await sql`ALTER TABLE ingest.send_intents DROP CONSTRAINT IF EXISTS send_intents_status_check`.execute(db);
  await sql`
    ALTER TABLE ingest.send_intents ADD CONSTRAINT send_intents_status_check
      CHECK (status IN ('intended', 'sent', 'unknown', 'failed', 'acknowledged'))`.execute(db);
  await sql`CREATE INDEX send_intents_open ON ingest.send_intents (source, resource) WHERE status IN ('intended', 'unknown')`.execute(
    db,
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ingest.send_intents_open`.execute(db);
  await sql`UPDATE ingest.send_intents SET status = 'unknown' WHERE status = 'acknowledged'`.execute(db);
  await sql`ALTER TABLE ingest.send_intents DROP CONSTRAINT send_intents_status_check`.execute(db);
  await sql`
    ALTER TABLE ingest.send_intents ADD CONSTRAINT send_intents_status_check
      CHECK (status IN ('intended', 'sent', 'unknown', 'failed'))`.execute(db);
}
