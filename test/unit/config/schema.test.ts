import { describe, expect, it } from 'vitest';
import { validateSourceConfig } from '../../../src/config/analyse.ts';
import type { SourceConfig } from '../../../src/config/schema.ts';
import { minimalSource, problemsOf, sourceWith } from './helpers.ts';

const single = { paginator: 'single_page' } as const;
const withClient = (
  client: Record<string, unknown>,
  resources: unknown[] = [{ name: 'a', endpoint: { path: '/a', ...single } }],
) => sourceWith(resources, { client: { base_url: 'https://api.test', ...client } });
const withEndpoint = (endpoint: Record<string, unknown>, resource: Record<string, unknown> = {}) =>
  sourceWith([{ name: 'a', ...resource, endpoint: { path: '/a', ...single, ...endpoint } }]);
const withResource = (resource: Record<string, unknown>) =>
  sourceWith([{ name: 'a', endpoint: { path: '/a', ...single }, ...resource }]);

describe('valid source configs', () => {
  const valid: [string, unknown][] = [
    ['the minimal source', minimalSource()],
    [
      'string resources (name and path)',
      sourceWith(['users', 'orders'], { client: { base_url: 'https://api.test', paginator: 'single_page' } }),
    ],
    ['a string endpoint', sourceWith([{ name: 'a', endpoint: '/v1/a' }])],
    ['no endpoint (the path is the name)', sourceWith([{ name: 'a' }])],
    ['a paginator written as a type name', withEndpoint({ paginator: 'json_link' })],
    ...(
      [
        { type: 'auto' },
        {},
        { type: 'single_page' },
        { type: 'json_link', next_url_path: 'links.next', max_pages: 5 },
        { type: 'json_response', next_url_path: 'next' },
        { type: 'header_link', links_next_key: 'next' },
        { type: 'header_cursor', cursor_key: 'X-Next', cursor_param: 'after' },
        {
          type: 'offset',
          limit: 100,
          offset: 0,
          offset_param: 'skip',
          limit_param: 'take',
          total_path: null,
          maximum_offset: 1000,
          stop_after_empty_page: true,
        },
        {
          type: 'page_number',
          base_page: 1,
          page: 2,
          page_param: 'p',
          total_path: 'meta.pages',
          maximum_page: 9,
        },
        { type: 'cursor', cursor_path: 'next_cursor', cursor_param: 'cursor' },
        {
          type: 'offset',
          limit: 10,
          total_path: null,
          has_more_path: 'has_more',
          stop_after_empty_page: false,
        },
        { type: 'page_number', total_path: null, has_more_path: 'meta.more', stop_after_empty_page: false },
      ] as const
    ).map((paginator): [string, unknown] => [
      `paginator ${JSON.stringify(paginator)}`,
      withEndpoint({ paginator }),
    ]),
    ...(
      [
        { type: 'cursor', cursor_path: 'next_cursor', cursor_body_path: 'page.cursor' },
        {
          type: 'offset',
          limit: 10,
          offset_body_path: 'pagination.offset',
          limit_body_path: 'pagination.limit',
        },
        { type: 'offset', limit: 10, offset_body_path: '$.skip', limit_param: 'take' },
        { type: 'page_number', page_body_path: 'paging.page' },
      ] as const
    ).map((paginator): [string, unknown] => [
      `POST paginator ${JSON.stringify(paginator)}`,
      withEndpoint({ method: 'POST', json: { q: 1 }, paginator }),
    ]),
    ...['data', '$', '$.data', '$.data[*]', 'data.items', '$.data.items[*]', "$['odd key'][*]", '$[*]'].map(
      (selector): [string, unknown] => [
        `data_selector ${selector}`,
        withEndpoint({ data_selector: selector }),
      ],
    ),
    ...(
      [
        'bearer',
        'api_key',
        'http_basic',
        { token: { $env: 'DEMO_TOKEN' } },
        { type: 'bearer', token: { $env: 'DEMO_TOKEN' } },
        { type: 'api_key', name: 'api_key', api_key: { $env: 'DEMO_KEY' }, location: 'query' },
        { type: 'api_key', api_key: { $env: 'DEMO_KEY' }, location: 'param' },
        { type: 'api_key', name: 'session', api_key: { $env: 'DEMO_KEY' }, location: 'cookie' },
        { type: 'http_basic', username: 'me', password: { $env: 'DEMO_PASSWORD' } },
        {
          type: 'oauth2_client_credentials',
          access_token_url: 'https://auth.test/token',
          client_id: { $env: 'DEMO_CLIENT_ID' },
          client_secret: { $env: 'DEMO_CLIENT_SECRET' },
          access_token_request_data: {
            audience: 'api',
            scope: 'read',
            assertion: { $env: 'DEMO_ASSERTION' },
          },
          default_token_expiration: 600,
        },
      ] as const
    ).map((auth): [string, unknown] => [`auth ${JSON.stringify(auth)}`, withClient({ auth })]),
    ['an endpoint auth overriding the client', withEndpoint({ auth: { token: { $env: 'OTHER_TOKEN' } } })],
    [
      'write dispositions',
      sourceWith(
        [
          { name: 'a', endpoint: '/a', write_disposition: 'append' },
          { name: 'b', endpoint: '/b', write_disposition: 'replace' },
          {
            name: 'c',
            endpoint: '/c',
            write_disposition: { disposition: 'merge', strategy: 'upsert' },
            primary_key: ['x', 'y'],
          },
          {
            name: 'd',
            endpoint: '/d',
            write_disposition: { disposition: 'replace', strategy: 'truncate-and-insert' },
          },
        ],
        { client: { base_url: 'https://api.test', paginator: 'single_page' } },
      ),
    ],
    [
      'columns as an object and as a list',
      sourceWith(
        [
          {
            name: 'a',
            endpoint: '/a',
            columns: {
              id: { data_type: 'text', nullable: false, primary_key: true },
              n: { data_type: 'decimal', precision: 10, scale: 2 },
            },
          },
          {
            name: 'b',
            endpoint: '/b',
            columns: [{ name: 'at', data_type: 'timestamp', timezone: true, description: 'when' }],
          },
        ],
        { client: { base_url: 'https://api.test', paginator: 'single_page' } },
      ),
    ],
    [
      'params of every kind',
      withEndpoint({ params: { q: 'text', n: 5, b: false, none: null, ids: [1, 'two', true] } }),
    ],
    [
      'a JSON body with templates, and POST',
      withEndpoint({
        method: 'POST',
        json: { query: { to: "{{ config['to'] or 'x' }}" }, size: 10, tags: ['a'] },
      }),
    ],
    [
      'headers with templates and references',
      sourceWith(
        [
          { name: 'p', endpoint: { path: '/p', ...single } },
          {
            name: 'c',
            endpoint: {
              path: '/c/{resources.p.id}',
              headers: { 'X-Parent': '{resources.p.id}', 'X-Trace': '{{ config["trace"] or "none" }}' },
            },
          },
        ],
        {
          client: {
            base_url: 'https://api.test',
            headers: { 'X-Api-Key': { $env: 'DEMO_KEY' }, 'X-Account': "{{ config['account'] }}" },
          },
        },
      ),
    ],
    [
      'response actions',
      withEndpoint({
        response_actions: [
          { status_code: 404, action: 'ignore' },
          { status_code: '204', content: 'empty', action: 'ignore' },
          { content: 'gone', action: 'ignore' },
        ],
      }),
    ],
    [
      'resource options',
      withResource({
        table_name: 'things',
        selected: false,
        primary_key: 'id',
        write_disposition: 'merge',
        deletion_detection: true,
      }),
    ],
    [
      'ignored dlt keys',
      withResource({
        parallelized: true,
        max_table_nesting: 1,
        schema_contract: 'evolve',
        table_format: 'iceberg',
        file_format: 'parquet',
        references: [],
        nested_hints: {},
        parent_table_name: 'p',
      }),
    ],
    ['a config block', minimalSource({ config: { to: '+1 555', n: 3, flag: true, unset: null } })],
  ];
  it.each(valid)('%s', (_label, input) => {
    expect(() => validateSourceConfig(input)).not.toThrow();
  });

  it('accepts a typed `as const` object and rejects typos at compile time', () => {
    const source = {
      name: 'typed',
      client: { base_url: 'https://api.test', auth: { type: 'api_key', api_key: { $env: 'TYPED_KEY' } } },
      resources: ['a', { name: 'b', endpoint: { path: '/b', paginator: { type: 'offset', limit: 10 } } }],
    } as const satisfies SourceConfig;
    expect(validateSourceConfig(source).config.name).toBe('typed');
    const typo: SourceConfig = {
      name: 'typed',
      client: {},
      // @ts-expect-error -- `endpont` is not a key of a resource
      resources: [{ name: 'a', endpont: '/a' }],
    };
    expect(typo.name).toBe('typed');
  });
});

