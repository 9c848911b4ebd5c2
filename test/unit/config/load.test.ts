import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSourceConfig } from '../../../src/config/load.ts';
import { asyncErrorOf, problemLines } from './helpers.ts';

const folder = mkdtempSync(join(tmpdir(), 'durable-ingest-config-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

const yamlSource = `name: demo
client:
  base_url: https://api.test
  auth: { type: api_key, api_key: { $env: DEMO_KEY }, location: query }
resources:
  - name: items
    endpoint: { path: /items, paginator: single_page }
`;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

describe('loadSourceConfig', () => {
  it('reads YAML', async () => {
    const loaded = await loadSourceConfig(file('demo.yaml', yamlSource));
    expect(loaded.config.client.auth).toEqual({
      type: 'api_key',
      api_key: { $env: 'DEMO_KEY' },
      location: 'query',
    });
    expect(loaded.origin).toBe(join(folder, 'demo.yaml'));
    expect(loaded.warnings).toEqual([]);
  });

  it('reads JSON', async () => {
    const json = {
      name: 'demo',
      client: { base_url: 'https://api.test' },
      resources: [{ name: 'items', endpoint: { path: '/items', paginator: 'single_page' } }],
    };
    expect((await loadSourceConfig(file('demo.json', JSON.stringify(json)))).config).toEqual(json);
  });

  it("reads a TypeScript module's `source` export", async () => {
    const loaded = await loadSourceConfig(fixture('module-source.ts'));
    expect(loaded.config.name).toBe('from_module');
  });

  it("reads a user's module with a default export, warnings included", async () => {
    const loaded = await loadSourceConfig(fixture('module-default.ts'));
    expect(loaded.config.name).toBe('from_default');
    expect(loaded.warnings).toEqual([
      {
        path: 'resources[0]',
        message:
          'no paginator: it is detected from the first response (dlt\u2019s auto); set one for predictable runs',
      },
    ]);
  });

  it('rejects callables in a module with their path', async () => {
    const error = await asyncErrorOf(loadSourceConfig(fixture('module-callable.ts')));
    expect(problemLines(error)).toContain(
      'resources[0].processing_steps[0].map: a function: callables (dlt processing steps, custom paginators or auth classes) are not supported; a source file is data',
    );
  });

  it('validates an object without touching it (it may be frozen) and returns a copy', async () => {
    const input = deepFreeze({
      name: 'demo',
      client: { base_url: 'https://api.test' },
      resource_defaults: { primary_key: 'id', write_disposition: 'merge', endpoint: { params: { a: 1 } } },
      resources: [
        'a',
        {
          name: 'b',
          endpoint: { path: '/b', params: { b: 2 } },
          columns: [{ name: 'id', data_type: 'text' }],
        },
      ],
    });
    const before = structuredClone(input);
    const loaded = await loadSourceConfig(input);
    expect(input).toEqual(before);
    expect(loaded.config).toEqual(before);
    expect(loaded.config).not.toBe(input);
    expect(loaded.origin).toBe('object');
  });

  const unreadable: [string, string, string, string[]][] = [
    [
      'a duplicate YAML key',
      'dup.yaml',
      'name: a\nname: b\n',
      ['(file): YAML DUPLICATE_KEY: Map keys must be unique at line 2, column 1'],
    ],
    [
      'a Python tag',
      'tag.yaml',
      'name: !!python/object:dlt.Secret {}\n',
      [
        '(file): YAML TAG_RESOLVE_FAILED: Unresolved tag: tag:yaml.org,2002:python/object:dlt.Secret at line 1, column 7',
      ],
    ],
    [
      'an unresolved alias',
      'alias.yaml',
      'name: *nope\n',
      ['(file): YAML: Unresolved alias (the anchor must be set before the alias): nope'],
    ],
    [
      'invalid JSON',
      'bad.json',
      '{"name": "demo",\n "token": hunter2-secret}',
      ["(file): invalid JSON: Unexpected token 'h'"],
    ],
    [
      'an unsupported file type',
      'source.toml',
      'name = "x"',
      ['(file): unsupported file type ".toml": use .yaml, .yml, .json, .ts or .js'],
    ],
  ];
  it.each(unreadable)('reports %s without quoting the file', async (_label, name, content, expected) => {
    const error = await asyncErrorOf(loadSourceConfig(file(name, content)));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(problemLines(error)).toEqual(expected);
    expect(error.message).not.toContain('hunter2');
  });

  it('reports a missing file and a module without a `source` export', async () => {
    expect(problemLines(await asyncErrorOf(loadSourceConfig(join(folder, 'missing.yaml'))))).toEqual([
      '(file): file not found',
    ]);
    const empty = file('empty.mjs', 'export const other = 1;\n');
    expect(problemLines(await asyncErrorOf(loadSourceConfig(empty)))).toEqual([
      '(file): the module has no `source` export (export const source = { … })',
    ]);
  });

  it('names the file in the error message', async () => {
    const path = file(
      'invalid.yaml',
      'name: demo\nclient: {}\nresources: [{ name: a, endpoint: { paginator: jsonlink } }]\n',
    );
    const error = await asyncErrorOf(loadSourceConfig(path));
    expect(error.message.split('\n')[0]).toBe(`Invalid source config (${path}): 1 problem`);
  });
});

describe('JSON syntax errors', () => {
  it('give a line and column when V8 gives a position', async () => {
    const error = await asyncErrorOf(loadSourceConfig(file('comma.json', '{\n  "name": "demo",,\n}')));
    expect(problemLines(error)).toEqual([
      '(file): invalid JSON at line 2, column 18: Expected double-quoted property name',
    ]);
  });
});
