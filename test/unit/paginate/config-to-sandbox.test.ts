import { describe, expect, it } from 'vitest';
import { loadSourceConfig } from '../../../src/config/load.ts';
import { renderRequest } from '../../../src/config/render.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import { paginationInput } from '../../../src/http/paginate/paginate.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import { collect, undiciSend } from './helpers.ts';

const context = withSandbox({ seed: 3, counts: { items: 57 }, pageSize: 10 });

/** One resource per paginator style, written as a dlt rest_api config. */
const paginatorConfigs = {
  'json-link': { type: 'json_link', next_url_path: 'next' },
  'header-link': { type: 'header_link' },
  offset: { type: 'offset', limit: 20, total_path: 'total' },
  'page-number': { type: 'page_number', base_page: 1, total_path: 'total_pages' },
  cursor: { type: 'cursor', cursor_path: 'cursors.next', cursor_param: 'cursor' },
  'header-cursor': { type: 'header_cursor', cursor_key: 'X-Next-Cursor' },
  auto: undefined,
} as const;

describe('from a dlt rest_api config to the sandbox', () => {
  it('every paginator, resolved from the config and rendered from the plan, yields the dataset', async () => {
    const { sandbox } = context;
    const { config } = await loadSourceConfig({
      name: 'generic',
      client: { base_url: 'https://placeholder.invalid/' },
      resources: Object.entries(paginatorConfigs).map(([style, paginator]) => ({
        name: style.replace('-', '_'),
        primary_key: 'id',
        endpoint: {
          path: `generic/pages/${style === 'auto' ? 'cursor' : style}`,
          ...(paginator === undefined ? {} : { paginator }),
        },
      })),
    });
    const plan = resolveSource(config, { env: {}, baseUrl: sandbox.url });
    expect(plan.resources).toHaveLength(7);
    for (const resource of plan.resources) {
      if (resource.endpoint === null) throw new Error(`${resource.name} skipped`);
      const input = paginationInput(
        resource.name,
        resource.endpoint,
        renderRequest(plan.baseUrl, resource.endpoint),
        {},
      );
      const result = await collect(input, undiciSend());
      expect(result.texts, resource.name).toEqual([...sandbox.dataset.recordTexts('items')]);
      expect(result.pages.at(-1)?.done, resource.name).not.toBeNull();
    }
  });
});