describe('invalid source configs: every problem, with its path and message', () => {
  const invalid: [string, unknown, string[]][] = [
    ['not an object', 'hello', ['(root): expected an object, got a string']],
    ['required keys', {}, ['name: required', 'client: required', 'resources: required']],
    [
      'bad name, URL and empty resources',
      { name: 'My Source', client: { base_url: 'ftp://u:p@x/#f' }, resources: [] },
      [
        'name: expected a lower-case identifier: a-z, then a-z, 0-9 or _',
        'client.base_url: expected an http(s) URL, got the scheme ftp:',
        'client.base_url: credentials in a URL are not allowed: use `auth` with `{ $env: VAR }`',
        'client.base_url: a URL fragment (#…) is not allowed',
        'resources: must not be empty',
      ],
    ],
    [
      'an unknown paginator type',
      withEndpoint({ paginator: { type: 'jsonlink' } }),
      [
        'resources[0].endpoint.paginator.type: expected one of: auto, single_page, json_link, json_response, header_link, header_cursor, offset, page_number, cursor — did you mean "json_link"?',
      ],
    ],
    [
      'an unknown paginator shorthand',
      withEndpoint({ paginator: 'jsonlink' }),
      [
        'resources[0].endpoint.paginator: expected one of: auto, single_page, json_link, json_response, header_link, header_cursor, offset, page_number, cursor — did you mean "json_link"?',
      ],
    ],
    [
      'a paginator of the wrong kind',
      withEndpoint({ paginator: 5 }),
      [
        'resources[0].endpoint.paginator: expected a paginator type (auto, single_page, json_link, json_response, header_link, header_cursor, offset, page_number, cursor) or a paginator object',
      ],
    ],
    [
      'offset without a limit',
      withEndpoint({ paginator: { type: 'offset' } }),
      ['resources[0].endpoint.paginator.limit: required'],
    ],
    [
      'offset as a bare name',
      withEndpoint({ paginator: 'offset' }),
      ['resources[0].endpoint.paginator: offset needs a limit: write { type: offset, limit: <page size> }'],
    ],
    [
      'a bad limit and a misspelt key',
      withEndpoint({ paginator: { type: 'offset', limit: -1, limt: 3 } }),
      [
        'resources[0].endpoint.paginator.limit: must be greater than 0',
        'resources[0].endpoint.paginator.limt: unknown key — did you mean "limit"?',
      ],
    ],
    [
      'a page_number paginator that never stops',
      withEndpoint({ paginator: { type: 'page_number', total_path: null, stop_after_empty_page: false } }),
      [
        'resources[0].endpoint.paginator: one of total_path, maximum_page, has_more_path or stop_after_empty_page must be set, or pagination never stops',
      ],
    ],
    [
      'a cursor paginator with both a param and a body path',
      withEndpoint({ paginator: { type: 'cursor', cursor_param: 'c', cursor_body_path: 'c' } }),
      ['resources[0].endpoint.paginator: set cursor_param or cursor_body_path, not both'],
    ],
    [
      'an unknown auth type',
      withClient({ auth: { type: 'apikey', api_key: 'x' } }),
      [
        'client.auth.type: expected one of: api_key, bearer, http_basic, oauth2_client_credentials — did you mean "api_key"?',
      ],
    ],
    [
      'an auth of the wrong kind',
      withClient({ auth: 5 }),
      [
        'client.auth: expected an auth type (bearer, api_key, http_basic, oauth2_client_credentials) or an auth object',
      ],
    ],
    [
      'api_key auth with a number key and a bad location',
      withClient({ auth: { type: 'api_key', api_key: 12345, location: 'body' } }),
      [
        'client.auth.api_key: expected a string or { $env: VARIABLE }',
        'client.auth.location: expected one of: header, query, cookie, param',
      ],
    ],
    [
      'an auth object without type (bearer) holding an api_key',
      withClient({ auth: { api_key: 'x' } }),
      [
        'client.auth.token: required',
        'client.auth.api_key: unknown key; expected one of: type, token (an auth object without type is a bearer auth)',
      ],
    ],
    [
      'http_basic without a password',
      withClient({ auth: { type: 'http_basic', username: 'me' } }),
      ['client.auth.password: required'],
    ],
    [
      'oauth2 with a bad URL and a cached token',
      withClient({
        auth: {
          type: 'oauth2_client_credentials',
          access_token_url: 'token',
          client_id: 'id',
          client_secret: { $env: 'S' },
          access_token: 'abc',
        },
      }),
      [
        'client.auth.access_token_url: expected an absolute http(s) URL',
        'client.auth.access_token: not supported: a cached token is run-time state, not config; durable-ingest fetches and refreshes its own',
      ],
    ],
    [
      'oauth2 as a bare name',
      withClient({ auth: 'oauth2_client_credentials' }),
      [
        'client.auth: oauth2_client_credentials needs access_token_url, client_id and client_secret: write it as an object',
      ],
    ],
    [
      'a malformed secret reference',
      withClient({ auth: { type: 'bearer', token: { $env: 'lower', x: 1 } } }),
      [
        'client.auth.token.$env: expected an environment variable name: upper-case letters, digits and _',
        'client.auth.token.x: unknown key; expected one of: $env',
      ],
    ],
    [
      'a requests session',
      withClient({ session: {} }),
      [
        'client.session: not supported: a Python requests.Session object; durable-ingest owns its HTTP client',
      ],
    ],
    [
      'misspelt keys at every level',
      sourceWith([{ name: 'a', endpont: { path: '/a' }, primary_keys: 'id' }], { resource_default: {} }),
      [
        'resources[0].endpont: unknown key — did you mean "endpoint"?',
        'resources[0].primary_keys: unknown key — did you mean "primary_key"?',
        'resource_default: unknown key — did you mean "resource_defaults"?',
      ],
    ],
    [
      'rejected dlt keys',
      sourceWith([
        {
          name: 'a',
          processing_steps: [{ filter: () => true }],
          merge_key: 'x',
          endpoint: { path: '/a', incremental: { cursor_path: 'x', convert: 'int' } },
        },
      ]),
      [
        'resources[0].processing_steps[0].filter: a function: callables (dlt processing steps, custom paginators or auth classes) are not supported; a source file is data',
        'resources[0].endpoint.incremental.convert: not supported: a Python callable; a source file here is data only',
        'resources[0].processing_steps: not supported: holds Python callables (filter/map); a source file here is data only',
        'resources[0].merge_key: not supported: delete-insert by merge key is not implemented; `merge` upserts by primary key',
      ],
    ],
    [
      'incremental param keys',
      withEndpoint({
        params: {
          since: {
            type: 'incremental',
            cursor_path: '$.data[*].updated_at',
            row_order: 'asc',
            last_value_func: 'min',
            lag: -1,
            start_param: 'since',
          },
        },
      }),
      [
        'resources[0].endpoint.params.since.cursor_path: a wildcard before the last key selects one array per element (several arrays): select one array',
        'resources[0].endpoint.params.since.lag: must be at least 0',
        'resources[0].endpoint.params.since.last_value_func: only max (the default) is supported: the cursor advances to the largest value loaded',
        'resources[0].endpoint.params.since.row_order: not supported: dlt stops reading pages once rows leave the window; here every page is read and records outside the window are left out',
        'resources[0].endpoint.params.since.start_param: not supported: an incremental param is itself the start param (as in dlt); for an end param use `endpoint.incremental`',
      ],
    ],
    [
      'endpoint.incremental values',
      withEndpoint({
        incremental: {
          start_param: 'since',
          initial_value: true,
          range_start: 'half',
          on_cursor_value_missing: 'skip',
          primary_key: 'id',
        },
      }),
      [
        'resources[0].endpoint.incremental.cursor_path: required',
        'resources[0].endpoint.incremental.initial_value: expected a timestamp (text) or a number',
        'resources[0].endpoint.incremental.range_start: expected one of: open, closed',
        'resources[0].endpoint.incremental.on_cursor_value_missing: expected one of: raise, include, exclude',
        'resources[0].endpoint.incremental.primary_key: not supported: dlt deduplicates the records at the window\u2019s start by it; here `merge` upserts them by the resource\u2019s own `primary_key`: set that instead',
      ],
    ],
    [
      'data selectors that select several arrays or filter',
      sourceWith(
        [
          '$..items',
          '$.data[?(@.x)]',
          "$['a','b']",
          '$.data[0]',
          '$.data[*].items',
          '$.*.items',
          'data[1:3]',
        ].map((selector, index) => ({
          name: `r${index}`,
          endpoint: { path: '/a', ...single, data_selector: selector },
        })),
      ),
      [
        'resources[0].endpoint.data_selector: recursive descent (..) could select arrays at any depth (it must select one array)',
        'resources[1].endpoint.data_selector: filters ([?(…)]) are not supported: select the array itself (it must select one array)',
        'resources[2].endpoint.data_selector: unions ([a,b]) select several values: select one array (it must select one array)',
        'resources[3].endpoint.data_selector: "[0]": indexes and slices select elements, not the array of records; only quoted keys and a final [*] are supported in brackets (it must select one array)',
        'resources[4].endpoint.data_selector: a wildcard before the last key selects one array per element (several arrays): select one array (it must select one array)',
        'resources[5].endpoint.data_selector: a wildcard before the last key selects one array per element (several arrays): select one array (it must select one array)',
        'resources[6].endpoint.data_selector: "[1:3]": indexes and slices select elements, not the array of records; only quoted keys and a final [*] are supported in brackets (it must select one array)',
      ],
    ],
    [
      'a paginator with both a param and a body path',
      withEndpoint({
        method: 'POST',
        paginator: {
          type: 'offset',
          limit: 5,
          offset_param: 'o',
          offset_body_path: 'o',
          limit_param: 'l',
          limit_body_path: 'l',
        },
      }),
      [
        'resources[0].endpoint.paginator: set offset_param or offset_body_path, not both',
        'resources[0].endpoint.paginator: set limit_param or limit_body_path, not both',
      ],
    ],
    [
      'bad param values',
      withEndpoint({ params: { x: {}, y: [{}], z: ['{{ config["a"] }}'] } }),
      [
        'resources[0].endpoint.params.x.type: required: one of resolve, incremental',
        'resources[0].endpoint.params.y[0]: expected a string, number or boolean',
        'resources[0].endpoint.params.z[0]: templates are not supported in list values',
      ],
    ],
    [
      'write dispositions',
      sourceWith([
        { name: 'a', write_disposition: 'upsert' },
        { name: 'b', write_disposition: { disposition: 'merge', strategy: 'scd2', natural_key: 'x' } },
        { name: 'c', write_disposition: { disposition: 'append', strategy: 'x' } },
        { name: 'd', write_disposition: { disposition: 'replace', strategy: 'swap' } },
      ]),
      [
        'resources[0].write_disposition: expected one of: merge, replace, append',
        'resources[1].write_disposition.natural_key: not supported: an scd2 option; the scd2 strategy is not implemented',
        'resources[1].write_disposition.strategy: not supported: the scd2 strategy is not implemented',
        'resources[2].write_disposition.strategy: append takes no strategy',
        'resources[3].write_disposition.strategy: expected one of: truncate-and-insert, insert-from-staging, staging-optimized',
      ],
    ],
    [
      'columns',
      sourceWith([
        { name: 'a', columns: { id: { data_type: 'string', nulable: true } } },
        { name: 'b', columns: [{ data_type: 'text' }] },
      ]),
      [
        'resources[0].columns.id.data_type: expected one of: text, double, bool, timestamp, bigint, binary, json, decimal, wei, date, time',
        'resources[0].columns.id.nulable: unknown key — did you mean "nullable"?',
        'resources[1].columns[0].name: required',
      ],
    ],
    [
      'primary keys',
      sourceWith([
        { name: 'a', primary_key: [] },
        { name: 'b', primary_key: 5 },
      ]),
      [
        'resources[0].primary_key: must not be empty',
        'resources[1].primary_key: expected a column name or a non-empty list of column names',
      ],
    ],
    [
      'a lower-case method',
      withEndpoint({ method: 'get' }),
      ['resources[0].endpoint.method: expected one of: GET, POST — did you mean "GET"?'],
    ],
    [
      'resources of the wrong kind',
      sourceWith([5, '']),
      [
        'resources[0]: expected a resource object or a string (its name and path)',
        'resources[1]: must not be empty',
      ],
    ],
    [
      'a bad config block',
      minimalSource({ config: { 'my-key': 1, b: {} } }),
      [
        'config["my-key"]: invalid key: expected an identifier: letters, digits and _',
        'config.b: expected a string, number, boolean or null (unset)',
      ],
    ],
    [
      'bad headers',
      withClient({ headers: { 'Bad Header': 'x', X: 5, Y: '{{ stream_slice.id }}' } }),
      [
        'client.headers["Bad Header"]: invalid key: expected an HTTP header name',
        'client.headers.X: expected a string or { $env: VARIABLE }',
        'client.headers.Y: {{ stream_slice.id }} is not allowed in client.headers: only config values are (a client header is shared by resources with and without parents)',
      ],
    ],
    [
      'a name in resource_defaults',
      minimalSource({ resource_defaults: { name: 'x' } }),
      [
        'resource_defaults.name: not supported: resource_defaults cannot name a resource; set `name` on each resource',
      ],
    ],
    [
      'bad response actions',
      withEndpoint({
        response_actions: [
          { status_code: 404, action: 'retry' },
          { action: 'ignore' },
          { status_code: 999, action: 'ignore' },
        ],
      }),
      [
        'resources[0].endpoint.response_actions[0].action: expected "ignore"',
        'resources[0].endpoint.response_actions[1]: set status_code, content or both, or the action matches nothing',
        'resources[0].endpoint.response_actions[2].status_code: must be at most 599',
      ],
    ],
    [
      'a dlt paginator object',
      withEndpoint({ paginator: new (class JSONLinkPaginator {})() }),
      [
        'resources[0].endpoint.paginator: an instance of JSONLinkPaginator: class instances (dlt paginator or auth objects, dates, maps) are not supported; use plain data',
      ],
    ],
    [
      'a bigint',
      withEndpoint({ params: { n: 10n } }),
      ['resources[0].endpoint.params.n: a bigint: write the number as a string or a safe integer'],
    ],
    [
      'a non-finite number',
      withEndpoint({ params: { n: Number.POSITIVE_INFINITY } }),
      ['resources[0].endpoint.params.n: not a finite number'],
    ],
  ];
  it.each(invalid)('%s', (_label, input, expected) => {
    expect(problemsOf(() => validateSourceConfig(input))).toEqual(expected);
  });

  it('reports a reference cycle in the input', () => {
    const endpoint: Record<string, unknown> = { path: '/a' };
    endpoint['self'] = endpoint;
    expect(problemsOf(() => validateSourceConfig(sourceWith([{ name: 'a', endpoint }])))).toContain(
      'resources[0].endpoint.self: a reference cycle: a source file is a tree of data',
    );
  });

  it('throws a config error with code CONFIG_INVALID listing the problems in its message', () => {
    let caught: unknown;
    try {
      validateSourceConfig(withEndpoint({ paginator: 'jsonlink' }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ category: 'config', code: 'CONFIG_INVALID', retryable: false });
    expect((caught as Error).message).toMatch(
      /^Invalid source config: 1 problem\n {2}- resources\[0\]\.endpoint\.paginator: expected one of/,
    );
  });
});
