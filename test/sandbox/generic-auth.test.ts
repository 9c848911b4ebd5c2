import { describe, expect, it } from 'vitest';
import { genericApiKeyNames, tokenPath, type GenericAuthKind } from '../../src/sandbox/routes-generic.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { asObject, fetchJson, fetchText, usingSandbox, withSandbox } from './helpers.ts';

const context = withSandbox({ seed: 11, counts: { items: 7 }, generic: { tokenTtlMs: 60_000 } });

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** How each kind presents a credential value. */
function present(
  kind: Exclude<GenericAuthKind, 'oauth2'>,
  sandbox: Sandbox,
  good: boolean,
): { path: string; headers: Record<string, string> } {
  const { generic } = sandbox;
  const base = `/generic/auth/${kind}`;
  switch (kind) {
    case 'api-key-header':
      return { path: base, headers: { [genericApiKeyNames.header]: good ? generic.apiKey : 'wrong' } };
    case 'api-key-query':
      return { path: `${base}?api_key=${good ? generic.apiKey : 'wrong'}`, headers: {} };
    case 'api-key-cookie':
      return { path: base, headers: { cookie: `theme=dark; api_key=${good ? generic.apiKey : 'wrong'}` } };
    case 'bearer':
      return { path: base, headers: { authorization: `Bearer ${good ? generic.bearerToken : 'wrong'}` } };
    case 'basic':
      return {
        path: base,
        headers: { authorization: basic(generic.username, good ? generic.password : 'wrong') },
      };
  }
}

