/**
 * The source files `bench:e2e` gives its worker (a sources folder of its own, read again on every run): the
 * communications source with `user_call_records` in one of two shapes — the seed's single page, or 1,000 records per
 * page over the sandbox's paged route — and a source of 14 resources whose API returns empty lists (the
 * orchestration's own cost). Both shapes are named `communications`, so both load into the migrated
 * `communications.user_call_records` (typed columns and all); the benchmark writes one or the other before a run.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The two shapes of the same call records. */
export const shapes = ['single', 'paged'] as const;
export type Shape = (typeof shapes)[number];

/** The resource every load phase runs (`resources` of the run input), and its table. */
export const callRecords = { source: 'communications', resource: 'user_call_records' } as const;
export const callRecordsTable = 'communications.user_call_records';

/** The source of the empty resources, and how many it has. */
export const emptySource = 'bench_empty';
export const emptyResourceCount = 14;

/** Records per page of the paged shape: the most the sandbox's paged route serves. */
export const recordsPerPage = 1000;

function communicationsSource(shape: Shape): string {
  const endpoint =
    shape === 'single'
      ? ['      paginator: { type: single_page }']
      : [
          `      params: { perPage: ${recordsPerPage} }`,
          '      paginator: { type: page_number, page_param: page, base_page: 1, total_path: paging.totalPages }',
        ];
  return [
    `# bench:e2e — user_call_records, ${shape === 'single' ? 'one single_page body' : `${recordsPerPage} records per page`}`,
    'name: communications',
    'client:',
    '  base_url: https://api.example.com # COMMUNICATIONS_BASE_URL',
    '  auth: { type: api_key, name: api_key, api_key: { $env: COMMUNICATIONS_API_KEY }, location: query }',
    'resource_defaults: { primary_key: id, write_disposition: merge }',
    'resources:',
    '  - name: user_call_records',
    '    endpoint:',
    '      path: /v1/user_call_records',
    '      data_selector: data',
    ...endpoint,
    '',
  ].join('\n');
}

function emptyResourcesSource(): string {
  const resources = Array.from({ length: emptyResourceCount }, (_, index) =>
    [
      `  - name: empty_${String(index + 1).padStart(2, '0')}`,
      '    endpoint: { path: /generic/auth/api-key-header, data_selector: data, paginator: { type: single_page } }',
    ].join('\n'),
  );
  return [
    `# bench:e2e — ${emptyResourceCount} resources whose API returns an empty list (the sandbox serves no items)`,
    `name: ${emptySource}`,
    'client:',
    '  base_url: https://api.example.com # BENCH_EMPTY_BASE_URL',
    '  auth: { type: api_key, name: X-API-Key, api_key: { $env: BENCH_EMPTY_API_KEY }, location: header }',
    'resource_defaults: { primary_key: id, write_disposition: merge }',
    'resources:',
    ...resources,
    '',
  ].join('\n');
}

/** Writes the sources folder with the communications source in `shape` (the next run reads it). */
export async function writeSources(dir: string, shape: Shape): Promise<void> {
  await writeFile(join(dir, 'communications.yaml'), communicationsSource(shape));
  await writeFile(join(dir, `${emptySource}.yaml`), emptyResourcesSource());
}

/** The environment the worker's sources read: base URLs and keys of the sandbox. */
export function sourceEnv(sandbox: {
  readonly url: string;
  readonly keys: { readonly communications: string; readonly generic: string };
}): Record<string, string> {
  return {
    COMMUNICATIONS_BASE_URL: sandbox.url,
    COMMUNICATIONS_API_KEY: sandbox.keys.communications,
    BENCH_EMPTY_BASE_URL: sandbox.url,
    BENCH_EMPTY_API_KEY: sandbox.keys.generic,
  };
}
