import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateSourceConfig } from '../../../src/config/analyse.ts';
import {
  compatEntries,
  compatDltVersion,
  compatibilityMatrix,
  compatSites,
  renderCompatibilityMarkdown,
  type CompatEntry,
  type CompatSite,
} from '../../../src/config/compat.ts';
import { schemaSiteKeys } from '../../../src/config/schema.ts';
import { renderTemplateGrammarMarkdown } from '../../../src/config/templates.ts';
import { problemsOf, sourceWith } from './helpers.ts';

const docs = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');

/** Table rows as trimmed cells, separator rows dropped: prettier may pad the docs' tables. */
function tableRows(markdown: string): string[] {
  return markdown
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) =>
      line.startsWith('|')
        ? line
            .split(/(?<!\\)\|/)
            .map((cell) => cell.trim())
            .join('|')
        : line,
    )
    .filter((line) => !/^\|(?:-+\|)+$/.test(line));
}

function between(start: string, end: string): string {
  const from = docs.indexOf(start);
  const to = docs.indexOf(end);
  expect(from, `docs/config.md lacks ${start}`).toBeGreaterThanOrEqual(0);
  return docs.slice(from + start.length, to);
}

describe('the compatibility matrix', () => {
  it('is the table docs/config.md shows (regenerate it with renderCompatibilityMarkdown() when this fails)', () => {
    expect(tableRows(between('<!-- compat:start -->', '<!-- compat:end -->'))).toEqual(
      tableRows(renderCompatibilityMarkdown()),
    );
  });

  it('docs/config.md names the dlt release the matrix matches', () => {
    expect(docs).toContain(`It matches dlt **${compatDltVersion}** (\`compatDltVersion\`)`);
  });

  it('lists every key once per site', () => {
    const keys = compatibilityMatrix.map((entry) => `${entry.site}.${entry.key}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('matches the schema: every supported or extension key is declared, nothing else is', () => {
    const declared = schemaSiteKeys();
    for (const site of [...Object.keys(compatSites), 'resource_defaults'] as (
      CompatSite | 'resource_defaults'
    )[]) {
      const keys = declared.get(site);
      expect(keys, `no schema for ${site}`).toBeDefined();
      const entries = compatEntries(site);
      const required = entries.filter(
        (entry) => entry.status === 'supported' || entry.status === 'extension',
      );
      for (const entry of required)
        expect(keys?.has(entry.key), `${site}.${entry.key} is not in the schema`).toBe(true);
      for (const key of keys ?? []) {
        expect(
          entries.some((entry) => entry.key === key && entry.status !== 'ignored'),
          `${site}.${key} is in the schema but not in the matrix`,
        ).toBe(true);
      }
    }
  });

  it('docs/config.md shows the template grammar table', () => {
    expect(tableRows(between('<!-- templates:start -->', '<!-- templates:end -->'))).toEqual(
      tableRows(renderTemplateGrammarMarkdown()),
    );
  });
});

/** A source with `key: value` placed at a site, and the path where it lands. */
function place(
  site: CompatSite,
  key: string,
  value: unknown,
): { source: Record<string, unknown>; path: string } {
  const endpoint = (extra: Record<string, unknown>) =>
    sourceWith([{ name: 'a', endpoint: { path: '/a', paginator: 'single_page', ...extra } }]);
  const withAuth = (auth: Record<string, unknown>) =>
    sourceWith(['a'], { client: { base_url: 'https://api.test', paginator: 'single_page', auth } });
  const [kind, variant] = site.split('.') as [string, string | undefined];
  switch (kind) {
    case 'source':
      return {
        source: {
          ...sourceWith([{ name: 'a', endpoint: { path: '/a', paginator: 'single_page' } }]),
          [key]: value,
        },
        path: key,
      };
    case 'client':
      return {
        source: sourceWith(['a'], {
          client: { base_url: 'https://api.test', paginator: 'single_page', [key]: value },
        }),
        path: `client.${key}`,
      };
    case 'auth':
      return { source: withAuth({ type: variant, [key]: value }), path: `client.auth.${key}` };
    case 'paginator':
      return {
        source: endpoint({ paginator: { type: variant, [key]: value } }),
        path: `resources[0].endpoint.paginator.${key}`,
      };
    case 'resource':
      return {
        source: sourceWith([{ name: 'a', endpoint: { path: '/a', paginator: 'single_page' }, [key]: value }]),
        path: `resources[0].${key}`,
      };
    case 'endpoint':
      return { source: endpoint({ [key]: value }), path: `resources[0].endpoint.${key}` };
    case 'param':
      return {
        source: endpoint({
          params: {
            p: {
              type: variant,
              ...(variant === 'incremental' ? { cursor_path: 'updated_at' } : {}),
              [key]: value,
            },
          },
        }),
        path: `resources[0].endpoint.params.p.${key}`,
      };
    case 'incremental':
      return {
        source: endpoint({ incremental: { cursor_path: 'updated_at', [key]: value } }),
        path: `resources[0].endpoint.incremental.${key}`,
      };
    case 'response_action':
      return {
        source: endpoint({ response_actions: [{ status_code: 404, action: 'ignore', [key]: value }] }),
        path: `resources[0].endpoint.response_actions[0].${key}`,
      };
    case 'write_disposition':
      return {
        source: sourceWith([
          {
            name: 'a',
            endpoint: { path: '/a', paginator: 'single_page' },
            write_disposition: { disposition: 'append', [key]: value },
          },
        ]),
        path: `resources[0].write_disposition.${key}`,
      };
    case 'column':
      return {
        source: sourceWith([
          { name: 'a', endpoint: { path: '/a', paginator: 'single_page' }, columns: { c: { [key]: value } } },
        ]),
        path: `resources[0].columns.c.${key}`,
      };
    case 'secret':
      return {
        source: withAuth({ token: { $env: 'DEMO_TOKEN', [key]: value } }),
        path: `client.auth.token.${key}`,
      };
    case 'rejected_records':
      return {
        source: {
          ...sourceWith([{ name: 'a', endpoint: { path: '/a', paginator: 'single_page' } }]),
          rejected_records: { [key]: value },
        },
        path: `rejected_records.${key}`,
      };
    case 'poll':
      return {
        source: sourceWith([
          { name: 'a', endpoint: { path: '/a', paginator: 'single_page' } },
          {
            name: 'b',
            primary_key: 'id',
            write_disposition: 'merge',
            endpoint: { path: '/b/{resources.a.id}' },
            poll: { field: 'status', final: ['done'], [key]: value },
          },
        ]),
        path: `resources[1].poll.${key}`,
      };
    case 'schedule':
      return {
        source: {
          ...sourceWith([{ name: 'a', endpoint: { path: '/a', paginator: 'single_page' } }]),
          schedule: { interval: '1h', [key]: value },
        },
        path: `schedule.${key}`,
      };
    case 'retry':
      return {
        source: {
          ...sourceWith([{ name: 'a', endpoint: { path: '/a', paginator: 'single_page' } }]),
          retry: { [key]: value },
        },
        path: `retry.${key}`,
      };
    default:
      throw new Error(`no placement for ${site}`);
  }
}

describe('each key is treated as the matrix says', () => {
  const rows = (status: CompatEntry['status']) =>
    compatibilityMatrix
      .filter((entry) => entry.status === status)
      .map((entry): [string, CompatEntry] => [`${entry.site}.${entry.key}`, entry]);

  it.each(rows('rejected'))('rejected: %s is an error with its reason', (_label, entry) => {
    const { source, path } = place(entry.site, entry.key, 'x');
    expect(problemsOf(() => validateSourceConfig(source))).toContain(`${path}: not supported: ${entry.note}`);
  });

  it.each(rows('ignored'))('ignored: %s is accepted with a warning', (_label, entry) => {
    const { source, path } = place(entry.site, entry.key, true);
    expect(validateSourceConfig(source).warnings).toContainEqual({ path, message: `ignored: ${entry.note}` });
  });

  const sites = Object.keys(compatSites) as CompatSite[];
  it.each(sites)('unknown: a key %s does not know is an error', (site) => {
    const { source, path } = place(site, 'bogus_key', 'x');
    expect(
      problemsOf(() => validateSourceConfig(source)).some((line) => line.startsWith(`${path}: unknown key`)),
    ).toBe(true);
  });
});
