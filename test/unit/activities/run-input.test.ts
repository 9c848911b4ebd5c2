/**
 * The per-resource parts of a run's input, checked against the plan before anything loads: windows and resets only
 * for incremental resources, with cursor values; allowDeletes only for resources that replace or detect deletions.
 */
import { describe, expect, it } from 'vitest';
import { checkRunInput } from '../../../src/activities/run-input.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import type { SourceConfig } from '../../../src/config/schema.ts';
import type { IngestSourceInput } from '../../../src/shared/ingest-types.ts';

const plan = resolveSource(
  {
    name: 'shop',
    client: { base_url: 'https://api.example.com' },
    resource_defaults: { primary_key: 'id', write_disposition: 'merge' },
    resources: [
      {
        name: 'orders',
        endpoint: {
          path: '/orders',
          paginator: 'single_page',
          incremental: { cursor_path: 'at', start_param: 'since' },
        },
      },
      {
        name: 'products',
        write_disposition: 'replace',
        endpoint: { path: '/products', paginator: 'single_page' },
      },
      { name: 'stores', endpoint: { path: '/stores', paginator: 'single_page' } },
    ],
  } as unknown as SourceConfig,
  { env: {} },
);
const check = (input: Omit<IngestSourceInput, 'source'>) => () =>
  checkRunInput({ source: 'shop', ...input }, plan);

describe('the run input', () => {
  it('takes a window or a reset of an incremental resource, and allowDeletes of one that replaces', () => {
    expect(check({ window: { orders: { start: '2026-01-01', end: '2026-02-01' } } })).not.toThrow();
    expect(check({ reset: ['orders'] })).not.toThrow();
    expect(check({ allowDeletes: ['products'] })).not.toThrow();
  });

  it.each([
    ['a window of a resource that is not incremental', { window: { stores: { start: 'x' } } }],
    ['a window of an unknown resource', { window: { nope: { start: 'x' } } }],
    ['a window bound that is not a cursor value', { window: { orders: { start: { at: 1 } } } }],
    ['a window with another key', { window: { orders: { from: 'x' } } }],
    ['a null window', { window: null, reset: ['orders'] }],
    ['a reset and a window of one resource', { window: { orders: { start: 'x' } }, reset: ['orders'] }],
    ['allowDeletes of a resource that only merges', { allowDeletes: ['stores'] }],
    ['allowDeletes that is not a list', { allowDeletes: 'products' }],
  ])('refuses %s, non-retryably', (_what, input) => {
    expect(check(input as Omit<IngestSourceInput, 'source'>)).toThrow(
      expect.objectContaining({ code: 'RUN_INPUT_INVALID', retryable: false }),
    );
  });
});
