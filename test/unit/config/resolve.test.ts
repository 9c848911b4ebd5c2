import { describe, expect, it } from 'vitest';
import { defaultMaxPages, type ResolvedResource, type ResolvedSource } from '../../../src/shared/plan.ts';
import { canonicalJson } from '../../../src/config/plan-hash.ts';
import { resolvePaginator } from '../../../src/config/resolve-paginator.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import type { PaginatorConfig, SourceConfig } from '../../../src/config/schema.ts';
import { errorOf, problemLines, sourceWith } from './helpers.ts';

const single = { paginator: 'single_page' } as const;

/** A messaging-like source: `sms` sends (config values), `messages` is its child, `contacts` is independent. */
const messaging = {
  name: 'messaging',
  config: { to: null, from: null, message: null },
  client: {
    base_url: 'https://api.example.com',
    auth: { type: 'api_key', name: 'api_key', api_key: { $env: 'MESSAGING_API_KEY' }, location: 'header' },
  },
  resource_defaults: { primary_key: 'requestId', write_disposition: 'merge' },
  resources: [
    {
      name: 'sms',
      side_effects: true,
      endpoint: {
        path: '/messaging/v1/sms',
        params: {
          to: "{{ config['to'] }}",
          from: "{{ config['from'] }}",
          message: "{{ config['message'] or ''}}",
        },
        data_selector: 'data',
        paginator: { type: 'single_page' },
      },
    },
    {
      name: 'messages',
      endpoint: {
        path: '/messaging/v1/messages/{{ stream_slice.requestId }}',
        params: { requestId: { type: 'resolve', resource: 'sms', field: 'requestId' } },
        data_selector: 'data',
        paginator: { type: 'single_page' },
      },
    },
    {
      name: 'contacts',
      endpoint: { path: '/byon/contacts/v1', data_selector: 'data', paginator: { type: 'single_page' } },
    },
  ],
} as const satisfies SourceConfig;

