/**
 * The compatibility matrix: every key of dlt's `rest_api` config (as typed in `dlt/sources/rest_api/typing.py`, the
 * paginator arguments of `dlt/sources/helpers/rest_client/paginators.py` and dlt's `IncrementalArgs`, as of the dlt
 * release in `compatDltVersion`), plus our own extensions, with what durable-ingest does with it. It is data the validator reads (a key missing
 * here is an unknown key, a `rejected` key is an error with its reason, an `ignored` key a warning) and the source of
 * the table in `docs/config.md` (a unit test keeps the two identical), so documentation and behaviour cannot drift.
 */

/** The dlt release whose `rest_api` typing and paginators the matrix was last checked against. */
export const compatDltVersion = '1.22';

/** What happens to a key. */
export const compatStatuses = [
  /** Validated and honoured. */
  'supported',
  /** Accepted, has no effect here, and produces a warning saying why. */
  'ignored',
  /** An error naming the path and the reason. */
  'rejected',
  /** Ours, not dlt's: documented in docs/config.md. */
  'extension',
] as const;

export type CompatStatus = (typeof compatStatuses)[number];

/** The places in a source file that hold keys, with the heading the docs use for each. */
export const compatSites = {
  source: 'the source file (top level)',
  client: '`client`',
  'auth.api_key': '`auth` with `type: api_key`',
  'auth.bearer': '`auth` with `type: bearer` (also an auth object without `type`)',
  'auth.http_basic': '`auth` with `type: http_basic`',
  'auth.oauth2_client_credentials': '`auth` with `type: oauth2_client_credentials`',
  'paginator.auto': '`paginator` with `type: auto` (also an absent paginator, or one without `type`)',
  'paginator.single_page': '`paginator` with `type: single_page`',
  'paginator.json_link': '`paginator` with `type: json_link`',
  'paginator.json_response':
    '`paginator` with `type: json_response` (dlt\u2019s deprecated name of `json_link`)',
  'paginator.header_link': '`paginator` with `type: header_link`',
  'paginator.header_cursor': '`paginator` with `type: header_cursor`',
  'paginator.offset': '`paginator` with `type: offset`',
  'paginator.page_number': '`paginator` with `type: page_number`',
  'paginator.cursor': '`paginator` with `type: cursor`',
  resource:
    'a resource (`resources[i]`) and `resource_defaults` (which cannot set `name`, `side_effects` or `poll`)',
  endpoint: '`endpoint`',
  'param.resolve': 'an `endpoint.params` value with `type: resolve`',
  'param.incremental':
    'an `endpoint.params` value with `type: incremental` (the param\u2019s name is the start param; the other keys are those of `endpoint.incremental` without `start_param`/`end_param`)',
  incremental: '`endpoint.incremental` (see Incremental loading)',
  response_action: 'an `endpoint.response_actions` item',
  write_disposition: '`write_disposition` written as an object',
  column: 'a column in `columns`',
  secret: 'a secret reference (where a credential or header value goes)',
  retry: '`retry`: the retry budget of every resource of the source (ours)',
  rejected_records: '`rejected_records`: how long the payloads of rejected records are kept (ours)',
  schedule: '`schedule`: when Temporal starts runs of the source, made real by `ingest schedule sync` (ours)',
  poll: '`poll`: a child fetched again until its records reach a final value (ours)',
} as const;

export type CompatSite = keyof typeof compatSites;

/** One row of the matrix. */
export interface CompatEntry {
  readonly site: CompatSite;
  readonly key: string;
  readonly status: CompatStatus;
  /** For `supported`/`extension`: what it does (defaults included); otherwise: why. Shown in messages and docs. */
  readonly note: string;
}

const maxPagesNote =
  'our guard: stop with an error after this many pages (default 10000); repeated next-page URLs or cursors also stop';

function paginatorType<S extends CompatSite>(site: S, note: string) {
  return { site, key: 'type', status: 'supported', note } as const;
}

function maxPages<S extends CompatSite>(site: S) {
  return { site, key: 'max_pages', status: 'extension', note: maxPagesNote } as const;
}

