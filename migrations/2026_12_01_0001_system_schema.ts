/**
 * The system schema `ingest`: the ledger (loads, resource runs), checkpoints, rejected records, SMS send intents,
 * the registry of resource tables and their typed columns, the registry of staging tables and the batches staged
 * into them, and `ingest.input_is_valid(text, type)` — a guard for casts that must not abort a statement.
 *
 * Frozen in time: this file takes `Kysely<any>` and never imports app code.
 */
import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS ingest`.execute(db);

  // One row per run of a source (one workflow run). `load_id` is chosen by the caller, deterministically, so a
  // retried "start" is idempotent.
  await sql`
    CREATE TABLE ingest.loads (
      load_id        text PRIMARY KEY,
      source         text NOT NULL,
      workflow_id    text,
      run_id         text,
      plan_hash      text,
      build_version  text,
      sandbox        boolean NOT NULL DEFAULT false,
      status         text NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'abandoned')),
      started_at     timestamptz NOT NULL DEFAULT now(),
      finished_at    timestamptz,
      error          text,
      report         jsonb
    )`.execute(db);
  await sql`CREATE INDEX loads_source_started ON ingest.loads (source, started_at DESC)`.execute(db);
  await sql`CREATE INDEX loads_running ON ingest.loads (source) WHERE status = 'running'`.execute(db);

  // One row per resource of a load. Counts are written by the statements that produce them (the merge writes its
  // counts in its own transaction), so a retried activity never counts twice.
  await sql`
    CREATE TABLE ingest.resource_runs (
      load_id            text NOT NULL REFERENCES ingest.loads ON DELETE CASCADE,
      resource           text NOT NULL,
      source             text NOT NULL,
      write_disposition  text NOT NULL DEFAULT 'merge',
      status             text NOT NULL DEFAULT 'running'
                         CHECK (status IN ('running', 'succeeded', 'failed', 'skipped', 'abandoned')),
      attempts           integer NOT NULL DEFAULT 1,
      fetched            bigint NOT NULL DEFAULT 0,
      inserted           bigint NOT NULL DEFAULT 0,
      updated            bigint NOT NULL DEFAULT 0,
      unchanged          bigint NOT NULL DEFAULT 0,
      deleted            bigint NOT NULL DEFAULT 0,
      rejected           bigint NOT NULL DEFAULT 0,
      coercions          jsonb NOT NULL DEFAULT '{}',
      error              text,
      skip_reason        text,
      started_at         timestamptz NOT NULL DEFAULT now(),
      merged_at          timestamptz,
      merge_ms           integer,
      finished_at        timestamptz,
      PRIMARY KEY (load_id, resource)
    )`.execute(db);
  await sql`CREATE INDEX resource_runs_source_resource ON ingest.resource_runs (source, resource, started_at DESC)`.execute(
    db,
  );

  // A paginator's state per load and resource (what a retried attempt resumes from), secrets removed.
  await sql`
    CREATE TABLE ingest.checkpoints (
      load_id     text NOT NULL REFERENCES ingest.loads ON DELETE CASCADE,
      resource    text NOT NULL,
      state       jsonb NOT NULL,
      updated_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (load_id, resource)
    )`.execute(db);

  // Records that could not be loaded, with the reason and the payload as sent (it may hold personal data: a
  // retention job bounds how long rows stay, by rejected_at). (load, resource, batch, ordinal) identifies the record,
  // so a replayed batch rejects it again without a second row.
  await sql`
    CREATE TABLE ingest.rejected_records (
      rejected_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      load_id      text NOT NULL,
      source       text NOT NULL,
      resource     text NOT NULL,
      batch_seq    bigint NOT NULL,
      ordinal      integer NOT NULL,
      reason_code  text NOT NULL,
      reason       text NOT NULL,
      record_key   text,
      payload      text NOT NULL,
      rejected_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (load_id, resource, batch_seq, ordinal)
    )`.execute(db);
  await sql`CREATE INDEX rejected_records_source ON ingest.rejected_records (source, resource, rejected_at)`.execute(
    db,
  );

  // The at-most-once SMS send (issue 9): an intent is written before the request, the request id after the reply.
  await sql`
    CREATE TABLE ingest.sms_send_intents (
      load_id              text NOT NULL,
      resource             text NOT NULL,
      source               text NOT NULL,
      status               text NOT NULL DEFAULT 'intended'
                           CHECK (status IN ('intended', 'sent', 'unknown', 'failed')),
      request_fingerprint  text,
      request_id           text UNIQUE,
      intended_at          timestamptz NOT NULL DEFAULT now(),
      replied_at           timestamptz,
      detail               jsonb,
      PRIMARY KEY (load_id, resource)
    )`.execute(db);

  // Which table holds each resource, and how its typed columns are filled from the record: the loader reads this,
  // so it needs no copy of the migrations. `created_by` is 'migration', or 'auto' for a table created at run time.
  await sql`
    CREATE TABLE ingest.resource_tables (
      source               text NOT NULL,
      resource             text NOT NULL,
      table_schema         text NOT NULL,
      table_name           text NOT NULL,
      primary_key          text[] NOT NULL,
      primary_key_columns  text[] NOT NULL,
      created_by           text NOT NULL DEFAULT 'migration',
      created_at           timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source, resource),
      UNIQUE (table_schema, table_name)
    )`.execute(db);
  await sql`
    CREATE TABLE ingest.resource_columns (
      source       text NOT NULL,
      resource     text NOT NULL,
      column_name  text NOT NULL,
      field_path   text[] NOT NULL,
      data_type    text NOT NULL
                   CHECK (data_type IN ('text', 'bigint', 'integer', 'numeric', 'double precision',
                                        'boolean', 'timestamptz', 'date', 'jsonb')),
      ordinal      integer NOT NULL,
      PRIMARY KEY (source, resource, column_name),
      FOREIGN KEY (source, resource) REFERENCES ingest.resource_tables ON DELETE CASCADE
    )`.execute(db);

  // Staging: one UNLOGGED table per (load, resource), named in this registry; it survives an activity retry and is
  // dropped by the merge that consumes it. `staged_batches` makes a re-sent batch replace itself.
  await sql`
    CREATE TABLE ingest.staging_tables (
      load_id     text NOT NULL,
      resource    text NOT NULL,
      source      text NOT NULL,
      table_name  text NOT NULL UNIQUE,
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (load_id, resource)
    )`.execute(db);
  await sql`
    CREATE TABLE ingest.staged_batches (
      load_id    text NOT NULL,
      resource   text NOT NULL,
      seq        bigint NOT NULL,
      records    integer NOT NULL,
      rejected   integer NOT NULL,
      bytes      bigint NOT NULL,
      staged_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (load_id, resource, seq),
      FOREIGN KEY (load_id, resource) REFERENCES ingest.staging_tables ON DELETE CASCADE
    )`.execute(db);

  // True when `value` is valid input for `type_name`, without raising: casts guarded by it turn a bad value into
  // NULL instead of aborting the statement. PostgreSQL 16+ has pg_input_is_valid (soft errors, no subtransaction);
  // older servers get an exception block (slower, same answers).
  const { rows } = await sql<{ version: number }>`
    SELECT current_setting('server_version_num')::int AS version`.execute(db);
  if ((rows[0]?.version ?? 0) >= 160000) {
    await sql`
      CREATE FUNCTION ingest.input_is_valid(value text, type_name text) RETURNS boolean
      LANGUAGE sql STABLE PARALLEL SAFE
      RETURN pg_input_is_valid(value, type_name)`.execute(db);
  } else {
    await sql`
      CREATE FUNCTION ingest.input_is_valid(value text, type_name text) RETURNS boolean
      LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
      BEGIN
        IF value IS NULL THEN RETURN NULL; END IF;
        EXECUTE format('SELECT %L::%s', value, type_name::regtype);
        RETURN true;
      EXCEPTION WHEN data_exception OR invalid_text_representation THEN
        RETURN false;
      END $$`.execute(db);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS ingest.input_is_valid(text, text)`.execute(db);
  for (const table of [
    'staged_batches',
    'staging_tables',
    'resource_columns',
    'resource_tables',
    'sms_send_intents',
    'rejected_records',
    'checkpoints',
    'resource_runs',
    'loads',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(`ingest.${table}`)}`.execute(db);
  }
}
