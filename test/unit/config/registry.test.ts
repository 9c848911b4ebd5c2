/**
 * The source registry on a real folder: every YAML/JSON/TS/JS file is one source named by its `name` key, a broken
 * or duplicate-named file is reported with its path and reason without taking the others down, and every lookup
 * rescans (a new or edited file counts at once).
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  describeBroken,
  loadInlineSecrets,
  loadSourceByName,
  scanSources,
} from '../../../src/config/registry.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import { resolveSecrets } from '../../../src/config/secrets.ts';
import { asyncErrorOf, problemLines } from './helpers.ts';

const root = await mkdtemp(join(tmpdir(), 'ingest-registry-'));
afterAll(() => rm(root, { recursive: true, force: true }));

let dir: string;
let count = 0;
beforeEach(async () => {
  count += 1;
  dir = join(root, `case-${count}`);
  await mkdir(dir);
});

const yamlSource = (name: string, extra = '') => `name: ${name}
client:
  base_url: https://api.example.com
  auth: { type: bearer, token: { $env: ${name.toUpperCase()}_TOKEN } }
resources:
  - name: users
    primary_key: id
    endpoint: { path: /users, paginator: single_page }
${extra}`;

const jsonSource = (name: string) =>
  JSON.stringify({
    name,
    client: { base_url: 'https://json.example.com' },
    resources: [{ name: 'items', primary_key: 'id', endpoint: { path: '/items', paginator: 'single_page' } }],
  });

const tsSource = (name: string, path = '/things') => `export const source = {
  name: '${name}',
  client: { base_url: 'https://ts.example.com' },
  resources: [{ name: 'things', primary_key: 'id', endpoint: { path: '${path}', paginator: 'single_page' } }],
} as const;
`;

async function put(file: string, text: string): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, text);
  return path;
}

describe('scanSources', () => {
  it('serves one source per YAML, JSON, TS and JS file, named by its `name` key, not the file name', async () => {
    const alpha = await put('a.yaml', yamlSource('alpha'));
    await put('second.yml', yamlSource('beta'));
    await put('gamma-file.json', jsonSource('gamma'));
    const delta = await put('delta.ts', tsSource('delta'));
    await put('eps.js', tsSource('epsilon').replace(' as const', ''));
    await put('zeta.ts', tsSource('zeta').replace('export const source =', 'export default'));
    const scan = await scanSources(dir);
    expect(scan.broken).toEqual([]);
    expect([...scan.sources.keys()]).toEqual(['alpha', 'beta', 'delta', 'epsilon', 'gamma', 'zeta']);
    expect(scan.sources.get('alpha')?.file).toBe(alpha);
    expect(scan.sources.get('delta')?.file).toBe(delta);
    expect(scan.sources.get('delta')?.loaded.config.client.base_url).toBe('https://ts.example.com');
  });

  it('ignores dotfiles, other file types and subfolders', async () => {
    await put('a.yaml', yamlSource('alpha'));
    await put('.hidden.yaml', 'not: [valid');
    await put('notes.md', '# notes');
    await put('types.d.ts', 'export type X = 1;');
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'b.yaml'), yamlSource('beta'));
    const scan = await scanSources(dir);
    expect([...scan.sources.keys()]).toEqual(['alpha']);
    expect(scan.broken).toEqual([]);
  });

  it('reports a broken file with its path and reason, and still serves the others', async () => {
    await put('good.yaml', yamlSource('good'));
    const unparsable = await put('bad-yaml.yaml', 'name: x\nclient: [unclosed\n');
    const invalid = await put('invalid.yaml', yamlSource('invalid').replace('resources:', 'resourcez:'));
    const noExport = await put('no-export.ts', 'export const nothing = 1;\n');
    const scan = await scanSources(dir);
    expect([...scan.sources.keys()]).toEqual(['good']);
    expect(scan.broken.map((file) => [file.file, file.name, file.code])).toEqual([
      [unparsable, undefined, 'CONFIG_INVALID'],
      [invalid, 'invalid', 'CONFIG_INVALID'],
      [noExport, undefined, 'CONFIG_INVALID'],
    ]);
    const [, invalidFile, noExportFile] = scan.broken;
    expect(describeBroken(invalidFile ?? scan.broken[0]!)).toContain('resourcez: unknown key');
    expect(describeBroken(noExportFile ?? scan.broken[0]!)).toContain('no `source` export');
  });

  it('serves neither of two files with the same name, and reports both', async () => {
    await put('good.yaml', yamlSource('good'));
    const first = await put('one.yaml', yamlSource('twin'));
    const second = await put('two.json', jsonSource('twin'));
    const scan = await scanSources(dir);
    expect([...scan.sources.keys()]).toEqual(['good']);
    expect(scan.broken.map((file) => [file.file, file.code])).toEqual([
      [first, 'DUPLICATE_SOURCE'],
      [second, 'DUPLICATE_SOURCE'],
    ]);
    expect(describeBroken(scan.broken[0]!)).toContain('also used by two.json');
    const error = await asyncErrorOf(loadSourceByName(dir, 'twin'));
    expect(error.code).toBe('DUPLICATE_SOURCE');
    expect(error.retryable).toBe(false);
  });

  it('refuses a folder that cannot be read', async () => {
    const error = await asyncErrorOf(scanSources(join(dir, 'missing')));
    expect(error).toMatchObject({
      category: 'environment',
      code: 'SOURCES_DIR_UNREADABLE',
      retryable: false,
    });
    expect(error.message).toContain('does not exist');
  });
});

describe('loadSourceByName', () => {
  it('picks up a new file and an edited one at the next lookup', async () => {
    await put('a.yaml', yamlSource('alpha'));
    await expect(loadSourceByName(dir, 'beta')).rejects.toMatchObject({ code: 'UNKNOWN_SOURCE' });
    await put('b.yaml', yamlSource('beta'));
    expect((await loadSourceByName(dir, 'beta')).config.name).toBe('beta');

    const module = await put('c.ts', tsSource('gamma', '/v1'));
    const before = await loadSourceByName(dir, 'gamma');
    await writeFile(module, tsSource('gamma', '/v2'));
    const later = new Date(Date.now() + 5_000);
    await utimes(module, later, later); // a different modification time, however fast the write
    const after = await loadSourceByName(dir, 'gamma');
    const path = (loaded: typeof before) => JSON.stringify(loaded.config.resources);
    expect(path(before)).toContain('/v1');
    expect(path(after)).toContain('/v2');
  });

  it('refuses an unknown name, non-retryably, listing the names served with a did-you-mean', async () => {
    await put('a.yaml', yamlSource('messaging'));
    await put('b.json', jsonSource('communications'));
    const error = await asyncErrorOf(loadSourceByName(dir, 'mesaging'));
    expect(error).toMatchObject({ category: 'config', code: 'UNKNOWN_SOURCE', retryable: false });
    expect(problemLines(error)).toEqual([
      `source: unknown source "mesaging" — did you mean "messaging"?; the sources in ${dir} are: communications, messaging`,
    ]);
  });

  it('says so when the folder serves nothing', async () => {
    const error = await asyncErrorOf(loadSourceByName(dir, 'anything'));
    expect(error.message).toContain(`no source is served from ${dir}`);
  });

  it('fails a name given by a broken file with that file’s reason', async () => {
    const file = await put('broken.yaml', yamlSource('broken').replace('base_url:', 'base_ur:'));
    const error = await asyncErrorOf(loadSourceByName(dir, 'broken'));
    expect(error).toMatchObject({ category: 'config', code: 'CONFIG_INVALID', retryable: false });
    expect(error.message).toContain(file);
    expect(error.message).toContain('base_ur');
  });
});

describe('loadInlineSecrets', () => {
  it('gives the values the plan’s $inline references point to', async () => {
    const text = yamlSource('inline').replace(/token: \{ \$env: INLINE_TOKEN \}/, 'token: s3cret-inline');
    await put('inline.yaml', text);
    const plan = resolveSource((await loadSourceByName(dir, 'inline')).config, { env: {} });
    const auth = plan.resources[0]?.endpoint?.auth;
    expect(auth).toEqual({ type: 'bearer', token: { $inline: 'client.auth.token' } });
    expect(JSON.stringify(plan)).not.toContain('s3cret-inline');
    const inline = await loadInlineSecrets(dir, 'inline');
    expect(resolveSecrets(auth!, {}, { inline })).toEqual({ type: 'bearer', token: 's3cret-inline' });
  });
});
