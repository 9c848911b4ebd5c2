/**
 * Incremental loading on the config side: dlt's three forms (`endpoint.incremental`, an incremental param,
 * `{incremental.…}` placeholders) resolved into the plan with dlt's defaults, and every refusal at load with its path.
 */
import { describe, expect, it } from 'vitest';
import { validateSourceConfig } from '../../../src/config/analyse.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import type { ResolvedEndpoint } from '../../../src/shared/plan.ts';
import { problemsOf, sourceWith as anySource } from './helpers.ts';

/** Merged by id unless a test says otherwise: incremental with dlt's default append needs range_start: open. */
const sourceWith = (resources: readonly unknown[], extra: Record<string, unknown> = {}) =>
  anySource(resources, { resource_defaults: { primary_key: 'id', write_disposition: 'merge' }, ...extra });

const single = { paginator: 'single_page' } as const;

function endpointOf(resources: readonly unknown[]): ResolvedEndpoint {
  const plan = resolveSource(sourceWith(resources), { env: {} });
  const endpoint = plan.resources[0]?.endpoint;
  if (endpoint === null || endpoint === undefined) throw new Error('the resource is skipped');
  return endpoint;
}

const defaults = {
  startParam: null,
  endParam: null,
  initialValue: null,
  endValue: null,
  lag: null,
  rangeStart: 'closed',
  rangeEnd: 'open',
  onCursorValueMissing: 'raise',
} as const;

describe('incremental with append', () => {
  const appending = (incremental: Record<string, unknown>) =>
    validateSourceConfig(
      anySource([
        {
          name: 'events',
          endpoint: { path: '/events', ...single, incremental: { cursor_path: 'at', ...incremental } },
        },
      ]),
    );
  it('is refused with a closed start or a lag (the records at the cursor would be appended again)', () => {
    expect(problemsOf(() => appending({}))).toEqual([
      expect.stringContaining(
        'incremental loading with write_disposition append needs range_start: open and no lag',
      ),
    ]);
    expect(problemsOf(() => appending({ range_start: 'open', lag: 5 })).join('\n')).toContain(
      'and within the lag',
    );
  });
  it('runs with range_start: open and no lag', () => {
    expect(() => appending({ range_start: 'open' })).not.toThrow();
  });
});

