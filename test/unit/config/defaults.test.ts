import { describe, expect, it } from 'vitest';
import { mergeResourceDefaults, normaliseResource } from '../../../src/config/defaults.ts';
import type { ResourceDefaultsConfig, ResourceEntryConfig } from '../../../src/config/schema.ts';

describe("dlt's resource normalisation", () => {
  const cases: [string, ResourceEntryConfig, unknown][] = [
    ['a string is its name and path', 'users', { name: 'users', endpoint: { path: 'users' } }],
    [
      'a string endpoint is a path',
      { name: 'u', endpoint: '/v1/users' },
      { name: 'u', endpoint: { path: '/v1/users' } },
    ],
    ['no endpoint: the path is the name', { name: 'u' }, { name: 'u', endpoint: { path: 'u' } }],
    [
      'an endpoint without path: the path is the name',
      { name: 'u', endpoint: { method: 'POST' } },
      { name: 'u', endpoint: { method: 'POST', path: 'u' } },
    ],
  ];
  it.each(cases)('%s', (_label, entry, expected) => {
    expect(normaliseResource(entry)).toEqual(expected);
  });
});

describe("resource_defaults merge (dlt's rules)", () => {
  const defaults: ResourceDefaultsConfig = {
    primary_key: 'id',
    write_disposition: 'merge',
    table_name: 'shared',
    endpoint: {
      path: '/never-used',
      data_selector: 'data',
      paginator: { type: 'offset', limit: 10 },
      params: { per_page: 100, state: 'open' },
      json: { filter: { a: 1 }, size: 5 },
      headers: { 'X-Default': 'd' },
    },
    columns: { id: { data_type: 'text', nullable: false }, created: { data_type: 'timestamp' } },
  };

  it('applies every default to a resource that sets nothing', () => {
    expect(mergeResourceDefaults(defaults, 'items')).toEqual({
      name: 'items',
      primary_key: 'id',
      write_disposition: 'merge',
      table_name: 'shared',
      endpoint: { ...(defaults.endpoint as object), path: 'items' },
      columns: { id: { data_type: 'text', nullable: false }, created: { data_type: 'timestamp' } },
    });
  });

  it('is shallow at the resource level: a resource overrides primary_key and write_disposition whole', () => {
    const merged = mergeResourceDefaults(defaults, {
      name: 'a',
      primary_key: ['x', 'y'],
      write_disposition: { disposition: 'replace' },
    });
    expect(merged.primary_key).toEqual(['x', 'y']);
    expect(merged.write_disposition).toEqual({ disposition: 'replace' });
  });

  it('merges the endpoint key by key; a paginator is replaced whole', () => {
    const merged = mergeResourceDefaults(defaults, {
      name: 'a',
      endpoint: { path: '/a', paginator: { type: 'page_number' } },
    });
    expect(merged.endpoint.paginator).toEqual({ type: 'page_number' });
    expect(merged.endpoint.data_selector).toBe('data');
    expect(merged.endpoint.path).toBe('/a');
  });

  it('merges params and json name by name (one level)', () => {
    const merged = mergeResourceDefaults(defaults, {
      name: 'a',
      endpoint: { params: { state: 'closed', sort: 'asc' }, json: { filter: { b: 2 } } },
    });
    expect(merged.endpoint.params).toEqual({ per_page: 100, state: 'closed', sort: 'asc' });
    expect(merged.endpoint.json).toEqual({ filter: { b: 2 }, size: 5 });
  });

  it('replaces headers whole (dlt merges only params and json deeply)', () => {
    const merged = mergeResourceDefaults(defaults, { name: 'a', endpoint: { headers: { 'X-Own': 'o' } } });
    expect(merged.endpoint.headers).toEqual({ 'X-Own': 'o' });
  });

  it('merges columns column by column and hint by hint, list form included', () => {
    const merged = mergeResourceDefaults(defaults, {
      name: 'a',
      columns: [
        { name: 'id', nullable: true },
        { name: 'extra', data_type: 'bigint' },
      ],
    });
    expect(merged.columns).toEqual({
      id: { data_type: 'text', nullable: true },
      created: { data_type: 'timestamp' },
      extra: { data_type: 'bigint' },
    });
  });

  it('never mutates its inputs', () => {
    const frozenDefaults = structuredClone(defaults);
    const entry = { name: 'a', endpoint: { params: { x: 1 } }, columns: { id: { nullable: true } } } as const;
    const before = structuredClone(entry);
    mergeResourceDefaults(frozenDefaults, entry);
    expect(frozenDefaults).toEqual(defaults);
    expect(entry).toEqual(before);
  });

  it('works without defaults', () => {
    expect(mergeResourceDefaults(undefined, { name: 'a', primary_key: 'id' })).toEqual({
      name: 'a',
      primary_key: 'id',
      endpoint: { path: 'a' },
    });
  });
});
