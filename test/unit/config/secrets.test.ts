import { describe, expect, it } from 'vitest';
import { validateSourceConfig } from '../../../src/config/analyse.ts';
import type { ResolvedAuth } from '../../../src/shared/plan.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import { collectInlineSecrets, resolveHeaderSecrets, resolveSecrets } from '../../../src/config/secrets.ts';
import { errorOf, sourceWith } from './helpers.ts';

const secret = 'sk_live_9f8e7d6c5b4a';
const withAuth = (
  auth: unknown,
  resources: unknown[] = [{ name: 'a', endpoint: { path: '/a', paginator: 'single_page' } }],
) => sourceWith(resources, { client: { base_url: 'https://api.test', auth } });

describe('credentials written inline', () => {
  it('are never echoed: every message and detail of an error is masked', () => {
    const input = withAuth({ type: 'api_key', api_key: secret, location: 'nowhere' }, [
      {
        name: 'a',
        endpoint: {
          path: `/a/{{ ${secret} }}`,
          params: { q: `{${secret}` },
          headers: { Authorization: `Bearer ${secret}` },
        },
      },
    ]);
    const error = errorOf(() => validateSourceConfig(input));
    const everything = JSON.stringify({ message: error.message, details: error.details });
    expect(everything).not.toContain(secret);
    expect(everything).toContain('unknown template expression {{ *** }}');
  });

  it('are warned about, and kept out of the plan as references to their place in the file', () => {
    const input = withAuth({ type: 'api_key', name: 'X-Key', api_key: secret }, [
      {
        name: 'a',
        endpoint: {
          path: '/a',
          paginator: 'single_page',
          headers: { Authorization: `Bearer ${secret}`, Accept: 'application/json' },
        },
      },
    ]);
    expect(validateSourceConfig(input).warnings).toEqual([
      {
        path: 'client.auth.api_key',
        message:
          'a credential written inline: it is masked in messages and kept out of the plan, but it lives in the file; use { $env: VAR }',
      },
      {
        path: 'resources[0].endpoint.headers.Authorization',
        message:
          'a credential written inline: it is masked in messages and kept out of the plan, but it lives in the file; use { $env: VAR }',
      },
    ]);
    const plan = resolveSource(input, { env: {} });
    expect(JSON.stringify(plan)).not.toContain(secret);
    const endpoint = plan.resources[0]?.endpoint;
    expect(endpoint?.auth).toEqual({
      type: 'api_key',
      name: 'X-Key',
      location: 'header',
      apiKey: { $inline: 'client.auth.api_key' },
    });
    expect(endpoint?.headers).toEqual({
      Authorization: { $inline: 'resources[0].endpoint.headers.Authorization' },
      Accept: 'application/json',
    });

    const inline = collectInlineSecrets(input);
    expect(inline).toEqual({
      'client.auth.api_key': secret,
      'resources[0].endpoint.headers.Authorization': `Bearer ${secret}`,
    });
    if (endpoint?.auth == null) throw new Error('no auth');
    expect(resolveSecrets(endpoint.auth, {}, { inline })).toEqual({
      type: 'api_key',
      name: 'X-Key',
      location: 'header',
      apiKey: secret,
    });
    expect(resolveHeaderSecrets(endpoint.headers as Record<string, string>, { env: {}, inline })).toEqual({
      Authorization: `Bearer ${secret}`,
      Accept: 'application/json',
    });
  });

  it('in a query parameter are only warned about (the value is part of the request)', () => {
    const input = sourceWith([
      { name: 'a', endpoint: { path: '/a', paginator: 'single_page', params: { access_token: secret } } },
    ]);
    expect(validateSourceConfig(input).warnings).toEqual([
      {
        path: 'resources[0].endpoint.params.access_token',
        message:
          'this query parameter looks like a credential written inline: it goes into the plan and Temporal history; use auth { type: api_key, location: query, api_key: { $env: VAR } }',
      },
    ]);
  });
});

