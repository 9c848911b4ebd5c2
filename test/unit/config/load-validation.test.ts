/**
 * Every configuration error knowable before a request is reported when a file is loaded (`loadSourceConfig`), with
 * its path — not first when a plan is resolved. And the run-time side of inline credentials: every `$inline`
 * reference of a plan resolves from `collectInlineSecrets(loaded.config)`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSourceConfig } from '../../../src/config/load.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import { collectInlineSecrets, resolveHeaderSecrets, resolveSecrets } from '../../../src/config/secrets.ts';
import type { SecretRef } from '../../../src/shared/plan.ts';
import { asyncErrorOf, problemLines } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'durable-ingest-load-'));
let files = 0;

/** Writes a YAML source file — `name`, `client`, then `extra` and `resources` — and returns its path. */
function yamlFile(resources: string, extra = ''): string {
  files += 1;
  const path = join(dir, `source-${files}.yaml`);
  writeFileSync(
    path,
    `name: demo\nclient:\n  base_url: https://api.test\n  paginator: single_page\n${extra}resources:\n${resources}`,
  );
  return path;
}

const parent = `  - name: p\n    endpoint: /p\n`;

const cases: [label: string, resources: string, extra: string, path: string, words: string][] = [
  ['an unknown key', `  - name: a\n    endpont: /a\n`, '', 'resources[0].endpont', 'unknown key'],
  [
    'a bad template',
    `  - name: a\n    endpoint: "/a/{{ config[to] }}"\n`,
    '',
    'resources[0].endpoint',
    'config',
  ],
  [
    'a missing parent',
    `  - name: a\n    endpoint: /a/{resources.nope.id}\n`,
    '',
    'resources[0].endpoint',
    'unknown parent resource "nope"',
  ],
  [
    'a resolve cycle',
    `  - name: a\n    endpoint: /a/{resources.b.id}\n  - name: b\n    endpoint: /b/{resources.a.id}\n`,
    '',
    'resources[0].endpoint',
    'dependency cycle: a → b → a',
  ],
  [
    'resolve params naming different parents',
    `${parent}  - name: q\n    endpoint: /q\n  - name: c\n    endpoint:\n      path: /c/{x}/{y}\n      params:\n        x: { type: resolve, resource: p, field: id }\n        y: { type: resolve, resource: q, field: id }\n`,
    '',
    'resources[2].endpoint.params.y',
    'names the parent "q"',
  ],
  [
    'a side-effect request with a paginator (from resource_defaults)',
    `  - name: send\n    side_effects: true\n    endpoint: { path: /send, method: POST, json: { a: 1 } }\n`,
    'resource_defaults:\n  endpoint: { paginator: json_link }\n',
    'resource_defaults.endpoint.paginator',
    'never paginates',
  ],
  [
    'a side-effect request with a paginator (its own)',
    `  - name: send\n    side_effects: true\n    endpoint: { path: /send, paginator: { type: offset, limit: 10 } }\n`,
    '',
    'resources[0].endpoint.paginator',
    'its paginator is offset',
  ],
  [
    'a side-effect request with a parent',
    `${parent}  - name: send\n    side_effects: true\n    endpoint: /send/{resources.p.id}\n`,
    '',
    'resources[1].side_effects',
    'not once per record of a parent',
  ],
  [
    'side_effects in resource_defaults',
    parent,
    'resource_defaults:\n  side_effects: false\n',
    'resource_defaults.side_effects',
    'not supported',
  ],
  [
    'include_from_parent without a parent',
    `  - name: a\n    endpoint: /a\n    include_from_parent: [id]\n`,
    '',
    'resources[0].include_from_parent',
    'has no parent',
  ],
  [
    'poll without a parent',
    `  - name: a\n    primary_key: id\n    write_disposition: merge\n    endpoint: /a\n    poll: { field: s, final: [x] }\n`,
    '',
    'resources[0].poll',
    'has no parent',
  ],
  [
    'poll with append',
    `${parent}  - name: c\n    endpoint: /c/{resources.p.id}\n    poll: { field: s, final: [x] }\n`,
    '',
    'resources[1].poll',
    'each pass would append the child again',
  ],
  [
    'an unknown key in poll',
    `${parent}  - name: c\n    endpoint: /c/{resources.p.id}\n    poll: { field: s, final: [x], interval: 5 }\n`,
    '',
    'resources[1].poll.interval',
    'unknown key',
  ],
];

