/**
 * Table types for Kysely. System tables live in the `ingest` schema (created by `migrations/`); resource tables are
 * per source and described at run time by `ingest.resource_tables` / `ingest.resource_columns`, so they are
 * addressed with `sql.table(...)`/`sql.id(...)` (see `tables/resource-tables.ts`), not through these types.
 */
import type { ColumnType, Generated } from 'kysely';

/** A timestamptz: read as a Date, written as a Date or an SQL expression. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamptz with a default. */
export type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** A bigint: node-pg returns int8 as text (compare with `String(n)`); the db functions convert it. */
export type Int8 = ColumnType<string, number | string, number | string>;
/** A bigint with a default. */
export type GeneratedInt8 = ColumnType<string, number | string | undefined, number | string>;

/** JSON stored as jsonb: written as JSON text, read as the parsed value. */
export type Jsonb<T = unknown> = ColumnType<T, string, string>;
/** jsonb with a default. */
export type GeneratedJsonb<T = unknown> = ColumnType<T, string | undefined, string>;

export const loadStatuses = ['running', 'succeeded', 'partial', 'failed', 'abandoned'] as const;
export type LoadStatus = (typeof loadStatuses)[number];

export const resourceRunStatuses = ['running', 'succeeded', 'failed', 'skipped', 'abandoned'] as const;
export type ResourceRunStatus = (typeof resourceRunStatuses)[number];

export interface LoadsTable {
  load_id: string;
  source: string;
  workflow_id: string | null;
  run_id: string | null;
  plan_hash: string | null;
  build_version: string | null;
  sandbox: Generated<boolean>;
  status: Generated<LoadStatus>;
  started_at: GeneratedTimestamp;
  finished_at: Timestamp | null;
  error: string | null;
  report: Jsonb | null;
}

export interface ResourceRunsTable {
  load_id: string;
  resource: string;
  source: string;
  write_disposition: Generated<string>;
  status: Generated<ResourceRunStatus>;
  attempts: Generated<number>;
  transient_failures: Generated<number>;
  rate_limited: Generated<number>;
  fetched: GeneratedInt8;
  inserted: GeneratedInt8;
  updated: GeneratedInt8;
  unchanged: GeneratedInt8;
  deleted: GeneratedInt8;
  rejected: GeneratedInt8;
  coercions: GeneratedJsonb<Record<string, number>>;
  /** Schema drift: top-level fields the table does not know (kept in `data` only) → records that had them. */
  drift: GeneratedJsonb<Record<string, number>>;
  error: string | null;
  skip_reason: string | null;
  started_at: GeneratedTimestamp;
  merged_at: Timestamp | null;
  merge_ms: number | null;
  finished_at: Timestamp | null;
  /** The incremental window the run asked for, decided at its first attempt (`ledger/cursors.ts`). */
  incremental: Jsonb | null;
  /** The largest cursor value loaded up to the last checkpointed page. */
  cursor_max: Jsonb | null;
  /** Records left out for being outside the window, up to the last checkpointed page. */
  outside_window: GeneratedInt8;
}

/** Per (source, resource): the cursor the last successful load reached (`ledger/cursors.ts`). */
export interface CursorsTable {
  source: string;
  resource: string;
  value: Jsonb<string | number>;
  load_id: string | null;
  updated_at: GeneratedTimestamp;
}

export interface CheckpointsTable {
  load_id: string;
  resource: string;
  state: Jsonb;
  updated_at: GeneratedTimestamp;
}

export interface RejectedRecordsTable {
  rejected_id: GeneratedInt8;
  load_id: string;
  source: string;
  resource: string;
  batch_seq: Int8;
  ordinal: number;
  reason_code: string;
  reason: string;
  record_key: string | null;
  payload: string;
  rejected_at: GeneratedTimestamp;
}

export const sendStatuses = ['intended', 'sent', 'unknown', 'failed', 'acknowledged'] as const;
export type SendStatus = (typeof sendStatuses)[number];

/** The at-most-once send of a resource with side effects (`activities/send-once.ts`). */
export interface SendIntentsTable {
  load_id: string;
  resource: string;
  source: string;
  status: Generated<SendStatus>;
  request_fingerprint: string | null;
  intended_at: GeneratedTimestamp;
  replied_at: Timestamp | null;
  detail: Jsonb | null;
}

/** Per (load, resource): the fields of each record that the resource's children need (`ledger/parent-records.ts`). */
export interface ParentRecordsTable {
  load_id: string;
  resource: string;
  seq: Int8;
  ordinal: number;
  fields: Jsonb<Record<string, unknown>>;
}

export const childItemStates = ['pending', 'done', 'unresolvable'] as const;
export type ChildItemState = (typeof childItemStates)[number];

/** A child's work list in one load: one row per distinct set of parent values (`ledger/child-items.ts`). */
export interface ChildItemsTable {
  load_id: string;
  resource: string;
  item: Int8;
  slice_hash: string;
  fields: Jsonb<Record<string, unknown>>;
  state: Generated<ChildItemState>;
  first_seen_at: Timestamp;
}

export const childPollStates = ['pending', 'final', 'unresolvable'] as const;
export type ChildPollState = (typeof childPollStates)[number];

/** A polled child's parent values across loads (`ledger/child-items.ts`). */
export interface ChildPollsTable {
  source: string;
  resource: string;
  slice_hash: string;
  fields: Jsonb<Record<string, unknown>>;
  state: ChildPollState;
  first_seen_at: Timestamp;
  updated_at: GeneratedTimestamp;
}

export interface UnresolvableKeysTable {
  source: string;
  resource: string;
  key: string;
  http_status: number | null;
  reason: string;
  load_id: string | null;
  marked_at: GeneratedTimestamp;
}

export interface ResourceTablesTable {
  source: string;
  resource: string;
  table_schema: string;
  table_name: string;
  primary_key: string[];
  primary_key_columns: string[];
  created_by: Generated<string>;
  created_at: GeneratedTimestamp;
}

export interface ResourceColumnsTable {
  source: string;
  resource: string;
  column_name: string;
  field_path: string[];
  data_type: string;
  ordinal: number;
}

export interface StagingTablesTable {
  load_id: string;
  resource: string;
  source: string;
  table_name: string;
  created_at: GeneratedTimestamp;
}

export interface StagedBatchesTable {
  load_id: string;
  resource: string;
  seq: Int8;
  records: number;
  rejected: number;
  bytes: Int8;
  /** Top-level field names of the batch's good records → how many records had each. */
  fields: GeneratedJsonb<Record<string, number>>;
  staged_at: GeneratedTimestamp;
}

/** Tables Kysely knows statically: the system schema. */
export interface Database {
  'ingest.loads': LoadsTable;
  'ingest.resource_runs': ResourceRunsTable;
  'ingest.checkpoints': CheckpointsTable;
  'ingest.cursors': CursorsTable;
  'ingest.rejected_records': RejectedRecordsTable;
  'ingest.send_intents': SendIntentsTable;
  'ingest.parent_records': ParentRecordsTable;
  'ingest.child_items': ChildItemsTable;
  'ingest.child_polls': ChildPollsTable;
  'ingest.unresolvable_keys': UnresolvableKeysTable;
  'ingest.resource_tables': ResourceTablesTable;
  'ingest.resource_columns': ResourceColumnsTable;
  'ingest.staging_tables': StagingTablesTable;
  'ingest.staged_batches': StagedBatchesTable;
}
