import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResolvedEndpoint } from '../../../src/shared/plan.ts';
import { encodePathValue, joinUrl, renderRequest } from '../../../src/config/render.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import { errorOf, sourceWith } from './helpers.ts';

const endpoint = (overrides: Partial<ResolvedEndpoint> = {}): ResolvedEndpoint => ({
  method: 'GET',
  path: ['/items/', { parentField: 'id' }],
  params: { q: { template: [{ parentField: 'id' }] } },
  json: null,
  headers: {},
  auth: null,
  paginator: { type: 'single_page' },
  dataSelector: null,
  responseActions: [],
  incremental: null,
  ...overrides,
});

/** Text without lone surrogates (they are not Unicode text and cannot be sent). */
const text = fc.string({ unit: 'grapheme', maxLength: 40 });

describe('URL encoding of template values', () => {
  const examples: [string, string, string][] = [
    ['a plus', '+4915112345678', '%2B4915112345678'],
    ['a slash', 'a/b', 'a%2Fb'],
    ['a space', 'a b', 'a%20b'],
    ['unicode', 'Zürich 東京', 'Z%C3%BCrich%20%E6%9D%B1%E4%BA%AC'],
    ['reserved characters', '?#&=%', '%3F%23%26%3D%25'],
  ];
  it.each(examples)('%s', (_label, value, encoded) => {
    const request = renderRequest('https://api.test', endpoint(), { parent: { id: value } });
    expect(request.url).toBe(`https://api.test/items/${encoded}?q=${encoded}`);
  });

  it('round-trips any text through a path segment and a query value (a + arrives as +)', () => {
    fc.assert(
      fc.property(
        text.filter((value) => value !== '.' && value !== '..'),
        (value) => {
          const url = new URL(
            renderRequest('https://api.test/v1', endpoint(), { parent: { id: value } }).url,
          );
          const segments = url.pathname.split('/');
          expect(segments.length).toBe(4);
          expect(decodeURIComponent(segments[3] ?? '')).toBe(value);
          expect(url.searchParams.get('q')).toBe(value);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses values that would move the request to another path', () => {
    for (const value of ['.', '..']) {
      expect(
        errorOf(() => renderRequest('https://api.test', endpoint(), { parent: { id: value } })).code,
      ).toBe('PATH_VALUE_UNSAFE');
    }
    expect(errorOf(() => encodePathValue('\uD800')).code).toBe('VALUE_NOT_ENCODABLE');
  });
});

describe('renderRequest', () => {
  it('binds parent fields (dotted paths, numbers) and reports what is missing', () => {
    const nested = endpoint({ path: ['/u/', { parentField: 'user.id' }], params: {} });
    expect(renderRequest('https://api.test', nested, { parent: { user: { id: 42 } } }).url).toBe(
      'https://api.test/u/42',
    );
    expect(
      errorOf(() =>
        renderRequest('https://api.test', nested, { parent: { user: {} }, resource: 'comments' }),
      ),
    ).toMatchObject({
      code: 'PARENT_FIELD_MISSING',
      category: 'response-shape',
      message: 'a parent record of "comments" has no field "user.id"',
    });
    expect(
      errorOf(() => renderRequest('https://api.test', nested, { parent: { user: { id: { a: 1 } } } })).code,
    ).toBe('PARENT_FIELD_INVALID');
    expect(errorOf(() => renderRequest('https://api.test', nested)).code).toBe('PARENT_RECORD_REQUIRED');
  });

  it('sends lists as repeated parameters, numbers and booleans as text, after any query in the path', () => {
    const request = renderRequest(
      'https://api.test',
      endpoint({ path: ['/s?fixed=1'], params: { ids: [1, 'a b'], all: true, n: 5 } }),
    );
    expect(request.url).toBe('https://api.test/s?fixed=1&ids=1&ids=a%20b&all=true&n=5');
  });

  it('fills JSON bodies, keeping the type of a whole-field value, without touching the plan', () => {
    const plan = endpoint({
      method: 'POST',
      path: ['/search'],
      params: {},
      json: {
        value: { id: null, label: null, nested: [{ keep: 1, v: null }] },
        bindings: [
          { pointer: ['id'], template: [{ parentField: 'id' }], whole: true },
          { pointer: ['label'], template: ['#', { parentField: 'id' }], whole: false },
          { pointer: ['nested', 0, 'v'], template: [{ parentField: 'tags' }], whole: true },
        ],
      },
    });
    const before = structuredClone(plan);
    const request = renderRequest('https://api.test', plan, { parent: { id: 7, tags: ['a'] } });
    expect(request.json).toEqual({ id: 7, label: '#7', nested: [{ keep: 1, v: ['a'] }] });
    expect(plan).toEqual(before);
  });

  it('refuses a parent value that would put a line break in a header', () => {
    const withHeader = endpoint({
      path: ['/a'],
      params: {},
      headers: { 'X-Id': { template: [{ parentField: 'id' }] } },
    });
    expect(renderRequest('https://api.test', withHeader, { parent: { id: 'x' } }).headers).toEqual({
      'X-Id': 'x',
    });
    expect(
      errorOf(() => renderRequest('https://api.test', withHeader, { parent: { id: 'x\r\nSet-Cookie: a' } }))
        .code,
    ).toBe('HEADER_VALUE_INVALID');
  });

  it("joins base URLs and paths dlt's way", () => {
    expect(joinUrl('https://h/v2', '/users')).toBe('https://h/v2/users');
    expect(joinUrl('https://h/v2/', 'users')).toBe('https://h/v2/users');
    expect(joinUrl('https://h', '')).toBe('https://h');
    expect(joinUrl('https://h/v2', 'https://other/x')).toBe('https://other/x');
  });

  it('renders the seed messages request for one sms record', () => {
    const source = sourceWith(
      [
        {
          name: 'sms',
          endpoint: {
            path: '/messaging/v1/sms',
            params: { to: "{{ config['to'] }}" },
            paginator: 'single_page',
          },
        },
        {
          name: 'messages',
          endpoint: {
            path: '/messaging/v1/messages/{{ stream_slice.requestId }}',
            params: { requestId: { type: 'resolve', resource: 'sms', field: 'requestId' } },
            data_selector: 'data',
          },
        },
      ],
      { name: 'messaging', config: { to: '+1 (555) 010' } },
    );
    const plan = resolveSource(source, { env: {} });
    const [sms, messages] = plan.resources;
    if (sms?.endpoint == null || messages?.endpoint == null) throw new Error('both resources must run');
    expect(renderRequest(plan.baseUrl, sms.endpoint).url).toBe(
      'https://api.test/messaging/v1/sms?to=%2B1%20(555)%20010',
    );
    expect(renderRequest(plan.baseUrl, messages.endpoint, { parent: { requestId: '3f2a-9b' } }).url).toBe(
      'https://api.test/messaging/v1/messages/3f2a-9b',
    );
  });
});

describe('the incremental window', () => {
  const incremental = {
    cursorPath: 'updated_at',
    startParam: 'since',
    endParam: 'until',
    initialValue: '2024-01-01T00:00:00Z',
    endValue: null,
    lag: null,
    rangeStart: 'closed',
    rangeEnd: 'open',
    onCursorValueMissing: 'raise',
  } as const;
  const windowed = (overrides: Partial<ResolvedEndpoint> = {}): ResolvedEndpoint =>
    endpoint({ path: ['/items'], params: { per_page: 100 }, incremental, ...overrides });

  it('adds startParam and endParam after the params (numbers as text, strings as they are)', () => {
    expect(
      renderRequest('https://api.test', windowed(), {
        incremental: { start: '2024-03-01T00:00:00Z', end: 1700 },
      }).url,
    ).toBe('https://api.test/items?per_page=100&since=2024-03-01T00%3A00%3A00Z&until=1700');
  });

  it('leaves out a parameter whose value the window lacks', () => {
    expect(
      renderRequest('https://api.test', windowed(), { incremental: { start: null, end: null } }).url,
    ).toBe('https://api.test/items?per_page=100');
  });

  it('without a window, uses the first one (initialValue to endValue)', () => {
    expect(renderRequest('https://api.test', windowed()).url).toBe(
      'https://api.test/items?per_page=100&since=2024-01-01T00%3A00%3A00Z',
    );
  });

  it('fills placeholders in the path, params and JSON body; a null value leaves a param out, is null in JSON', () => {
    const placeholders = windowed({
      method: 'POST',
      path: ['/items/', { incremental: 'start_value' }],
      params: {
        to: { template: [{ incremental: 'end_value' }] },
        from: { template: ['after:', { incremental: 'start_value' }] },
      },
      json: {
        value: { since: null, range: null, keep: 1 },
        bindings: [
          { pointer: ['range'], template: ['to ', { incremental: 'end_value' }], whole: false },
          { pointer: ['since'], template: [{ incremental: 'start_value' }], whole: true },
        ],
      },
      incremental: { ...incremental, startParam: null, endParam: null },
    });
    const full = renderRequest('https://api.test', placeholders, { incremental: { start: 42, end: 'z/1' } });
    expect(full.url).toBe('https://api.test/items/42?to=z%2F1&from=after%3A42');
    expect(full.json).toEqual({ since: 42, range: 'to z/1', keep: 1 });
    const open = renderRequest('https://api.test', placeholders, {
      incremental: { start: 'a b', end: null },
    });
    expect(open.url).toBe('https://api.test/items/a%20b?from=after%3Aa%20b');
    expect(open.json).toEqual({ since: 'a b', range: null, keep: 1 });
  });

  it('a path placeholder without a value is a config error naming it', () => {
    const error = errorOf(() =>
      renderRequest('https://api.test', windowed({ path: ['/items/', { incremental: 'end_value' }] }), {
        resource: 'tickets',
        incremental: { start: 1, end: null },
      }),
    );
    expect(error.category).toBe('config');
    expect(error.code).toBe('INCREMENTAL_VALUE_MISSING');
    expect(error.message).toBe(
      '{incremental.end_value} in the path of "tickets" has no value in this run\'s window (set initial_value or end_value, or give the run a window)',
    );
  });
});
