/**
 * One schema per seed source (`communications`, `messaging`) with one table per resource: the primary key from the
 * config as a real PRIMARY KEY, typed columns for the known fields (snake_case; nested objects flattened dlt-style
 * with `__`, lists kept as jsonb), the whole record as `data jsonb` (stored from the raw JSON text), and the load
 * metadata: `_content_hash` (canonical: jsonb's own hash, key order normalised), `_raw_hash` (md5 of the raw text
 * last written, which lets staging skip unchanged records cheaply), `_load_id` (the load that last changed the
 * row), `_first_loaded_at`, `_changed_at`, `_deleted_at`. Each table and its columns are registered in `ingest.resource_tables` / `ingest.resource_columns`, which
 * is what the loader reads.
 *
 * Frozen in time: the table shapes are written out here and never imported from app code.
 */
import { sql, type Kysely } from 'kysely';

type ColumnType = 'text' | 'bigint' | 'integer' | 'numeric' | 'boolean' | 'timestamptz' | 'jsonb';

/** [column name, field path in the record, type]. */
type Column = readonly [string, readonly string[], ColumnType];

interface TableSpec {
  readonly source: string;
  readonly resource: string;
  /** Field names of the primary key (in the record). */
  readonly primaryKey: readonly string[];
  /** Every typed column, the primary key's first (always text). */
  readonly columns: readonly Column[];
}

const text = (column: string, ...path: string[]): Column => [column, path, 'text'];

const callRecordColumns: readonly Column[] = [
  text('id', 'id'),
  text('uri', 'uri'),
  text('session_id', 'sessionId'),
  text('telephony_session_id', 'telephonySessionId'),
  ['start_time', ['startTime'], 'timestamptz'],
  ['duration', ['duration'], 'bigint'],
  text('type', 'type'),
  text('direction', 'direction'),
  text('action', 'action'),
  text('result', 'result'),
  text('from__name', 'from', 'name'),
  text('from__phone_number', 'from', 'phoneNumber'),
  text('to__phone_number', 'to', 'phoneNumber'),
  text('to__location', 'to', 'location'),
  text('message__id', 'message', 'id'),
  text('message__type', 'message', 'type'),
  text('message__uri', 'message', 'uri'),
];

const businessHoursColumns: readonly Column[] = [
  text('id', 'id'),
  ['weekly_ranges', ['weeklyRanges'], 'jsonb'],
];

const phoneColumns: readonly Column[] = [
  text('request_id', 'requestId'),
  text('account_id', 'accountId'),
  text('contact_id', 'contactId'),
  text('friendly_name', 'friendlyName'),
  text('phone_number', 'phoneNumber'),
  text('status', 'status'),
];

const communications = (resource: string, columns: readonly Column[]): TableSpec => ({
  source: 'communications',
  resource,
  primaryKey: ['id'],
  columns,
});
const messaging = (resource: string, columns: readonly Column[]): TableSpec => ({
  source: 'messaging',
  resource,
  primaryKey: ['requestId'],
  columns,
});