function ignoredColumnHint<K extends string>(key: K) {
  return {
    site: 'column',
    key,
    status: 'ignored',
    note: 'a dlt destination hint with no effect on a Postgres table here',
  } as const;
}

/** The keys of dlt's `IncrementalArgs` (plus `convert`), shared by `endpoint.incremental` and incremental params. */
function incrementalRows<S extends 'incremental' | 'param.incremental'>(site: S) {
  return [
    {
      site,
      key: 'cursor_path',
      status: 'supported',
      note: 'required: dotted path of the cursor in each record (a leading `$.` is allowed)',
    },
    {
      site,
      key: 'initial_value',
      status: 'supported',
      note: 'the start of the first window (a timestamp as text, or a number); absent: the first run asks for everything',
    },
    {
      site,
      key: 'end_value',
      status: 'supported',
      note: 'a fixed end of every window (a backfill): the stored cursor then never advances',
    },
    {
      site,
      key: 'lag',
      status: 'supported',
      note: 'subtracted from the stored cursor to start the next window: seconds for timestamps, units for numbers (>= 0)',
    },
    {
      site,
      key: 'range_start',
      status: 'supported',
      note: '`closed` (default: a record exactly at the start is loaded) or `open`',
    },
    {
      site,
      key: 'range_end',
      status: 'supported',
      note: '`open` (default: a record exactly at the end is left out) or `closed`',
    },
    {
      site,
      key: 'on_cursor_value_missing',
      status: 'supported',
      note: 'a record without a cursor value: `raise` (default: the resource fails), `include` or `exclude`',
    },
    {
      site,
      key: 'last_value_func',
      status: 'supported',
      note: 'only `max` (the default): the cursor advances to the largest value loaded; `min` and callables are refused',
    },
    {
      site,
      key: 'primary_key',
      status: 'rejected',
      note: 'dlt deduplicates the records at the window\u2019s start by it; here `merge` upserts them by the resource\u2019s own `primary_key`: set that instead',
    },
    {
      site,
      key: 'row_order',
      status: 'rejected',
      note: 'dlt stops reading pages once rows leave the window; here every page is read and records outside the window are left out',
    },
    {
      site,
      key: 'allow_external_schedulers',
      status: 'rejected',
      note: 'the window comes from the stored cursor or from the run input (`window`), not from an external scheduler',
    },
    { site, key: 'convert', status: 'rejected', note: 'a Python callable; a source file here is data only' },
  ] as const;
}

