/**
 * Parent → child resolution for any source (not only the SMS shape):
 * - `ingest.parent_records`: per (load, resource), the fields of each record that the resource's children need,
 *   keyed like its staged batches (`seq`, `ordinal`), so a resumed fetch replaces what it re-fetches. A child reads
 *   the records of THIS load, never the whole parent table.
 * - `ingest.child_items`: a child's work list in one load, one row per distinct set of parent values (its `fields`,
 *   by dotted path), numbered 1… in the order the parent produced them; its state says what fetching it gave.
 * - `ingest.child_polls`: for a child with `poll`, where each set of parent values stands across loads — still
 *   pending (the next load polls it again), final (never fetched again) or unresolvable (given up).
 * - `ingest.sms_send_intents` becomes `ingest.send_intents`: it holds the at-most-once sends of any resource with
 *   side effects; its `request_id` column (the SMS API's id) goes, the reply itself is in `detail`.
 *
 * Frozen in time: takes `Kysely<any>`, never imports app code.
 */
import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE ingest.parent_records (
      load_id   text NOT NULL REFERENCES ingest.loads ON DELETE CASCADE,
      resource  text NOT NULL,
      seq       bigint NOT NULL,
      ordinal   integer NOT NULL,
      fields    jsonb NOT NULL,
      PRIMARY KEY (load_id, resource, seq, ordinal)
    )`.execute(db);
  await sql`
    CREATE TABLE ingest.child_items (
      load_id        text NOT NULL REFERENCES ingest.loads ON DELETE CASCADE,
      resource       text NOT NULL,
      item           bigint NOT NULL,
      slice_hash     uuid NOT NULL,
      fields         jsonb NOT NULL,
      state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'unresolvable')),
      first_seen_at  timestamptz NOT NULL,
      PRIMARY KEY (load_id, resource, item),
      UNIQUE (load_id, resource, slice_hash)
    )`.execute(db);
  await sql`CREATE INDEX child_items_pending ON ingest.child_items (load_id, resource, item) WHERE state = 'pending'`.execute(
    db,
  );
  await sql`
    CREATE TABLE ingest.child_polls (
      source         text NOT NULL,
      resource       text NOT NULL,
      slice_hash     uuid NOT NULL,
      fields         jsonb NOT NULL,
      state          text NOT NULL CHECK (state IN ('pending', 'final', 'unresolvable')),
      first_seen_at  timestamptz NOT NULL,
      updated_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source, resource, slice_hash)
    )`.execute(db);
  await sql`CREATE INDEX child_polls_pending ON ingest.child_polls (source, resource) WHERE state = 'pending'`.execute(
    db,
  );
  await sql`ALTER TABLE ingest.sms_send_intents RENAME TO send_intents`.execute(db);
  await sql`ALTER TABLE ingest.send_intents DROP COLUMN request_id`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE ingest.send_intents ADD COLUMN request_id text UNIQUE`.execute(db);
  await sql`ALTER TABLE ingest.send_intents RENAME TO sms_send_intents`.execute(db);
  await sql`DROP TABLE ingest.child_polls`.execute(db);
  await sql`DROP TABLE ingest.child_items`.execute(db);
  await sql`DROP TABLE ingest.parent_records`.execute(db);
}