describe('resolveSecrets', () => {
  const env = {
    TOKEN: 't0k',
    KEY: 'k3y',
    USER: 'me',
    PASS: 'p4ss',
    CID: 'cid',
    CSECRET: 'cs3cret',
    AUD: 'api',
  };
  const cases: [string, ResolvedAuth, unknown][] = [
    ['bearer', { type: 'bearer', token: { $env: 'TOKEN' } }, { type: 'bearer', token: 't0k' }],
    [
      'api_key',
      { type: 'api_key', name: 'api_key', location: 'query', apiKey: { $env: 'KEY' } },
      { type: 'api_key', name: 'api_key', location: 'query', apiKey: 'k3y' },
    ],
    [
      'http_basic',
      { type: 'http_basic', username: { $env: 'USER' }, password: { $env: 'PASS' } },
      { type: 'http_basic', username: 'me', password: 'p4ss' },
    ],
    [
      'oauth2_client_credentials',
      {
        type: 'oauth2_client_credentials',
        accessTokenUrl: 'https://auth.test/token',
        clientId: { $env: 'CID' },
        clientSecret: { $env: 'CSECRET' },
        accessTokenRequestData: { audience: { $env: 'AUD' }, scope: 'read', n: 1 },
        defaultTokenExpiration: 3600,
      },
      {
        type: 'oauth2_client_credentials',
        accessTokenUrl: 'https://auth.test/token',
        clientId: 'cid',
        clientSecret: 'cs3cret',
        accessTokenRequestData: { audience: 'api', scope: 'read', n: 1 },
        defaultTokenExpiration: 3600,
      },
    ],
  ];
  it.each(cases)('%s', (_label, auth, expected) => {
    expect(resolveSecrets(auth, env)).toEqual(expected);
  });

  it('names a missing (or empty) variable in an auth error, never a value', () => {
    for (const missing of [{}, { MESSAGING_API_KEY: '' }]) {
      const error = errorOf(() =>
        resolveSecrets(
          { type: 'api_key', name: 'api_key', location: 'header', apiKey: { $env: 'MESSAGING_API_KEY' } },
          missing,
          {
            context: 'source messaging, resource sms',
          },
        ),
      );
      expect(error).toMatchObject({
        category: 'auth',
        code: 'SECRET_NOT_SET',
        retryable: false,
        details: { variable: 'MESSAGING_API_KEY' },
      });
      expect(error.message).toBe(
        'source messaging, resource sms: api_key auth api_key: environment variable MESSAGING_API_KEY is not set',
      );
    }
  });

  it('says when an inline credential is gone from the file', () => {
    const error = errorOf(() =>
      resolveSecrets({ type: 'bearer', token: { $inline: 'client.auth.token' } }, {}),
    );
    expect(error.message).toBe(
      'bearer auth token: the credential written at client.auth.token of the source file is no longer there',
    );
  });
});

describe('inline credential references', () => {
  it('point where the credential is written, also through resource_defaults and string resources', () => {
    const input = sourceWith(['a', { name: 'b', endpoint: '/b' }], {
      client: { base_url: 'https://api.test', paginator: 'single_page' },
      resource_defaults: { endpoint: { auth: { token: secret }, headers: { 'X-Api-Key': secret } } },
    });
    const plan = resolveSource(input, { env: {} });
    const inline = collectInlineSecrets(input);
    for (const planned of plan.resources) {
      expect(planned.endpoint?.auth).toEqual({
        type: 'bearer',
        token: { $inline: 'resource_defaults.endpoint.auth.token' },
      });
      expect(planned.endpoint?.headers).toEqual({
        'X-Api-Key': { $inline: 'resource_defaults.endpoint.headers["X-Api-Key"]' },
      });
    }
    expect(Object.keys(inline)).toEqual([
      'resource_defaults.endpoint.auth.token',
      'resource_defaults.endpoint.headers["X-Api-Key"]',
    ]);
    expect(JSON.stringify(plan)).not.toContain(secret);
  });
});