/** The matrix itself. Order is the order of the docs. */
export const compatibilityMatrix = [
  // --- top level -------------------------------------------------------------------------------------------------
  { site: 'source', key: 'client', status: 'supported', note: 'required: how to reach the API' },
  {
    site: 'source',
    key: 'resource_defaults',
    status: 'supported',
    note: 'merged into every resource (dlt rules)',
  },
  { site: 'source', key: 'resources', status: 'supported', note: 'required: a non-empty list' },
  {
    site: 'source',
    key: 'name',
    status: 'extension',
    note: 'required: the source name (`[a-z][a-z0-9_]*`); prefixes its environment variables',
  },
  {
    site: 'source',
    key: 'config',
    status: 'extension',
    note: "values for `{{ config['x'] }}` templates; each overridable by `<SOURCE>_CONFIG_<X>`",
  },
  {
    site: 'source',
    key: 'retry',
    status: 'extension',
    note: 'the retry budget of every resource (see `retry`); defaults apply to what is not set',
  },
  {
    site: 'source',
    key: 'rejected_records',
    status: 'extension',
    note: 'the retention of rejected records (see `rejected_records`)',
  },
  {
    site: 'source',
    key: 'schedule',
    status: 'extension',
    note: 'when Temporal starts runs of the source (see `schedule`); `ingest schedule sync` creates, updates and deletes the Temporal schedule `ingest/<name>`; not part of the plan or its hash',
  },
  {
    site: 'retry',
    key: 'max_attempts',
    status: 'extension',
    note: 'transient failures (5xx, network, timeouts) after which a resource fails; 429s do not count (default 8)',
  },
  {
    site: 'retry',
    key: 'initial_delay_seconds',
    status: 'extension',
    note: 'backoff of the first retry, doubling each time, with jitter (default 1)',
  },
  { site: 'retry', key: 'max_delay_seconds', status: 'extension', note: 'the longest backoff (default 60)' },
  {
    site: 'retry',
    key: 'retry_after_floor_seconds',
    status: 'extension',
    note: 'the shortest wait a `Retry-After` can ask for, so `Retry-After: 0` is no hot loop (default 1)',
  },
  {
    site: 'retry',
    key: 'retry_after_ceiling_seconds',
    status: 'extension',
    note: 'a `Retry-After` above this fails the resource instead of waiting (default 300)',
  },
  {
    site: 'rejected_records',
    key: 'retention_days',
    status: 'extension',
    note: 'days a rejected record (with its payload) is kept; older ones are deleted when a load of the source begins (default 30)',
  },

  {
    site: 'schedule',
    key: 'interval',
    status: 'extension',
    note: 'start a run every this long (`90s`, `15m`, `2h`, `1d`, `1h30m`; at least `1s`), counted from the Unix epoch (so `1h` is on the hour); `interval` or `cron` (or both) is required',
  },
  {
    site: 'schedule',
    key: 'offset',
    status: 'extension',
    note: 'shifts `interval` (`interval: 1h` with `offset: 15m` runs at xx:15); shorter than `interval`',
  },
  {
    site: 'schedule',
    key: 'cron',
    status: 'extension',
    note: 'a cron expression (or a list): 5 fields `minute hour day-of-month month day-of-week`, or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`; with `interval`, runs at the times of both',
  },
  {
    site: 'schedule',
    key: 'timezone',
    status: 'extension',
    note: 'the IANA time zone `cron` is read in (default `UTC`)',
  },
  {
    site: 'schedule',
    key: 'jitter',
    status: 'extension',
    note: 'each run starts up to this much later, at random (default `0s`)',
  },
  {
    site: 'schedule',
    key: 'overlap',
    status: 'extension',
    note: 'a run due while the previous one still runs: `skip` (default), `buffer_one`, `buffer_all`, `cancel_other`, `terminate_other` or `allow_all` (Temporal\u2019s overlap policies; two runs of a source never overlap anyway: the second fails with `SOURCE_BUSY`)',
  },
  {
    site: 'schedule',
    key: 'catchup_window',
    status: 'extension',
    note: 'a run missed while Temporal was down is still started when it is at most this late (default `365d`; at least `10s`)',
  },
  {
    site: 'schedule',
    key: 'paused',
    status: 'extension',
    note: '`true`: the schedule exists but starts nothing (default `false`); sync applies it when it is created and when this value changes, so a pause by hand survives a sync',
  },
  {
    site: 'schedule',
    key: 'resources',
    status: 'extension',
    note: 'the run input\u2019s `resources`: only these (and the parents they need); absent: the source\u2019s default selection',
  },

  // --- client ----------------------------------------------------------------------------------------------------
  {
    site: 'client',
    key: 'base_url',
    status: 'supported',
    note: 'absolute http(s) URL; overridable by `<SOURCE>_BASE_URL` or the run options',
  },
  {
    site: 'client',
    key: 'headers',
    status: 'supported',
    note: "sent with every request; values are text, `{{ config['x'] }}` templates or `{ $env: VAR }`",
  },
  { site: 'client', key: 'auth', status: 'supported', note: 'default auth of every resource' },
  { site: 'client', key: 'paginator', status: 'supported', note: 'default paginator of every resource' },
  {
    site: 'client',
    key: 'session',
    status: 'rejected',
    note: 'a Python requests.Session object; durable-ingest owns its HTTP client',
  },

  // --- auth ------------------------------------------------------------------------------------------------------
  { site: 'auth.api_key', key: 'type', status: 'supported', note: '`api_key`' },
  {
    site: 'auth.api_key',
    key: 'name',
    status: 'supported',
    note: 'header, query or cookie name (default `Authorization`)',
  },
  {
    site: 'auth.api_key',
    key: 'api_key',
    status: 'supported',
    note: 'the secret: `{ $env: VAR }` (or inline, warned)',
  },
  {
    site: 'auth.api_key',
    key: 'location',
    status: 'supported',
    note: '`header` (default), `query` or `cookie`; dlt\u2019s `param` means `query`',
  },
  {
    site: 'auth.bearer',
    key: 'type',
    status: 'supported',
    note: '`bearer` (the default when `type` is absent)',
  },
  {
    site: 'auth.bearer',
    key: 'token',
    status: 'supported',
    note: 'the secret: `{ $env: VAR }` (or inline, warned)',
  },
  { site: 'auth.http_basic', key: 'type', status: 'supported', note: '`http_basic`' },
  { site: 'auth.http_basic', key: 'username', status: 'supported', note: 'text or `{ $env: VAR }`' },
  {
    site: 'auth.http_basic',
    key: 'password',
    status: 'supported',
    note: 'the secret: `{ $env: VAR }` (or inline, warned)',
  },
  {
    site: 'auth.oauth2_client_credentials',
    key: 'type',
    status: 'supported',
    note: '`oauth2_client_credentials`',
  },
  {
    site: 'auth.oauth2_client_credentials',
    key: 'access_token_url',
    status: 'supported',
    note: 'absolute http(s) URL of the token endpoint',
  },
  {
    site: 'auth.oauth2_client_credentials',
    key: 'client_id',
    status: 'supported',
    note: 'text or `{ $env: VAR }`',
  },
  {
    site: 'auth.oauth2_client_credentials',
    key: 'client_secret',
    status: 'supported',
    note: 'the secret: `{ $env: VAR }` (or inline, warned)',
  },
  {
    site: 'auth.oauth2_client_credentials',
    key: 'access_token_request_data',
    status: 'supported',
    note: 'extra form fields of the token request; values may be `{ $env: VAR }`',
  },
  {
    site: 'auth.oauth2_client_credentials',
    key: 'default_token_expiration',
    status: 'supported',
    note: 'seconds a token lives when the token response has no `expires_in` (default 3600)',
  },
  {
    site: 'auth.oauth2_client_credentials',
    key: 'access_token',
    status: 'rejected',
    note: 'a cached token is run-time state, not config; durable-ingest fetches and refreshes its own',
  },
  {
    site: 'auth.oauth2_client_credentials',
    key: 'session',
    status: 'rejected',
    note: 'a Python requests.Session object; durable-ingest owns its HTTP client',
  },

  // --- paginators ------------------------------------------------------------------------------------------------
  paginatorType('paginator.auto', '`auto`: the paginator is detected from the first response, as in dlt'),
  maxPages('paginator.auto'),
  paginatorType('paginator.single_page', '`single_page`: one request, no pagination'),
  paginatorType('paginator.json_link', '`json_link`: the next page URL is in the JSON body'),
  {
    site: 'paginator.json_link',
    key: 'next_url_path',
    status: 'supported',
    note: 'JSONPath (default `next`)',
  },
  maxPages('paginator.json_link'),
  paginatorType(
    'paginator.json_response',
    '`json_response`: deprecated in dlt; runs as `json_link` (warned)',
  ),
  {
    site: 'paginator.json_response',
    key: 'next_url_path',
    status: 'supported',
    note: 'JSONPath (default `next`)',
  },
  maxPages('paginator.json_response'),
  paginatorType('paginator.header_link', '`header_link`: the next page URL is in the `Link` header'),
  {
    site: 'paginator.header_link',
    key: 'links_next_key',
    status: 'supported',
    note: 'the `rel` (default `next`)',
  },
  maxPages('paginator.header_link'),
  paginatorType('paginator.header_cursor', '`header_cursor`: the next cursor is in a response header'),
  {
    site: 'paginator.header_cursor',
    key: 'cursor_key',
    status: 'supported',
    note: 'header name (default `next`)',
  },
  {
    site: 'paginator.header_cursor',
    key: 'cursor_param',
    status: 'supported',
    note: 'query parameter (default `cursor`)',
  },
  maxPages('paginator.header_cursor'),
  paginatorType('paginator.offset', '`offset`: offset/limit query parameters (or JSON body fields)'),
  { site: 'paginator.offset', key: 'limit', status: 'supported', note: 'required: page size' },
  { site: 'paginator.offset', key: 'offset', status: 'supported', note: 'first offset (default 0)' },
  {
    site: 'paginator.offset',
    key: 'offset_param',
    status: 'supported',
    note: 'query parameter (default `offset` unless `offset_body_path` is set; not both)',
  },
  {
    site: 'paginator.offset',
    key: 'offset_body_path',
    status: 'supported',
    note: 'put the offset in the JSON body at this dotted path instead of the query (a POST endpoint only)',
  },
  {
    site: 'paginator.offset',
    key: 'limit_param',
    status: 'supported',
    note: 'query parameter (default `limit` unless `limit_body_path` is set; not both)',
  },
  {
    site: 'paginator.offset',
    key: 'limit_body_path',
    status: 'supported',
    note: 'put the limit in the JSON body at this dotted path instead of the query (a POST endpoint only)',
  },
  {
    site: 'paginator.offset',
    key: 'total_path',
    status: 'supported',
    note: 'JSONPath of the total item count (default `total`; `null`: none)',
  },
  { site: 'paginator.offset', key: 'maximum_offset', status: 'supported', note: 'stop at this offset' },
  {
    site: 'paginator.offset',
    key: 'has_more_path',
    status: 'supported',
    note: 'JSONPath of a boolean in the response: `false` stops (as in dlt, `total_path` still defaults to `total`: set it to `null` when the API has none)',
  },
  {
    site: 'paginator.offset',
    key: 'stop_after_empty_page',
    status: 'supported',
    note: 'stop on a page with no records (default true)',
  },
  maxPages('paginator.offset'),
  paginatorType('paginator.page_number', '`page_number`: a page number query parameter (or JSON body field)'),
  {
    site: 'paginator.page_number',
    key: 'base_page',
    status: 'supported',
    note: 'number of the first page (default 0)',
  },
  {
    site: 'paginator.page_number',
    key: 'page',
    status: 'supported',
    note: 'page to start from (default `base_page`)',
  },
  {
    site: 'paginator.page_number',
    key: 'page_param',
    status: 'supported',
    note: 'query parameter (default `page` unless `page_body_path` is set; not both)',
  },
  {
    site: 'paginator.page_number',
    key: 'page_body_path',
    status: 'supported',
    note: 'put the page number in the JSON body at this dotted path instead of the query (a POST endpoint only)',
  },
  {
    site: 'paginator.page_number',
    key: 'total_path',
    status: 'supported',
    note: 'JSONPath of the total page count (default `total`; `null`: none)',
  },
  { site: 'paginator.page_number', key: 'maximum_page', status: 'supported', note: 'stop at this page' },
  {
    site: 'paginator.page_number',
    key: 'has_more_path',
    status: 'supported',
    note: 'JSONPath of a boolean in the response: `false` stops (as in dlt, `total_path` still defaults to `total`: set it to `null` when the API has none)',
  },
  {
    site: 'paginator.page_number',
    key: 'stop_after_empty_page',
    status: 'supported',
    note: 'stop on a page with no records (default true)',
  },
  maxPages('paginator.page_number'),
  paginatorType('paginator.cursor', '`cursor`: the next cursor is in the JSON body'),
  {
    site: 'paginator.cursor',
    key: 'cursor_path',
    status: 'supported',
    note: 'JSONPath (default `cursors.next`)',
  },
  {
    site: 'paginator.cursor',
    key: 'cursor_param',
    status: 'supported',
    note: 'query parameter (default `cursor` unless `cursor_body_path` is set)',
  },
  {
    site: 'paginator.cursor',
    key: 'cursor_body_path',
    status: 'supported',
    note: 'put the cursor in the JSON body at this dotted path instead (a POST endpoint only)',
  },
  maxPages('paginator.cursor'),

  // --- resource / resource_defaults ------------------------------------------------------------------------------
  {
    site: 'resource',
    key: 'name',
    status: 'supported',
    note: 'required and unique (a string resource is its own name and path)',
  },
  {
    site: 'resource',
    key: 'endpoint',
    status: 'supported',
    note: 'an object, or a string meaning `{ path }`; absent: the path is the name',
  },
  {
    site: 'resource',
    key: 'primary_key',
    status: 'supported',
    note: 'a column or a list of columns; a resource overrides the default',
  },
  {
    site: 'resource',
    key: 'write_disposition',
    status: 'supported',
    note: '`merge`, `replace` or `append` (default), or `{ disposition, strategy }`',
  },
  {
    site: 'resource',
    key: 'columns',
    status: 'supported',
    note: 'column hints (types for known fields); merged deeply with the defaults',
  },
  {
    site: 'resource',
    key: 'table_name',
    status: 'supported',
    note: 'the Postgres table (default: the name; at most 63 bytes)',
  },
  {
    site: 'resource',
    key: 'selected',
    status: 'supported',
    note: '`false`: left out of a run unless asked for by name (or run as the parent of one that runs, unless it has side effects)',
  },
  {
    site: 'resource',
    key: 'include_from_parent',
    status: 'supported',
    note: 'parent fields (top-level names or dotted paths) copied into every child record as `_<parent>_<field>` (dots become `__`); a child only',
  },
  {
    site: 'resource',
    key: 'side_effects',
    status: 'extension',
    note: '`true`: the request changes something on the server (e.g. sends a message): sent at most once per load, never paginated, retried or run implicitly as a parent; refused with a parent or a paginator other than `single_page`',
  },
  {
    site: 'resource',
    key: 'poll',
    status: 'extension',
    note: 'a child fetched again, pass after pass, until a field of its records reaches a final value (see `poll`); a child with `merge` only',
  },
  {
    site: 'resource',
    key: 'deletion_detection',
    status: 'extension',
    note: 'opt-in: mark rows missing from a complete fetch as deleted; refused for parent- or parameter-dependent resources',
  },
  {
    site: 'resource',
    key: 'max_table_nesting',
    status: 'ignored',
    note: 'records are stored whole in a jsonb column; no nested tables are created',
  },
  {
    site: 'resource',
    key: 'parallelized',
    status: 'ignored',
    note: 'every independent resource already runs in its own activity',
  },
  {
    site: 'resource',
    key: 'schema_contract',
    status: 'ignored',
    note: 'unknown fields are kept in the jsonb column and reported as schema drift',
  },
  { site: 'resource', key: 'table_format', status: 'ignored', note: 'tables are plain Postgres tables' },
  {
    site: 'resource',
    key: 'file_format',
    status: 'ignored',
    note: 'rows are loaded directly, without load files',
  },
  {
    site: 'resource',
    key: 'references',
    status: 'ignored',
    note: 'table references are dlt schema metadata; none is kept here',
  },
  { site: 'resource', key: 'nested_hints', status: 'ignored', note: 'no nested tables are created' },
  { site: 'resource', key: 'parent_table_name', status: 'ignored', note: 'no nested tables are created' },
  {
    site: 'resource',
    key: 'merge_key',
    status: 'rejected',
    note: 'delete-insert by merge key is not implemented; `merge` upserts by primary key',
  },
  {
    site: 'resource',
    key: 'processing_steps',
    status: 'rejected',
    note: 'holds Python callables (filter/map); a source file here is data only',
  },

  // --- endpoint --------------------------------------------------------------------------------------------------
  {
    site: 'endpoint',
    key: 'path',
    status: 'supported',
    note: 'relative to the base URL (or absolute); templates allowed',
  },
  { site: 'endpoint', key: 'method', status: 'supported', note: '`GET` (default) or `POST`' },
  {
    site: 'endpoint',
    key: 'params',
    status: 'supported',
    note: 'query parameters; templates and `{ type: resolve }` bindings allowed; `null` leaves one out',
  },
  {
    site: 'endpoint',
    key: 'json',
    status: 'supported',
    note: 'JSON body; templates allowed in string values',
  },
  { site: 'endpoint', key: 'paginator', status: 'supported', note: 'overrides the client\u2019s paginator' },
  {
    site: 'endpoint',
    key: 'data_selector',
    status: 'supported',
    note: "JSONPath of the one array of records: `data`, `$.data`, `$.data[*]`, `$.data.items`, `$['odd key']` (absent: detected, as in dlt); recursive descent, filters, unions, indexes and inner wildcards are refused",
  },
  {
    site: 'endpoint',
    key: 'response_actions',
    status: 'supported',
    note: '`{ status_code?, content?, action: ignore }` items; callables are rejected',
  },
  { site: 'endpoint', key: 'auth', status: 'supported', note: 'overrides the client\u2019s auth' },
  {
    site: 'endpoint',
    key: 'headers',
    status: 'supported',
    note: 'added to (and overriding) the client\u2019s headers; templates allowed',
  },
  {
    site: 'endpoint',
    key: 'incremental',
    status: 'supported',
    note: 'incremental loading: each run asks only for the window after the stored cursor (see `endpoint.incremental`)',
  },

  // --- params, response actions, write disposition, columns -------------------------------------------------------
  {
    site: 'param.resolve',
    key: 'type',
    status: 'supported',
    note: '`resolve`: the value comes from a parent record; a resource may have several, all naming the same parent',
  },
  {
    site: 'param.resolve',
    key: 'resource',
    status: 'supported',
    note: 'the parent resource (the same for every resolve param of a resource)',
  },
  {
    site: 'param.resolve',
    key: 'field',
    status: 'supported',
    note: 'dotted path of the field in a parent record',
  },
  {
    site: 'param.incremental',
    key: 'type',
    status: 'supported',
    note: '`incremental`: this query parameter receives the start of each run\u2019s window (one per resource)',
  },
  ...incrementalRows('param.incremental'),
  ...(['start_param', 'end_param'] as const).map(
    (key) =>
      ({
        site: 'param.incremental',
        key,
        status: 'rejected',
        note: 'an incremental param is itself the start param (as in dlt); for an end param use `endpoint.incremental`',
      }) as const,
  ),
  {
    site: 'incremental',
    key: 'start_param',
    status: 'supported',
    note: 'query parameter that receives the window\u2019s start; absent: only `{incremental.start_value}` placeholders use it',
  },
  {
    site: 'incremental',
    key: 'end_param',
    status: 'supported',
    note: 'query parameter that receives the window\u2019s end when there is one (`end_value`, or a window in the run input); left out otherwise',
  },
  ...incrementalRows('incremental'),
  { site: 'response_action', key: 'status_code', status: 'supported', note: 'HTTP status to match' },
  { site: 'response_action', key: 'content', status: 'supported', note: 'substring of the body to match' },
  {
    site: 'response_action',
    key: 'action',
    status: 'supported',
    note: 'only `ignore` (callables are rejected)',
  },
  {
    site: 'write_disposition',
    key: 'disposition',
    status: 'supported',
    note: '`merge`, `replace` or `append`',
  },
  {
    site: 'write_disposition',
    key: 'strategy',
    status: 'supported',
    note: 'merge: `upsert`, `delete-insert` (runs as upsert, warned), `scd2` rejected; replace: any (warned: always an atomic swap)',
  },
  ...(
    [
      'validity_column_names',
      'active_record_timestamp',
      'boundary_timestamp',
      'row_version_column_name',
      'retire_absent_rows',
      'natural_key',
    ] as const
  ).map(
    (key) =>
      ({
        site: 'write_disposition',
        key,
        status: 'rejected',
        note: 'an scd2 option; the scd2 strategy is not implemented',
      }) as const,
  ),
  { site: 'column', key: 'name', status: 'supported', note: 'the column (required in the list form)' },
  {
    site: 'column',
    key: 'data_type',
    status: 'supported',
    note: 'text, double, bool, timestamp, bigint, binary, json, decimal, wei, date, time',
  },
  { site: 'column', key: 'nullable', status: 'supported', note: 'whether NULL is allowed' },
  {
    site: 'column',
    key: 'precision',
    status: 'supported',
    note: 'for decimal, timestamp, time, text, binary',
  },
  { site: 'column', key: 'scale', status: 'supported', note: 'for decimal' },
  { site: 'column', key: 'timezone', status: 'supported', note: 'for timestamp, time' },
  {
    site: 'column',
    key: 'primary_key',
    status: 'supported',
    note: 'part of the primary key when the resource sets no `primary_key`',
  },
  { site: 'column', key: 'description', status: 'supported', note: 'a comment on the column' },
  ...(
    [
      'unique',
      'partition',
      'cluster',
      'sort',
      'row_key',
      'parent_key',
      'root_key',
      'merge_key',
      'variant',
      'hard_delete',
      'dedup_sort',
      'incremental',
    ] as const
  ).map(ignoredColumnHint),

  // --- poll (ours) ----------------------------------------------------------------------------------------------
  {
    site: 'poll',
    key: 'field',
    status: 'extension',
    note: 'required: dotted path of the field in each child record',
  },
  {
    site: 'poll',
    key: 'final',
    status: 'extension',
    note: 'required: a non-empty list of the values (strings, numbers, booleans) after which the child never changes',
  },
  {
    site: 'poll',
    key: 'interval_seconds',
    status: 'extension',
    note: 'between two passes of one run (default 20; > 0)',
  },
  {
    site: 'poll',
    key: 'run_for_seconds',
    status: 'extension',
    note: 'how long one run keeps polling; what is still pending is polled by the next run (default 300; 0: one pass)',
  },
  {
    site: 'poll',
    key: 'max_age_seconds',
    status: 'extension',
    note: 'a child not final this long after its parent record was first seen is given up (default 86400; > 0)',
  },

  // --- secret references -----------------------------------------------------------------------------------------
  {
    site: 'secret',
    key: '$env',
    status: 'extension',
    note: 'the name of the environment variable holding the value (`[A-Z_][A-Z0-9_]*`); read at run time only',
  },
] as const satisfies readonly CompatEntry[];