const tables: readonly TableSpec[] = [
  communications('user_business_hours', businessHoursColumns),
  communications('company_business_hours', businessHoursColumns),
  communications('forwarding_numbers', [
    text('id', 'id'),
    text('uri', 'uri'),
    text('phone_number', 'phoneNumber'),
    text('label', 'label'),
    text('type', 'type'),
    ['features', ['features'], 'jsonb'],
    text('flip_number', 'flipNumber'),
  ]),
  communications('blocked_allowed_phonenumbers', [
    text('id', 'id'),
    text('uri', 'uri'),
    text('phone_number', 'phoneNumber'),
    text('label', 'label'),
    text('status', 'status'),
  ]),
  communications('user_call_records', callRecordColumns),
  communications('user_active_calls', callRecordColumns),
  communications('call_monitoring_groups', [text('id', 'id'), text('uri', 'uri'), text('name', 'name')]),
  communications('call_queues', [
    text('id', 'id'),
    text('uri', 'uri'),
    text('name', 'name'),
    text('extension_number', 'extensionNumber'),
  ]),
  communications('ivr_prompts', [
    text('id', 'id'),
    text('uri', 'uri'),
    text('name', 'name'),
    text('type', 'type'),
    text('category', 'category'),
    text('content_type', 'contentType'),
    text('content_uri', 'contentUri'),
    text('filename', 'filename'),
    text('text', 'text'),
    text('usage_type', 'usageType'),
  ]),
  messaging('sms', [
    text('request_id', 'requestId'),
    text('status', 'status'),
    text('to', 'to'),
    text('from', 'from'),
    ['submit_date', ['submitDate'], 'timestamptz'],
    text('href', 'href'),
  ]),
  messaging('messages', [
    text('request_id', 'requestId'),
    text('status', 'status'),
    ['submit_date', ['submitDate'], 'timestamptz'],
    ['sent_date', ['sentDate'], 'timestamptz'],
    ['done_date', ['doneDate'], 'timestamptz'],
    text('error_code', 'errorCode'),
    text('error_reason', 'errorReason'),
    text('from', 'from'),
    text('to', 'to'),
    text('href', 'href'),
    text('mccmnc', 'mccmnc'),
    text('ttid', 'ttid'),
    ['overall_price', ['overallPrice'], 'numeric'],
    ['price_effective', ['priceEffective'], 'timestamptz'],
    text('reference', 'reference'),
    ['size', ['size'], 'integer'],
    ['parts', ['parts'], 'jsonb'],
  ]),
  messaging('contacts', [
    text('request_id', 'requestId'),
    text('contact_id', 'contactId'),
    text('contact_name', 'contactName'),
    text('contact_title', 'contactTitle'),
    text('contact_email', 'contactEmail'),
    text('contact_phone', 'contactPhone'),
    text('company_name', 'companyName'),
    text('company_address__street', 'companyAddress', 'street'),
    text('company_address__city', 'companyAddress', 'city'),
    text('company_address__postal_code', 'companyAddress', 'postalCode'),
    text('company_address__country', 'companyAddress', 'country'),
    text('friendly_name', 'friendlyName'),
  ]),
  messaging('phones', phoneColumns),
  messaging('registrations', phoneColumns),
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
export async function up(db: Kysely<any>): Promise<void> {
  for (const schema of new Set(tables.map((t) => t.source))) {
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
  }
  for (const spec of tables) await createResourceTable(db, spec);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const spec of tables) {
    await sql`DROP TABLE IF EXISTS ${sql.table(`${spec.source}.${spec.resource}`)}`.execute(db);
    await sql`DELETE FROM ingest.resource_tables WHERE source = ${spec.source} AND resource = ${spec.resource}`.execute(
      db,
    );
  }
  for (const schema of new Set(tables.map((t) => t.source))) {
    await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)}`.execute(db);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function createResourceTable(db: Kysely<any>, spec: TableSpec): Promise<void> {
  const keyColumns = spec.primaryKey.map((field) => {
    const column = spec.columns.find(([, path]) => path.length === 1 && path[0] === field);
    if (column === undefined) throw new Error(`${spec.resource}: no column for primary key field ${field}`);
    return column[0];
  });
  const table = sql.table(`${spec.source}.${spec.resource}`);
  const columnDefinitions = spec.columns.map(([name, , type]) =>
    keyColumns.includes(name) ? sql`${sql.id(name)} text NOT NULL` : sql`${sql.id(name)} ${sql.raw(type)}`,
  );
  await sql`
    CREATE TABLE ${table} (
      ${sql.join(columnDefinitions)},
      data              jsonb NOT NULL,
      _content_hash     bigint NOT NULL,
      _raw_hash         uuid,
      _load_id          text NOT NULL,
      _first_loaded_at  timestamptz NOT NULL,
      _changed_at       timestamptz NOT NULL,
      _deleted_at       timestamptz,
      PRIMARY KEY (${sql.join(keyColumns.map((c) => sql.id(c)))})
    )`.execute(db);
  await sql`
    INSERT INTO ingest.resource_tables (source, resource, table_schema, table_name, primary_key, primary_key_columns)
    VALUES (${spec.source}, ${spec.resource}, ${spec.source}, ${spec.resource},
            ${sql.val(spec.primaryKey)}::text[], ${sql.val(keyColumns)}::text[])`.execute(db);
  let ordinal = 0;
  for (const [name, path, type] of spec.columns) {
    ordinal += 1;
    await sql`
      INSERT INTO ingest.resource_columns (source, resource, column_name, field_path, data_type, ordinal)
      VALUES (${spec.source}, ${spec.resource}, ${name}, ${sql.val(path)}::text[], ${type}, ${ordinal})`.execute(
      db,
    );
  }
}