async function requestToken(
  sandbox: Sandbox,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return fetchJson(`${sandbox.url}${tokenPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

const staticKinds = ['api-key-header', 'api-key-query', 'api-key-cookie', 'bearer', 'basic'] as const;

describe('generic auth routes', () => {
  it.each(staticKinds)('%s: the right credential gets the items', async (kind) => {
    const { sandbox } = context;
    const { path, headers } = present(kind, sandbox, true);
    const response = await fetchJson(`${sandbox.url}${path}`, { headers });
    expect(response.status).toBe(200);
    expect(asObject(response.json).data).toEqual([...sandbox.dataset.records('items')]);
    expect(sandbox.log.entries().at(-1)?.auth).toBe('ok');
  });

  it.each(staticKinds)('%s: a wrong credential gets 401 with a body and no data', async (kind) => {
    const { sandbox } = context;
    const { path, headers } = present(kind, sandbox, false);
    const response = await fetchJson(`${sandbox.url}${path}`, { headers });
    expect(response.status).toBe(401);
    expect(asObject(response.json)).not.toHaveProperty('data');
    expect(asObject(response.json).error).toBeDefined();
    expect(sandbox.log.entries().at(-1)?.auth).toBe('invalid');
  });

  it.each([...staticKinds, 'oauth2'] as const)('%s: no credential gets 401 (missing)', async (kind) => {
    const { sandbox } = context;
    const response = await fetchText(`${sandbox.url}/generic/auth/${kind}`);
    expect(response.status).toBe(401);
    expect(sandbox.log.entries().at(-1)?.auth).toBe('missing');
    if (kind === 'basic') expect(response.headers['www-authenticate']).toMatch(/^Basic/);
    if (kind === 'bearer' || kind === 'oauth2')
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('a key in the wrong location does not count (header key sent as query)', async () => {
    const { sandbox } = context;
    const response = await fetchText(
      `${sandbox.url}/generic/auth/api-key-header?api_key=${sandbox.generic.apiKey}`,
    );
    expect(response.status).toBe(401);
  });
});

describe('OAuth2 client credentials', () => {
  it('issues a bearer token for form-encoded client id and secret, which the oauth2 route accepts', async () => {
    const { sandbox } = context;
    const token = await requestToken(sandbox, {
      grant_type: 'client_credentials',
      client_id: sandbox.generic.clientId,
      client_secret: sandbox.generic.clientSecret,
    });
    expect(token.status).toBe(200);
    expect(token.headers['cache-control']).toBe('no-store');
    const body = asObject(token.json);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 60 });
    const data = await fetchJson(`${sandbox.url}/generic/auth/oauth2`, {
      headers: { authorization: `Bearer ${String(body.access_token)}` },
    });
    expect(data.status).toBe(200);
    expect(asObject(data.json).data).toHaveLength(7);
  });

  it('accepts the client credentials as HTTP basic too', async () => {
    const { sandbox } = context;
    const token = await requestToken(
      sandbox,
      { grant_type: 'client_credentials' },
      { authorization: basic(sandbox.generic.clientId, sandbox.generic.clientSecret) },
    );
    expect(token.status).toBe(200);
  });

  it.each([
    [
      'a wrong secret',
      { grant_type: 'client_credentials', client_id: 'sandbox-client', client_secret: 'nope' },
      401,
      'invalid_client',
    ],
    [
      'an unknown client',
      { grant_type: 'client_credentials', client_id: 'other', client_secret: 'sandbox-client-secret' },
      401,
      'invalid_client',
    ],
    ['no credentials', { grant_type: 'client_credentials' }, 401, 'invalid_client'],
    [
      'another grant type',
      { grant_type: 'password', client_id: 'sandbox-client', client_secret: 'sandbox-client-secret' },
      400,
      'unsupported_grant_type',
    ],
  ])('refuses %s', async (_name, form, status, error) => {
    const { sandbox } = context;
    const issued = sandbox.tokens.issuedCount;
    const response = await requestToken(sandbox, form);
    expect(response.status).toBe(status);
    expect(asObject(response.json).error).toBe(error);
    expect(sandbox.tokens.issuedCount).toBe(issued);
  });

  it('refuses a JSON token request (the grant is form-encoded)', async () => {
    const { sandbox } = context;
    const response = await fetchJson(`${sandbox.url}${tokenPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'sandbox-client',
        client_secret: 'sandbox-client-secret',
      }),
    });
    expect(response.status).toBe(400);
    expect(asObject(response.json).error).toBe('invalid_request');
  });

  it('a token stops working once its lifetime is over (401 expired), and a new one works', async () => {
    await usingSandbox({ generic: { tokenTtlMs: 800 } }, async (sandbox) => {
      const form = {
        grant_type: 'client_credentials',
        client_id: sandbox.generic.clientId,
        client_secret: sandbox.generic.clientSecret,
      };
      const first = asObject((await requestToken(sandbox, form)).json);
      expect(first.expires_in).toBe(1);
      const use = (token: unknown) =>
        fetchJson(`${sandbox.url}/generic/auth/oauth2`, {
          headers: { authorization: `Bearer ${String(token)}` },
        });
      expect((await use(first.access_token)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 850));
      const expired = await use(first.access_token);
      expect(expired.status).toBe(401);
      expect(expired.headers['www-authenticate']).toContain('invalid_token');
      expect(asObject(expired.json).message).toContain('expired');
      expect(sandbox.log.entries().at(-1)?.auth).toBe('expired');
      const second = asObject((await requestToken(sandbox, form)).json);
      expect(second.access_token).not.toBe(first.access_token);
      expect((await use(second.access_token)).status).toBe(200);
    });
  });

  it('tests can expire every token at once, and a token never issued is invalid', async () => {
    const { sandbox } = context;
    const token = asObject(
      (
        await requestToken(sandbox, {
          grant_type: 'client_credentials',
          client_id: sandbox.generic.clientId,
          client_secret: sandbox.generic.clientSecret,
        })
      ).json,
    ).access_token;
    sandbox.tokens.expireAll();
    const response = await fetchText(`${sandbox.url}/generic/auth/oauth2`, {
      headers: { authorization: `Bearer ${String(token)}` },
    });
    expect(response.status).toBe(401);
    expect(sandbox.log.entries().at(-1)?.auth).toBe('expired');
    await fetchText(`${sandbox.url}/generic/auth/oauth2`, { headers: { authorization: 'Bearer made-up' } });
    expect(sandbox.log.entries().at(-1)?.auth).toBe('invalid');
  });
});
