/**
 * Credentials are checked per run, by `planSource`: a source whose credential variable is not set fails its own
 * plan — non-retryably, naming the variable and the source, never a value — and every other source still plans.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planSource } from '../../../src/activities/plan-source.ts';
import { toApplicationFailure } from '../../../src/activities/failure.ts';
import { shippedSourcesDir } from '../../../src/config/registry.ts';

const dir = await mkdtemp(join(tmpdir(), 'ingest-plan-credentials-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
await writeFile(
  join(dir, 'two-keys.yaml'),
  `name: two_keys
client:
  base_url: https://api.example.com
  auth: { type: http_basic, username: { $env: TWO_KEYS_USER }, password: { $env: TWO_KEYS_PASSWORD } }
resources:
  - name: things
    primary_key: id
    endpoint: { path: /things, paginator: single_page }
`,
);
await writeFile(
  join(dir, 'open.json'),
  JSON.stringify({
    name: 'open_data',
    client: { base_url: 'https://open.example.com' },
    resources: [{ name: 'items', primary_key: 'id', endpoint: { path: '/items', paginator: 'single_page' } }],
  }),
);

describe('planSource: credentials, per run', () => {
  it('fails a run whose credential variable is not set, non-retryably, naming it and the source', async () => {
    const env = { COMMUNICATIONS_API_KEY: 'k-comms-secret', MESSAGING_API_KEY: '' };
    const error: unknown = await planSource(
      { source: 'messaging' },
      { env, sourcesDir: shippedSourcesDir },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      category: 'auth',
      code: 'SECRET_NOT_SET',
      retryable: false,
      details: { source: 'messaging', variables: ['MESSAGING_API_KEY'] },
    });
    const message = (error as Error).message;
    expect(message).toContain('MESSAGING_API_KEY');
    expect(message).toContain('source messaging');
    expect(message).not.toContain('k-comms-secret');
    const failure = toApplicationFailure(error, { transientFailures: 0, rateLimited: 0 });
    expect(failure).toMatchObject({ type: 'SECRET_NOT_SET', nonRetryable: true });

    // The other source of the same worker still plans.
    const { plan } = await planSource({ source: 'communications' }, { env, sourcesDir: shippedSourcesDir });
    expect(plan.secretVariables).toEqual(['COMMUNICATIONS_API_KEY']);
  });

  it('names every missing variable, and plans a source that needs none', async () => {
    const env = { TWO_KEYS_USER: 'someone' };
    await expect(planSource({ source: 'two_keys' }, { env, sourcesDir: dir })).rejects.toMatchObject({
      code: 'SECRET_NOT_SET',
      details: { variables: ['TWO_KEYS_PASSWORD'] },
    });
    await expect(planSource({ source: 'two_keys' }, { env: {}, sourcesDir: dir })).rejects.toThrow(
      'TWO_KEYS_PASSWORD, TWO_KEYS_USER are not set',
    );
    const { plan } = await planSource({ source: 'open_data' }, { env: {}, sourcesDir: dir });
    expect(plan.resources.map((resource) => resource.name)).toEqual(['items']);
  });

  it('reads the folder it is given: a source of another folder is unknown', async () => {
    await expect(planSource({ source: 'messaging' }, { env: {}, sourcesDir: dir })).rejects.toMatchObject({
      code: 'UNKNOWN_SOURCE',
      message: expect.stringContaining('open_data, two_keys') as unknown,
    });
  });
});