type MatrixRow = (typeof compatibilityMatrix)[number];

/** Keys a site accepts with a warning (typed, so the schema can declare them). */
export type IgnoredKey<S extends CompatSite> = Extract<
  MatrixRow,
  { readonly site: S; readonly status: 'ignored' }
>['key'];

/** `resource_defaults` uses the resource rows, except that it cannot set `name`. */
export type CompatLookupSite = CompatSite | 'resource_defaults';

/** The resource keys `resource_defaults` cannot set: they belong to one resource. */
const defaultsRejectedEntries: Readonly<Record<string, CompatEntry>> = {
  name: {
    site: 'resource',
    key: 'name',
    status: 'rejected',
    note: 'resource_defaults cannot name a resource; set `name` on each resource',
  },
  side_effects: {
    site: 'resource',
    key: 'side_effects',
    status: 'rejected',
    note: 'side effects belong to one request: set `side_effects` on the resource that has them',
  },
  poll: {
    site: 'resource',
    key: 'poll',
    status: 'rejected',
    note: 'polling belongs to one child: set `poll` on that resource',
  },
};

/** The rows of one site. */
export function compatEntries(site: CompatLookupSite): readonly CompatEntry[] {
  if (site === 'resource_defaults') {
    return compatibilityMatrix
      .filter((entry) => entry.site === 'resource')
      .map((entry) => defaultsRejectedEntries[entry.key] ?? entry);
  }
  return compatibilityMatrix.filter((entry) => entry.site === site);
}