describe('the three forms of incremental', () => {
  it('endpoint.incremental: every key, in the plan', () => {
    const endpoint = endpointOf([
      {
        name: 'tickets',
        endpoint: {
          path: '/tickets',
          ...single,
          params: { per_page: 100 },
          incremental: {
            start_param: 'updated_since',
            end_param: 'updated_before',
            cursor_path: '$.meta.updated_at',
            initial_value: '2024-01-01T00:00:00Z',
            end_value: '2024-02-01T00:00:00Z',
            lag: 3600,
            range_start: 'open',
            range_end: 'closed',
            on_cursor_value_missing: 'exclude',
            last_value_func: 'max',
          },
        },
      },
    ]);
    expect(endpoint.incremental).toEqual({
      cursorPath: 'meta.updated_at',
      startParam: 'updated_since',
      endParam: 'updated_before',
      initialValue: '2024-01-01T00:00:00Z',
      endValue: '2024-02-01T00:00:00Z',
      lag: 3600,
      rangeStart: 'open',
      rangeEnd: 'closed',
      onCursorValueMissing: 'exclude',
    });
    expect(endpoint.params).toEqual({ per_page: 100 });
  });

  it('endpoint.incremental: dlt defaults', () => {
    const endpoint = endpointOf([
      {
        name: 'a',
        endpoint: { path: '/a', ...single, incremental: { start_param: 's', cursor_path: 'id' } },
      },
    ]);
    expect(endpoint.incremental).toEqual({ ...defaults, cursorPath: 'id', startParam: 's' });
  });

  it('a param { type: incremental } is the start param and is not sent as a static param', () => {
    const endpoint = endpointOf([
      {
        name: 'a',
        endpoint: {
          path: '/a',
          ...single,
          params: { since: { type: 'incremental', cursor_path: 'updated_at', initial_value: 17 }, q: 'x' },
        },
      },
    ]);
    expect(endpoint.params).toEqual({ q: 'x' });
    expect(endpoint.incremental).toEqual({
      ...defaults,
      cursorPath: 'updated_at',
      startParam: 'since',
      initialValue: 17,
    });
  });

  it('placeholders become template parts; a whole JSON string keeps the value (a binding with whole)', () => {
    const endpoint = endpointOf([
      {
        name: 'a',
        endpoint: {
          path: '/a/{incremental.start_value}/list',
          method: 'POST',
          ...single,
          params: { to: '{{ incremental.end_value }}', from: 'after:{incremental.start_value}' },
          json: { filter: { since: '{incremental.start_value}', range: 'to {incremental.end_value}' } },
          incremental: { cursor_path: 'ts', initial_value: 0 },
        },
      },
    ]);
    expect(endpoint.path).toEqual(['/a/', { incremental: 'start_value' }, '/list']);
    expect(endpoint.params).toEqual({
      to: { template: [{ incremental: 'end_value' }] },
      from: { template: ['after:', { incremental: 'start_value' }] },
    });
    expect(endpoint.json).toEqual({
      value: { filter: { since: null, range: null } },
      bindings: [
        { pointer: ['filter', 'range'], template: ['to ', { incremental: 'end_value' }], whole: false },
        { pointer: ['filter', 'since'], template: [{ incremental: 'start_value' }], whole: true },
      ],
    });
    expect(endpoint.incremental).toEqual({ ...defaults, cursorPath: 'ts', initialValue: 0 });
    // A path ending in an incremental placeholder is not a single entity.
    expect(
      endpointOf([
        { name: 'b', endpoint: { path: '/b/{incremental.start_value}', incremental: { cursor_path: 'ts' } } },
      ]).paginator,
    ).toEqual({ type: 'auto', maxPages: 10_000 });
  });

  it('end_param without end_value is allowed (a run window may supply the end)', () => {
    const endpoint = endpointOf([
      {
        name: 'a',
        endpoint: {
          path: '/a',
          ...single,
          incremental: { start_param: 's', end_param: 'e', cursor_path: 'id' },
        },
      },
    ]);
    expect(endpoint.incremental?.endParam).toBe('e');
  });

  it('a resource without incremental has incremental: null', () => {
    expect(endpointOf([{ name: 'a', endpoint: { path: '/a', ...single } }]).incremental).toBeNull();
  });

  it('resource_defaults may set it (the endpoint merge)', () => {
    const plan = resolveSource(
      sourceWith([{ name: 'a' }, { name: 'b' }], {
        resource_defaults: {
          primary_key: 'id',
          write_disposition: 'merge',
          endpoint: { ...single, incremental: { start_param: 'since', cursor_path: 'ts' } },
        },
      }),
      { env: {} },
    );
    expect(plan.resources.map((resource) => resource.endpoint?.incremental?.startParam)).toEqual([
      'since',
      'since',
    ]);
  });
});