const resource = (plan: ResolvedSource, name: string): ResolvedResource => {
  const found = plan.resources.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no resource ${name} in the plan`);
  return found;
};
const runnable = (plan: ResolvedSource, name: string) => {
  const found = resource(plan, name);
  if (found.endpoint === null) throw new Error(`${name} is skipped: ${found.skip.reason}`);
  return found.endpoint;
};
const sending = { MESSAGING_CONFIG_TO: '+4915112345678', MESSAGING_CONFIG_FROM: 'ACME' };

describe('config values and skipped resources', () => {
  it('skips sms with a reason when to and from are not set, and never plans its request', () => {
    const sms = resource(resolveSource(messaging, { env: {} }), 'sms');
    expect(sms.skip).toEqual({
      reason:
        'config values from, to are not set (set MESSAGING_CONFIG_FROM, MESSAGING_CONFIG_TO, or the config block of the source file)',
      missingConfig: ['from', 'to'],
    });
    expect(sms.endpoint).toBeNull();
  });

  it('runs sms with the values from the environment; an empty optional parameter is left out', () => {
    const plan = resolveSource(messaging, { env: sending });
    expect(resource(plan, 'sms').skip).toBeNull();
    expect(runnable(plan, 'sms').params).toEqual({ to: '+4915112345678', from: 'ACME' });
  });

  it('reads values from the config block, the environment winning; an empty variable counts as unset', () => {
    const source = { ...messaging, config: { to: '+1 555 0100', from: 'file', message: 'hello' } };
    expect(runnable(resolveSource(source, { env: { MESSAGING_CONFIG_FROM: 'env' } }), 'sms').params).toEqual({
      to: '+1 555 0100',
      from: 'env',
      message: 'hello',
    });
    expect(resource(resolveSource(source, { env: { MESSAGING_CONFIG_TO: '' } }), 'sms').skip).toBeNull();
    expect(
      resource(resolveSource({ ...messaging, config: { to: '', from: 'x' } }, { env: {} }), 'sms').skip
        ?.missingConfig,
    ).toEqual(['to']);
  });

  it("follows Python's `or`: the fallback replaces an unset or empty value", () => {
    const source = sourceWith(
      [
        {
          name: 'a',
          endpoint: {
            path: '/a',
            params: { q: "{{ config['q'] or 'all' }}", z: "{{ config['z'] or 'none' }}" },
            ...single,
          },
        },
      ],
      {
        config: { q: '', z: 'set' },
      },
    );
    expect(runnable(resolveSource(source, { env: {} }), 'a').params).toEqual({ q: 'all', z: 'set' });
  });

  it('skips a resource whose client header needs a missing value, but does not call it parameter-dependent', () => {
    const source = sourceWith([{ name: 'a', endpoint: { path: '/a', ...single } }], {
      client: { base_url: 'https://api.test', headers: { 'X-Account': "{{ config['account'] }}" } },
    });
    const skipped = resource(resolveSource(source, { env: {} }), 'a');
    expect(skipped.skip?.missingConfig).toEqual(['account']);
    expect(skipped.parameterDependent).toBe(false);
    expect(runnable(resolveSource(source, { env: { DEMO_CONFIG_ACCOUNT: '42' } }), 'a').headers).toEqual({
      'X-Account': '42',
    });
  });
});

describe('selection and dependencies', () => {
  it('lets messages read stored parents when sms is skipped', () => {
    const plan = resolveSource(messaging, { env: {} });
    expect(plan.resources.map((planned) => planned.name)).toEqual(['sms', 'messages', 'contacts']);
    expect(resource(plan, 'messages').dependency).toEqual({
      parent: 'sms',
      fields: ['requestId'],
      includeFromParent: [],
      parentRecordsFrom: 'storage',
      note: 'the parent "sms" is skipped (config values from, to are not set (set MESSAGING_CONFIG_FROM, MESSAGING_CONFIG_TO, or the config block of the source file)); its stored records are used',
    });
  });

  it("uses sms's records when sms runs", () => {
    const plan = resolveSource(messaging, { env: sending });
    expect(resource(plan, 'messages').dependency).toEqual({
      parent: 'sms',
      fields: ['requestId'],
      includeFromParent: [],
      parentRecordsFrom: 'run',
      note: null,
    });
    expect(runnable(plan, 'messages').path).toEqual([
      '/messaging/v1/messages/',
      { parentField: 'requestId' },
    ]);
    expect(runnable(plan, 'messages').params).toEqual({});
  });

  it('never runs sms implicitly: selecting only messages plans messages alone, reading stored parents', () => {
    const plan = resolveSource(messaging, { env: sending, only: ['messages'] });
    expect(plan.resources.map((planned) => [planned.name, planned.selection])).toEqual([
      ['messages', 'requested'],
    ]);
    expect(resource(plan, 'messages').dependency).toMatchObject({
      parentRecordsFrom: 'storage',
      note: 'the parent "sms" is not in this run; it is never run implicitly because it has side effects (side_effects: true); its stored records are used',
    });
    expect(resource(resolveSource(messaging, { env: sending }), 'sms').repeatable).toBe(false);
  });

  it('runs a repeatable parent of a selected child, transitively, parents first', () => {
    const source = sourceWith([
      { name: 'c', endpoint: { path: '/c/{resources.b.id}' } },
      { name: 'b', endpoint: { path: '/b/{resources.a.id}' } },
      { name: 'a', endpoint: { path: '/a', ...single } },
      { name: 'other', endpoint: { path: '/o', ...single } },
    ]);
    const plan = resolveSource(source, { env: {}, only: ['c'] });
    expect(plan.resources.map((planned) => [planned.name, planned.selection])).toEqual([
      ['a', 'parent'],
      ['b', 'parent'],
      ['c', 'requested'],
    ]);
    expect(resource(plan, 'c').dependency?.parentRecordsFrom).toBe('run');
  });

  it('runs a POST parent implicitly: a request is repeatable unless it has side effects', () => {
    const search = {
      name: 'search',
      endpoint: { path: '/search', method: 'POST', json: { q: 'x' }, paginator: { type: 'json_link' } },
    };
    const detail = { name: 'detail', endpoint: { path: '/d/{resources.search.id}' } };
    const plan = resolveSource(sourceWith([search, detail]), { env: {}, only: ['detail'] });
    expect(plan.resources.map((planned) => [planned.name, planned.selection, planned.repeatable])).toEqual([
      ['search', 'parent', true],
      ['detail', 'requested', true],
    ]);
    expect(resource(plan, 'detail').dependency?.parentRecordsFrom).toBe('run');

    const sending = { ...search, side_effects: true, endpoint: { ...search.endpoint, ...single } };
    const alone = resolveSource(sourceWith([sending, detail]), { env: {}, only: ['detail'] });
    expect(alone.resources.map((planned) => planned.name)).toEqual(['detail']);
    expect(resource(alone, 'detail').dependency?.parentRecordsFrom).toBe('storage');
  });

  it('runs a parent that uses config values implicitly; skipped for a missing value, the child reads storage', () => {
    const source = sourceWith([
      { name: 'a', endpoint: { path: "/a/{{ config['account'] }}", ...single } },
      { name: 'b', endpoint: { path: '/b/{resources.a.id}' } },
    ]);
    const missing = resolveSource(source, { env: {}, only: ['b'] });
    expect(missing.resources.map((planned) => [planned.name, planned.selection])).toEqual([
      ['a', 'parent'],
      ['b', 'requested'],
    ]);
    expect(resource(missing, 'a').skip?.missingConfig).toEqual(['account']);
    expect(resource(missing, 'b').dependency?.parentRecordsFrom).toBe('storage');
    const set = resolveSource(source, { env: { DEMO_CONFIG_ACCOUNT: '7' }, only: ['b'] });
    expect(resource(set, 'b').dependency?.parentRecordsFrom).toBe('run');
  });

  it('leaves out `selected: false` resources unless asked for by name', () => {
    const source = sourceWith([
      { name: 'a', endpoint: { path: '/a', ...single } },
      { name: 'b', selected: false, endpoint: { path: '/b', ...single } },
    ]);
    expect(resolveSource(source, { env: {} }).resources.map((planned) => planned.name)).toEqual(['a']);
    expect(resolveSource(source, { env: {}, only: ['b'] }).resources.map((planned) => planned.name)).toEqual([
      'b',
    ]);
  });

  it('rejects unknown names in the selection, listing the valid ones', () => {
    const error = errorOf(() => resolveSource(messaging, { env: {}, only: ['sms', 'mesages', 'nope'] }));
    expect(error.code).toBe('SELECTION_INVALID');
    expect(problemLines(error)).toEqual([
      'only[1]: unknown resource "mesages" — did you mean "messages"?; source messaging has: sms, messages, contacts',
      'only[2]: unknown resource "nope"; source messaging has: sms, messages, contacts',
    ]);
    expect(problemLines(errorOf(() => resolveSource(messaging, { env: {}, only: [] })))).toEqual([
      'only: empty: name at least one of sms, messages, contacts',
    ]);
  });
});

describe('the base URL', () => {
  it('comes from the run options, else <SOURCE>_BASE_URL, else the file', () => {
    const env = { MESSAGING_BASE_URL: 'http://127.0.0.1:8080/api' };
    expect(resolveSource(messaging, { env: {} }).baseUrl).toBe('https://api.example.com');
    expect(resolveSource(messaging, { env }).baseUrl).toBe('http://127.0.0.1:8080/api');
    expect(resolveSource(messaging, { env, baseUrl: 'http://sandbox.local' }).baseUrl).toBe(
      'http://sandbox.local',
    );
  });

  it('is required, and checked wherever it comes from (without echoing it)', () => {
    const { base_url: _dropped, ...client } = messaging.client;
    expect(problemLines(errorOf(() => resolveSource({ ...messaging, client }, { env: {} })))).toEqual([
      'client.base_url: required (or set MESSAGING_BASE_URL)',
    ]);
    const error = errorOf(() =>
      resolveSource(messaging, { env: { MESSAGING_BASE_URL: 'https://user:hunter22@api.test' } }),
    );
    expect(problemLines(error)).toEqual([
      'environment MESSAGING_BASE_URL: credentials in a URL are not allowed: use auth',
    ]);
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('hunter22');
  });
});

describe('defaults in the plan', () => {
  const paginators: [PaginatorConfig | undefined, unknown][] = [
    [undefined, { type: 'auto', maxPages: defaultMaxPages }],
    ['single_page', { type: 'single_page' }],
    ['json_link', { type: 'json_link', nextUrlPath: 'next', maxPages: defaultMaxPages }],
    [
      { type: 'json_response', next_url_path: 'n', max_pages: 3 },
      { type: 'json_link', nextUrlPath: 'n', maxPages: 3 },
    ],
    ['header_link', { type: 'header_link', linksNextKey: 'next', maxPages: defaultMaxPages }],
    [
      'header_cursor',
      { type: 'header_cursor', cursorKey: 'next', cursorParam: 'cursor', maxPages: defaultMaxPages },
    ],
    [
      { type: 'offset', limit: 50 },
      {
        type: 'offset',
        limit: 50,
        offset: 0,
        offsetParam: 'offset',
        limitParam: 'limit',
        offsetBodyPath: null,
        limitBodyPath: null,
        totalPath: 'total',
        maximumOffset: null,
        hasMorePath: null,
        stopAfterEmptyPage: true,
        maxPages: defaultMaxPages,
      },
    ],
    [
      {
        type: 'offset',
        limit: 25,
        offset_body_path: '$.pagination.offset',
        limit_body_path: 'pagination.limit',
        total_path: null,
        has_more_path: 'meta.has_more',
      },
      {
        type: 'offset',
        limit: 25,
        offset: 0,
        offsetParam: null,
        limitParam: null,
        offsetBodyPath: 'pagination.offset',
        limitBodyPath: 'pagination.limit',
        totalPath: null,
        maximumOffset: null,
        hasMorePath: 'meta.has_more',
        stopAfterEmptyPage: true,
        maxPages: defaultMaxPages,
      },
    ],
    [
      { type: 'offset', limit: 25, offset_body_path: 'skip', limit_param: 'take' },
      {
        type: 'offset',
        limit: 25,
        offset: 0,
        offsetParam: null,
        limitParam: 'take',
        offsetBodyPath: 'skip',
        limitBodyPath: null,
        totalPath: 'total',
        maximumOffset: null,
        hasMorePath: null,
        stopAfterEmptyPage: true,
        maxPages: defaultMaxPages,
      },
    ],
    [
      { type: 'page_number', base_page: 1, total_path: null },
      {
        type: 'page_number',
        basePage: 1,
        page: 1,
        pageParam: 'page',
        pageBodyPath: null,
        totalPath: null,
        maximumPage: null,
        hasMorePath: null,
        stopAfterEmptyPage: true,
        maxPages: defaultMaxPages,
      },
    ],
    [
      { type: 'page_number', page_body_path: 'paging.page', total_path: null, has_more_path: 'hasMore' },
      {
        type: 'page_number',
        basePage: 0,
        page: 0,
        pageParam: null,
        pageBodyPath: 'paging.page',
        totalPath: null,
        maximumPage: null,
        hasMorePath: 'hasMore',
        stopAfterEmptyPage: true,
        maxPages: defaultMaxPages,
      },
    ],
    [
      'cursor',
      {
        type: 'cursor',
        cursorPath: 'cursors.next',
        cursorParam: 'cursor',
        cursorBodyPath: null,
        maxPages: defaultMaxPages,
      },
    ],
    [
      { type: 'cursor', cursor_body_path: 'after' },
      {
        type: 'cursor',
        cursorPath: 'cursors.next',
        cursorParam: null,
        cursorBodyPath: 'after',
        maxPages: defaultMaxPages,
      },
    ],
  ];
  it.each(paginators)('paginator %j', (config, expected) => {
    expect(resolvePaginator(config)).toEqual(expected);
  });

  it("applies dlt's single-entity rule before the client's paginator", () => {
    const source = sourceWith(
      [
        { name: 'p', endpoint: '/p' },
        {
          name: 'one',
          endpoint: { path: '/p/{id}', params: { id: { type: 'resolve', resource: 'p', field: 'id' } } },
        },
      ],
      { client: { base_url: 'https://api.test', paginator: { type: 'offset', limit: 5 } } },
    );
    const plan = resolveSource(source, { env: {} });
    expect(runnable(plan, 'p').paginator.type).toBe('offset');
    expect(runnable(plan, 'p').dataSelector).toBeNull();
    expect(runnable(plan, 'one').paginator).toEqual({ type: 'single_page' });
    expect(runnable(plan, 'one').dataSelector).toBe('$');
  });

  const auths: [string, unknown, unknown][] = [
    ['bearer', 'bearer', { type: 'bearer', token: { $env: 'DEMO_TOKEN' } }],
    [
      'api_key',
      'api_key',
      { type: 'api_key', name: 'Authorization', location: 'header', apiKey: { $env: 'DEMO_API_KEY' } },
    ],
    [
      'http_basic',
      'http_basic',
      { type: 'http_basic', username: { $env: 'DEMO_USERNAME' }, password: { $env: 'DEMO_PASSWORD' } },
    ],
    ['an object without type', { token: { $env: 'T' } }, { type: 'bearer', token: { $env: 'T' } }],
    [
      'api_key in param',
      { type: 'api_key', api_key: { $env: 'K' }, location: 'param' },
      { type: 'api_key', name: 'Authorization', location: 'query', apiKey: { $env: 'K' } },
    ],
    [
      'http_basic with a literal user',
      { type: 'http_basic', username: 'me', password: { $env: 'P' } },
      { type: 'http_basic', username: 'me', password: { $env: 'P' } },
    ],
    [
      'oauth2',
      {
        type: 'oauth2_client_credentials',
        access_token_url: 'https://auth.test/t',
        client_id: 'id',
        client_secret: { $env: 'S' },
        access_token_request_data: { scope: 'r', client_assertion: { $env: 'A' } },
      },
      {
        type: 'oauth2_client_credentials',
        accessTokenUrl: 'https://auth.test/t',
        clientId: 'id',
        clientSecret: { $env: 'S' },
        accessTokenRequestData: { scope: 'r', client_assertion: { $env: 'A' } },
        defaultTokenExpiration: 3600,
      },
    ],
  ];
  it.each(auths)('auth %s', (_label, auth, expected) => {
    const plan = resolveSource(
      sourceWith(['a'], { client: { base_url: 'https://api.test', paginator: 'single_page', auth } }),
      { env: {} },
    );
    expect(runnable(plan, 'a').auth).toEqual(expected);
  });

  it('lets an endpoint auth override the client auth, and lists the variables the run needs', () => {
    const source = sourceWith(
      [
        { name: 'a', endpoint: { path: '/a', ...single } },
        {
          name: 'b',
          endpoint: {
            path: '/b',
            auth: { token: { $env: 'B_TOKEN' } },
            headers: { 'X-Key': { $env: 'B_HEADER' } },
            ...single,
          },
        },
      ],
      { client: { base_url: 'https://api.test', auth: 'bearer' } },
    );
    const plan = resolveSource(source, { env: {} });
    expect(runnable(plan, 'b').auth).toEqual({ type: 'bearer', token: { $env: 'B_TOKEN' } });
    expect(plan.secretVariables).toEqual(['B_HEADER', 'B_TOKEN', 'DEMO_TOKEN']);
  });

  it('fills in the resource-level defaults', () => {
    const source = sourceWith([
      {
        name: 'a',
        endpoint: { path: '/a', ...single },
        columns: [{ name: 'id', data_type: 'text', primary_key: true }],
      },
      {
        name: 'b',
        table_name: 'bees',
        write_disposition: { disposition: 'replace' },
        endpoint: { path: '/b', ...single },
      },
    ]);
    const plan = resolveSource(source, { env: {} });
    expect(resource(plan, 'a')).toMatchObject({
      tableName: 'a',
      primaryKey: ['id'],
      writeDisposition: 'append',
      deletionDetection: false,
      columns: {
        id: {
          dataType: 'text',
          nullable: null,
          precision: null,
          scale: null,
          timezone: null,
          description: null,
        },
      },
    });
    expect(resource(plan, 'b')).toMatchObject({
      tableName: 'bees',
      primaryKey: [],
      writeDisposition: 'replace',
    });
    expect(runnable(plan, 'a').method).toBe('GET');
  });
});

describe('templates bound into the plan', () => {
  it('encodes a config value placed in a path as one segment', () => {
    const source = sourceWith(
      [{ name: 'a', endpoint: { path: "/accounts/{{ config['account'] }}/items", ...single } }],
      {
        config: { account: 'a/b c+d' },
      },
    );
    expect(runnable(resolveSource(source, { env: {} }), 'a').path).toEqual(['/accounts/a%2Fb%20c%2Bd/items']);
  });

  it('keeps parent fields as bindings in params, JSON bodies and headers; a whole-string value keeps its type', () => {
    const source = sourceWith(
      [
        { name: 'p', endpoint: { path: '/p', ...single } },
        {
          name: 'c',
          endpoint: {
            path: '/c',
            method: 'POST',
            params: {
              id: '{resources.p.id}',
              label: 'id-{resources.p.id}',
              page: 1,
              all: true,
              tags: ['x', 2],
              skip: null,
            },
            json: {
              parent: '{resources.p.id}',
              text: 'n={resources.p.n}',
              limit: "{{ config['limit'] }}",
              nested: [{ v: '{resources.p.v}' }],
            },
            headers: { 'X-Parent': '{resources.p.id}' },
          },
        },
      ],
      { config: { limit: 25 } },
    );
    const endpoint = runnable(resolveSource(source, { env: {} }), 'c');
    expect(endpoint.params).toEqual({
      id: { template: [{ parentField: 'id' }] },
      label: { template: ['id-', { parentField: 'id' }] },
      page: 1,
      all: true,
      tags: ['x', 2],
    });
    expect(endpoint.json).toEqual({
      value: { parent: null, text: null, limit: 25, nested: [{ v: null }] },
      bindings: [
        { pointer: ['nested', 0, 'v'], template: [{ parentField: 'v' }], whole: true },
        { pointer: ['parent'], template: [{ parentField: 'id' }], whole: true },
        { pointer: ['text'], template: ['n=', { parentField: 'n' }], whole: false },
      ],
    });
    expect(endpoint.headers).toEqual({ 'X-Parent': { template: [{ parentField: 'id' }] } });
  });

  it('merges client and endpoint headers case-insensitively, the endpoint winning', () => {
    const source = sourceWith(
      [
        {
          name: 'a',
          endpoint: {
            path: '/a',
            headers: { accept: 'text/csv', 'X-Trace': "{{ config['t'] or 'none' }}" },
            ...single,
          },
        },
      ],
      {
        client: { base_url: 'https://api.test', headers: { Accept: 'application/json', 'User-Agent': 'di' } },
      },
    );
    expect(runnable(resolveSource(source, { env: {} }), 'a').headers).toEqual({
      accept: 'text/csv',
      'User-Agent': 'di',
      'X-Trace': 'none',
    });
  });

  it('refuses a config value that would put a line break in a header', () => {
    const source = sourceWith([
      { name: 'a', endpoint: { path: '/a', headers: { 'X-A': "{{ config['a'] }}" }, ...single } },
    ]);
    expect(
      problemLines(errorOf(() => resolveSource(source, { env: { DEMO_CONFIG_A: 'x\r\nInjected: 1' } }))),
    ).toEqual([
      'resources[0].endpoint.headers["X-A"]: the header value contains a line break (from a config value)',
    ]);
  });
});

describe('the plan', () => {
  it('is JSON-serialisable and carries no credential value', () => {
    const plan = resolveSource(messaging, { env: { ...sending, MESSAGING_API_KEY: 'sk_live_abcdef' } });
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    expect(JSON.stringify(plan)).not.toContain('sk_live_abcdef');
  });

  it('has a hash that ignores key order and warnings but changes with what the run does', () => {
    const reordered = JSON.parse(canonicalJson(messaging)) as SourceConfig;
    const base = resolveSource(messaging, { env: {} });
    expect(resolveSource(reordered, { env: {} }).hash).toBe(base.hash);
    expect(base.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(
      resolveSource(
        { ...messaging, resource_defaults: { ...messaging.resource_defaults, parallelized: true } },
        { env: {} },
      ).hash,
    ).toBe(base.hash);
    expect(resolveSource(messaging, { env: sending }).hash).not.toBe(base.hash);
    expect(
      resolveSource({ ...messaging, config: { ...messaging.config, message: 'hi' } }, { env: sending }).hash,
    ).not.toBe(resolveSource(messaging, { env: sending }).hash);
    expect(resolveSource(messaging, { env: {}, only: ['contacts'] }).hash).not.toBe(base.hash);
    expect(resolveSource(messaging, { env: {}, baseUrl: 'http://localhost:1' }).hash).not.toBe(base.hash);
  });

  it('never mutates the config it resolves', () => {
    const input = structuredClone(messaging) as unknown as SourceConfig;
    const before = structuredClone(input);
    resolveSource(input, { env: sending });
    expect(input).toEqual(before);
  });
});

describe('the retry block (ours)', () => {
  const withRetry = (retry: Record<string, unknown>) =>
    ({ ...sourceWith([{ name: 'a', endpoint: { path: '/a', ...single } }]), retry }) as SourceConfig;

  it('reaches the plan in milliseconds, only what the file sets', () => {
    const plan = resolveSource(
      withRetry({ max_attempts: 3, retry_after_ceiling_seconds: 30, initial_delay_seconds: 0.5 }),
      {
        env: {},
      },
    );
    expect(plan.retry).toEqual({ maxAttempts: 3, retryAfterCeilingMs: 30_000, initialDelayMs: 500 });
  });

  it('is absent from a plan whose file has none, and changes the hash when set', () => {
    const plain = resolveSource(sourceWith([{ name: 'a', endpoint: { path: '/a', ...single } }]), {
      env: {},
    });
    expect(plain.retry).toBeUndefined();
    expect(resolveSource(withRetry({ max_attempts: 3 }), { env: {} }).hash).not.toBe(plain.hash);
  });

  it('refuses a value out of range, with its path', () => {
    expect(
      problemLines(errorOf(() => resolveSource(withRetry({ max_attempts: 0 }), { env: {} }))).join('\n'),
    ).toMatch(/retry\.max_attempts/);
  });
});

describe('the rejected_records block (ours)', () => {
  const withRetention = (block: Record<string, unknown>) =>
    ({
      ...sourceWith([{ name: 'a', endpoint: { path: '/a', ...single } }]),
      rejected_records: block,
    }) as SourceConfig;

  it('reaches the plan as days; absent when the file does not set it (the default, 30, applies)', () => {
    expect(resolveSource(withRetention({ retention_days: 7 }), { env: {} }).rejectedRetentionDays).toBe(7);
    const plain = resolveSource(sourceWith([{ name: 'a', endpoint: { path: '/a', ...single } }]), {
      env: {},
    });
    expect(plain.rejectedRetentionDays).toBeUndefined();
    expect(resolveSource(withRetention({}), { env: {} }).hash).toBe(plain.hash);
  });

  it('refuses a retention that is not a positive number of days, and an unknown key, with the path', () => {
    for (const block of [{ retention_days: 0 }, { retention_days: 'a week' }, { keep: 3 }]) {
      expect(
        problemLines(errorOf(() => resolveSource(withRetention(block), { env: {} }))).join('\n'),
      ).toMatch(/rejected_records\./);
    }
  });
});