describe('problems found when a file is loaded, with their path', () => {
  it.each(cases)('%s', async (_label, resources, extra, path, words) => {
    const error = await asyncErrorOf(loadSourceConfig(yamlFile(resources, extra)));
    expect(error.code).toBe('CONFIG_INVALID');
    const lines = problemLines(error);
    expect(
      lines.some((line) => line.startsWith(`${path}: `) && line.includes(words)),
      lines.join('\n'),
    ).toBe(true);
  });

  it('a side-effect request sent once (single_page, or a single-entity path) loads', async () => {
    const loaded = await loadSourceConfig(
      yamlFile(
        `  - name: send\n    side_effects: true\n    endpoint: { path: /send, method: POST, json: { a: 1 } , paginator: single_page }\n` +
          `  - name: again\n    side_effects: true\n    endpoint: "/again/{{ config['id'] }}"\n`,
      ),
    );
    expect(loaded.warnings).toEqual([]);
  });
});

describe('inline credentials at run time', () => {
  const secrets = {
    clientKey: 'client-key-123',
    bearer: 'bearer-token-456',
    header: 'header-secret-789',
    oauthSecret: 'oauth-secret-abc',
    oauthData: 'oauth-data-def',
  };
  const file = () =>
    yamlFile(
      `  - name: a\n    endpoint:\n      path: /a\n      headers: { Authorization: "Token ${secrets.header}", X-Session: "" }\n` +
        `  - name: b\n    endpoint:\n      path: /b\n      auth: { type: bearer, token: ${secrets.bearer} }\n` +
        `  - name: c\n    endpoint:\n      path: /c\n      auth:\n        type: oauth2_client_credentials\n        access_token_url: https://auth.test/token\n        client_id: me\n        client_secret: ${secrets.oauthSecret}\n        access_token_request_data: { audience: api, api_token: ${secrets.oauthData} }\n`,
      // Written right after `client:`'s own lines, so these extend the client block.
      `  auth: { type: api_key, name: X-Key, api_key: ${secrets.clientKey} }\n  headers: { X-Api-Key: ${secrets.clientKey} }\n`,
    );

  /** Every `$inline` path in a value. */
  function inlineRefs(value: unknown, into: string[] = []): string[] {
    if (Array.isArray(value)) for (const item of value) inlineRefs(item, into);
    else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key === '$inline' && typeof item === 'string') into.push(item);
        else inlineRefs(item, into);
      }
    }
    return into;
  }

  it('the plan holds only paths; collectInlineSecrets(loaded.config) holds the value of every one', async () => {
    const path = file();
    const loaded = await loadSourceConfig(path);
    const plan = resolveSource(loaded.config, { env: {} });
    const serialised = JSON.stringify(plan);
    for (const secret of Object.values(secrets)) expect(serialised).not.toContain(secret);

    const inline = collectInlineSecrets(loaded.config);
    const refs = [...new Set(inlineRefs(plan.resources))].sort();
    expect(refs).toEqual([
      'client.auth.api_key',
      'client.headers["X-Api-Key"]',
      'resources[0].endpoint.headers.Authorization',
      'resources[1].endpoint.auth.token',
      'resources[2].endpoint.auth.access_token_request_data.api_token',
      'resources[2].endpoint.auth.client_secret',
    ]);
    for (const ref of refs) expect(inline[ref], ref).toBeDefined();

    const [a, b, c] = plan.resources.map((planned) => planned.endpoint);
    expect(a?.auth === null || a?.auth === undefined ? null : resolveSecrets(a.auth, {}, { inline })).toEqual(
      {
        type: 'api_key',
        name: 'X-Key',
        location: 'header',
        apiKey: secrets.clientKey,
      },
    );
    // An empty header value is not a credential: it stays text, and needs nothing from the file.
    expect(a?.headers['X-Session']).toBe('');
    expect(
      resolveHeaderSecrets(a?.headers as Readonly<Record<string, string | SecretRef>>, { env: {}, inline }),
    ).toEqual({
      'X-Api-Key': secrets.clientKey,
      Authorization: `Token ${secrets.header}`,
      'X-Session': '',
    });
    expect(b?.auth === null || b?.auth === undefined ? null : resolveSecrets(b.auth, {}, { inline })).toEqual(
      {
        type: 'bearer',
        token: secrets.bearer,
      },
    );
    expect(
      c?.auth === null || c?.auth === undefined ? null : resolveSecrets(c.auth, {}, { inline }),
    ).toMatchObject({
      clientId: 'me',
      clientSecret: secrets.oauthSecret,
      accessTokenRequestData: { audience: 'api', api_token: secrets.oauthData },
    });
  });
});
