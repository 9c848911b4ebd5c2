import { describe, expect, it } from 'vitest';
import { validateSourceConfig } from '../../../src/config/analyse.ts';
import { problemsOf, sourceWith } from './helpers.ts';

const single = { paginator: 'single_page' } as const;
const sendsSms = {
  name: 'sms',
  primary_key: 'id',
  write_disposition: 'merge',
  endpoint: { path: '/sms', params: { to: "{{ config['to'] }}" }, ...single },
};

describe('checks across resources', () => {
  const invalid: [string, unknown, string[]][] = [
    [
      'duplicate names (object and string resources)',
      sourceWith([{ name: 'a', endpoint: { path: '/a', ...single } }, 'a', { name: 'a' }]),
      [
        'resources[1]: duplicate resource name "a" (first defined at resources[0])',
        'resources[2].name: duplicate resource name "a" (first defined at resources[0])',
      ],
    ],
    [
      'an unknown parent',
      sourceWith([
        { name: 'sms', endpoint: { path: '/s', ...single } },
        { name: 'm', endpoint: { path: '/m/{resources.smss.id}', ...single } },
      ]),
      [
        'resources[1].endpoint.path: unknown parent resource "smss" — did you mean "sms"?; the resources are: sms, m',
      ],
    ],
    [
      'an unknown parent in a resolve param',
      sourceWith([
        { name: 'p', endpoint: '/p' },
        {
          name: 'm',
          endpoint: { path: '/m/{id}', params: { id: { type: 'resolve', resource: 'q', field: 'id' } } },
        },
      ]),
      [
        'resources[1].endpoint.path: unknown parent resource "q" — did you mean "p"?; the resources are: p, m',
      ],
    ],
    [
      'a stream_slice without its parent binding',
      sourceWith([{ name: 'm', endpoint: { path: '/m/{{ stream_slice.requestId }}' } }]),
      [
        'resources[0].endpoint.path: {{ stream_slice.requestId }} needs the parent binding params.requestId: { type: resolve, resource: <parent>, field: <field of the parent record> }',
      ],
    ],
    [
      'a stream_slice in a param without its binding',
      sourceWith([{ name: 'm', endpoint: { path: '/m', params: { id: '{{ stream_slice.id }}' } } }]),
      [
        'resources[0].endpoint.params.id: {{ stream_slice.id }} needs the parent binding params.id: { type: resolve, resource: <parent>, field: <field of the parent record> }',
      ],
    ],
    [
      'path placeholders without a resolve param',
      sourceWith([
        { name: 'm', endpoint: { path: '/m/{id}' } },
        { name: 'n', endpoint: { path: '/n/{id}', params: { id: 5 } } },
      ]),
      [
        'resources[0].endpoint.path: {id} names no resolve param: add params.id: { type: resolve, resource, field }, or write {resources.<parent>.<field>}',
        'resources[1].endpoint.path: {id}: binding the static param "id" into the path is not supported (dlt deprecates it); write its value in the path',
      ],
    ],
    [
      'an unused resolve param',
      sourceWith([
        { name: 'p', endpoint: { path: '/p', ...single } },
        {
          name: 'm',
          endpoint: { path: '/m', params: { id: { type: 'resolve', resource: 'p', field: 'id' } } },
        },
      ]),
      [
        'resources[1].endpoint.params.id: the resolve param "id" is not used: reference it as {id} in the path or as {{ stream_slice.id }}',
      ],
    ],
    [
      'two parents',
      sourceWith([
        { name: 'p', endpoint: '/p' },
        { name: 'q', endpoint: '/q' },
        { name: 'm', endpoint: { path: '/m/{resources.p.id}/{resources.q.id}' } },
      ]),
      [
        'resources[2].endpoint.path: {resources.q.id} names the parent "q", but {resources.p.id} (resources[2].endpoint.path) names "p": a resource has one parent, so every resolve param of "m" (and every {resources.<parent>.<field>}) must name the same one',
      ],
    ],
    [
      'dependency cycles, including a self-reference',
      sourceWith([
        { name: 'a', endpoint: { path: '/a/{resources.b.id}' } },
        { name: 'b', endpoint: { path: '/b/{resources.c.id}' } },
        { name: 'c', endpoint: { path: '/c/{resources.a.id}' } },
        { name: 'd', endpoint: { path: '/d/{resources.d.id}' } },
      ]),
      [
        "resources[0].endpoint.path: dependency cycle: a → b → c → a (each resource's requests need records of the next)",
        "resources[3].endpoint.path: dependency cycle: d → d (each resource's requests need records of the next)",
      ],
    ],
    [
      'deletion detection on parameter- and parent-dependent resources, and without merge',
      sourceWith([
        { ...sendsSms, deletion_detection: true },
        {
          name: 'm',
          primary_key: 'id',
          write_disposition: 'merge',
          deletion_detection: true,
          endpoint: { path: '/m/{resources.sms.id}' },
        },
        { name: 'x', deletion_detection: true, endpoint: { path: '/x', ...single } },
      ]),
      [
        'resources[0].deletion_detection: deletion detection is refused for "sms": its request depends on config values (to), so a fetch does not see the whole table',
        'resources[1].deletion_detection: deletion detection is refused for "m": its requests depend on the parent resource "sms", so no fetch sees the whole table',
        'resources[2].deletion_detection: deletion detection needs write_disposition merge ("x" uses append)',
      ],
    ],
    [
      'deletion detection inherited from resource_defaults',
      sourceWith([sendsSms, { name: 'ok', endpoint: { path: '/ok', ...single } }], {
        resource_defaults: { primary_key: 'id', write_disposition: 'merge', deletion_detection: true },
      }),
      [
        'resource_defaults.deletion_detection: deletion detection is refused for "sms": its request depends on config values (to), so a fetch does not see the whole table (set in resource_defaults; set it to false on this resource)',
      ],
    ],
    [
      'merge without a primary key',
      sourceWith([{ name: 'a', write_disposition: 'merge', endpoint: { path: '/a', ...single } }]),
      [
        'resources[0].write_disposition: merge needs a primary key: set primary_key on "a" (or in resource_defaults)',
      ],
    ],
    [
      'table names too long or shared',
      sourceWith([
        { name: 'a'.repeat(64), endpoint: { path: '/a', ...single } },
        { name: 'b', table_name: 't', endpoint: { path: '/b', ...single } },
        { name: 'c', table_name: 't', endpoint: { path: '/c', ...single } },
        { name: 'd', table_name: 'é'.repeat(32), endpoint: { path: '/d', ...single } },
      ]),
      [
        `resources[0].name: the table name is 64 bytes long; Postgres allows 63 (set a shorter table_name)`,
        'resources[2].table_name: resources "b" and "c" both write the table "t"',
        'resources[3].table_name: the table name is 64 bytes long; Postgres allows 63 (set a shorter table_name)',
      ],
    ],
  ];
  it.each(invalid)('%s', (_label, input, expected) => {
    expect(problemsOf(() => validateSourceConfig(input))).toEqual(expected);
  });

  it('accepts deletion detection on a plain merge resource, and a default switched off where refused', () => {
    const source = sourceWith(
      [
        { ...sendsSms, deletion_detection: false },
        { name: 'ok', endpoint: { path: '/ok', ...single } },
      ],
      {
        resource_defaults: { primary_key: 'id', write_disposition: 'merge', deletion_detection: true },
      },
    );
    expect(() => validateSourceConfig(source)).not.toThrow();
  });

  it('accepts every parent binding form', () => {
    const source = sourceWith([
      { name: 'p', endpoint: { path: '/p', ...single } },
      {
        name: 'dlt_resources',
        endpoint: { path: '/a/{resources.p.id}', params: { q: '{resources.p.user.name}' } },
      },
      {
        name: 'dlt_resolve',
        endpoint: { path: '/b/{id}', params: { id: { type: 'resolve', resource: 'p', field: 'id' } } },
      },
      {
        name: 'airbyte',
        endpoint: {
          path: '/c/{{ stream_slice.id }}',
          params: { id: { type: 'resolve', resource: 'p', field: 'id' } },
        },
      },
      { name: 'grandchild', endpoint: { path: '/d/{resources.airbyte.id}' } },
    ]);
    expect(() => validateSourceConfig(source)).not.toThrow();
  });
});