describe('incremental refused at load, with its path', () => {
  const refusals: [string, readonly unknown[], string[]][] = [
    [
      'endpoint.incremental and an incremental param',
      [
        {
          name: 'a',
          endpoint: {
            path: '/a',
            ...single,
            params: { since: { type: 'incremental', cursor_path: 'ts' } },
            incremental: { start_param: 's', cursor_path: 'ts' },
          },
        },
      ],
      [
        'resources[0].endpoint.params.since: "a" already loads incrementally by endpoint.incremental (resources[0].endpoint.incremental): a resource has one cursor, so keep one of endpoint.incremental and the params with type: incremental',
      ],
    ],
    [
      'two incremental params',
      [
        {
          name: 'a',
          endpoint: {
            path: '/a',
            ...single,
            params: {
              since: { type: 'incremental', cursor_path: 'ts' },
              after: { type: 'incremental', cursor_path: 'id' },
            },
          },
        },
      ],
      [
        'resources[0].endpoint.params.after: "a" already loads incrementally by the incremental param "since" (resources[0].endpoint.params.since): a resource has one cursor, so keep one of endpoint.incremental and the params with type: incremental',
      ],
    ],
    [
      'placeholders without an incremental config',
      [
        {
          name: 'a',
          endpoint: {
            path: '/a/{incremental.start_value}',
            method: 'POST',
            ...single,
            params: { to: '{incremental.end_value}' },
            json: { since: '{{ incremental.start_value }}' },
          },
        },
      ],
      [
        'resources[0].endpoint.path: {incremental.start_value} needs an incremental config: set endpoint.incremental (with cursor_path) or a param { type: incremental, cursor_path }',
        'resources[0].endpoint.params.to: {incremental.end_value} needs an incremental config: set endpoint.incremental (with cursor_path) or a param { type: incremental, cursor_path }',
        'resources[0].endpoint.json.since: {{ incremental.start_value }} needs an incremental config: set endpoint.incremental (with cursor_path) or a param { type: incremental, cursor_path }',
      ],
    ],
    [
      'a start_param that is also a static param',
      [
        {
          name: 'a',
          endpoint: {
            path: '/a',
            ...single,
            params: { since: '2020' },
            incremental: { start_param: 'since', cursor_path: 'ts' },
          },
        },
      ],
      [
        'resources[0].endpoint.incremental: start_param "since" is also set in params (resources[0].endpoint.params.since): the window would overwrite it; remove one',
      ],
    ],
    [
      'initial_value and end_value of different kinds',
      [
        {
          name: 'a',
          endpoint: {
            path: '/a',
            ...single,
            incremental: { cursor_path: 'ts', initial_value: 1, end_value: '2024' },
          },
        },
      ],
      [
        'resources[0].endpoint.incremental: initial_value (1) and end_value ("2024") must both be numbers or both be text',
      ],
    ],
    [
      'a child',
      [
        { name: 'p', endpoint: { path: '/p', ...single } },
        {
          name: 'c',
          endpoint: { path: '/p/{resources.p.id}/c', incremental: { start_param: 's', cursor_path: 'ts' } },
        },
      ],
      [
        'resources[1].endpoint.incremental: "c" is requested per record of the parent "p": a child\'s cursor per parent record is not supported; load the parent incrementally instead, or remove incremental',
      ],
    ],
    [
      'replace',
      [
        {
          name: 'a',
          primary_key: 'id',
          write_disposition: 'replace',
          endpoint: { path: '/a', ...single, params: { since: { type: 'incremental', cursor_path: 'ts' } } },
        },
      ],
      [
        'resources[0].endpoint.params.since: incremental loading cannot be combined with write_disposition replace (resources[0].write_disposition): an incremental run sees only its window, so replace would empty the rest of the table; use merge',
      ],
    ],
    [
      'deletion detection',
      [
        {
          name: 'a',
          primary_key: 'id',
          write_disposition: 'merge',
          deletion_detection: true,
          endpoint: { path: '/a', ...single, incremental: { start_param: 's', cursor_path: 'ts' } },
        },
      ],
      [
        'resources[0].endpoint.incremental: incremental loading cannot be combined with deletion detection (resources[0].deletion_detection): an incremental run sees only its window, so every row outside it would be marked deleted',
      ],
    ],
    [
      'side effects',
      [
        {
          name: 'a',
          side_effects: true,
          endpoint: { path: '/a', ...single, incremental: { start_param: 's', cursor_path: 'ts' } },
        },
      ],
      [
        'resources[0].endpoint.incremental: "a" has side effects (resources[0].side_effects): its request is sent once per load, so it has no cursor to advance; remove incremental',
      ],
    ],
  ];
  it.each(refusals)('%s', (_label, resources, expected) => {
    expect(problemsOf(() => validateSourceConfig(sourceWith(resources)))).toEqual(expected);
  });
});

describe('paginator body paths need a body', () => {
  it('refuses a body path on a GET request, at the paginator key', () => {
    expect(
      problemsOf(() =>
        validateSourceConfig(
          sourceWith(['a'], {
            client: {
              base_url: 'https://api.test',
              paginator: { type: 'page_number', page_body_path: 'page' },
            },
          }),
        ),
      ),
    ).toEqual([
      'client.paginator.page_body_path: "a" is a GET request, which has no JSON body: set method: POST on it, or send the value as a query parameter (page_param)',
    ]);
    expect(
      problemsOf(() =>
        validateSourceConfig(
          sourceWith([
            {
              name: 'a',
              endpoint: {
                path: '/a',
                paginator: { type: 'offset', limit: 5, offset_body_path: 'o', limit_body_path: 'l' },
              },
            },
          ]),
        ),
      ),
    ).toEqual([
      'resources[0].endpoint.paginator.offset_body_path: "a" is a GET request, which has no JSON body: set method: POST on it, or send the value as a query parameter (offset_param)',
      'resources[0].endpoint.paginator.limit_body_path: "a" is a GET request, which has no JSON body: set method: POST on it, or send the value as a query parameter (limit_param)',
    ]);
  });
});

describe('data_selector in the plan', () => {
  const forms: [string, string][] = [
    ['data', 'data'],
    ['$.data', 'data'],
    ['$.data[*]', 'data'],
    ['data.items', 'data.items'],
    ['$.data.items[*]', 'data.items'],
    ['$.data.*', 'data'],
    ['$', '$'],
    ['$[*]', '$'],
    ["$['odd key'][*]", "$['odd key']"],
    ["$.data['a.b']", "$.data['a.b']"],
    ['$["results"]', 'results'],
  ];
  it.each(forms)('%s → %s', (selector, normalised) => {
    expect(
      endpointOf([{ name: 'a', endpoint: { path: '/a', ...single, data_selector: selector } }]).dataSelector,
    ).toBe(normalised);
  });
});