/** The row for a key of a site, or undefined for a key durable-ingest does not know. */
export function compatEntry(site: CompatLookupSite, key: string): CompatEntry | undefined {
  return compatEntries(site).find((entry) => entry.key === key);
}

/** Keys a site accepts without an error (supported, extension and ignored). */
export function acceptedKeys(site: CompatLookupSite): readonly string[] {
  return compatEntries(site)
    .filter((entry) => entry.status !== 'rejected')
    .map((entry) => entry.key);
}

/** Keys a site accepts with a warning. */
export function ignoredKeys<S extends CompatSite>(site: S): readonly IgnoredKey<S>[] {
  return compatEntries(site)
    .filter((entry) => entry.status === 'ignored')
    .map((entry) => entry.key as IgnoredKey<S>);
}

/** The markdown tables of docs/config.md (between the `compat` markers), generated from the matrix. */
export function renderCompatibilityMarkdown(): string {
  const sections: string[] = [];
  for (const [site, heading] of Object.entries(compatSites) as [CompatSite, string][]) {
    const rows = compatEntries(site).map(
      (entry) => `| \`${entry.key}\` | ${entry.status} | ${entry.note.replaceAll('|', '\\|')} |`,
    );
    sections.push(
      [`#### ${heading}`, '', '| key | status | what happens |', '| --- | --- | --- |', ...rows].join('\n'),
    );
  }
  return sections.join('\n\n');
}
