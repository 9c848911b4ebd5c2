/**
 * Every auth kind against the sandbox's generic auth routes over real HTTP: the right credential gets the items, a
 * wrong one is an `auth` error that carries no secret, an unset variable is `SECRET_NOT_SET`; OAuth2 tokens are
 * cached, renewed before they expire, and renewed once after a 401.
 */
import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../src/http/authenticator.ts';
import { resolveSecrets } from '../../../src/config/secrets.ts';
import { tokenPath, type GenericAuthKind } from '../../../src/sandbox/routes-generic.ts';
import type { Sandbox } from '../../../src/sandbox/server.ts';
import { usingSandbox, withSandbox } from '../../sandbox/helpers.ts';
import {
  expectNoSecret,
  fetchAll,
  genericPlan,
  rejectionOf,
  requester,
  sandboxSecrets,
  withClient,
} from './helpers.ts';

const context = withSandbox({ seed: 5, counts: { items: 7 }, generic: { tokenTtlMs: 3_600_000 } });
const http = withClient();

interface AuthCase {
  readonly kind: GenericAuthKind;
  readonly auth: (sandbox: Sandbox) => unknown;
  /** The credential's value under GENERIC_SECRET. */
  readonly secret: (sandbox: Sandbox) => string;
  /** Where the sandbox saw it. */
  readonly seen: { readonly location: string; readonly name: string };
  readonly wrongCode: string;
}

const secretRef = { $env: 'GENERIC_SECRET' };

const cases: readonly AuthCase[] = [
  {
    kind: 'api-key-header',
    auth: () => ({ type: 'api_key', name: 'X-API-Key', location: 'header', api_key: secretRef }),
    secret: (sandbox) => sandbox.generic.apiKey,
    seen: { location: 'header', name: 'x-api-key' },
    wrongCode: 'HTTP_UNAUTHORIZED',
  },
  {
    kind: 'api-key-query',
    auth: () => ({ type: 'api_key', name: 'api_key', location: 'query', api_key: secretRef }),
    secret: (sandbox) => sandbox.generic.apiKey,
    seen: { location: 'query', name: 'api_key' },
    wrongCode: 'HTTP_UNAUTHORIZED',
  },
  {
    kind: 'api-key-cookie',
    auth: () => ({ type: 'api_key', name: 'api_key', location: 'cookie', api_key: secretRef }),
    secret: (sandbox) => sandbox.generic.apiKey,
    seen: { location: 'cookie', name: 'api_key' },
    wrongCode: 'HTTP_UNAUTHORIZED',
  },
  {
    kind: 'bearer',
    auth: () => ({ type: 'bearer', token: secretRef }),
    secret: (sandbox) => sandbox.generic.bearerToken,
    seen: { location: 'authorization', name: 'Bearer' },
    wrongCode: 'HTTP_UNAUTHORIZED',
  },
  {
    kind: 'basic',
    auth: (sandbox) => ({ type: 'http_basic', username: sandbox.generic.username, password: secretRef }),
    secret: (sandbox) => sandbox.generic.password,
    seen: { location: 'authorization', name: 'Basic' },
    wrongCode: 'HTTP_UNAUTHORIZED',
  },
  {
    kind: 'oauth2',
    auth: (sandbox) => ({
      type: 'oauth2_client_credentials',
      access_token_url: `${sandbox.url}${tokenPath}`,
      client_id: sandbox.generic.clientId,
      client_secret: secretRef,
    }),
    secret: (sandbox) => sandbox.generic.clientSecret,
    seen: { location: 'authorization', name: 'Bearer' },
    wrongCode: 'OAUTH_TOKEN_REJECTED',
  },
];

function resourceFor(sandbox: Sandbox, authCase: AuthCase, secret: string | undefined) {
  const plan = genericPlan(sandbox.url, `/generic/auth/${authCase.kind}`, { auth: authCase.auth(sandbox) });
  return requester(plan, 'items', {
    client: http.client,
    env: secret === undefined ? {} : { GENERIC_SECRET: secret },
  });
}

describe('auth kinds against the sandbox', () => {
  it.each(cases)('$kind: the right credential gets every item', async (authCase) => {
    const { sandbox } = context;
    sandbox.log.clear();
    const records = await fetchAll(resourceFor(sandbox, authCase, authCase.secret(sandbox)));
    expect(records).toEqual([...sandbox.dataset.records('items')]);
    const [entry] = sandbox.log.entries({ route: `/generic/auth/${authCase.kind}` });
    expect(entry?.auth).toBe('ok');
    expect(entry?.credentials).toContainEqual({ ...authCase.seen, matched: true });
  });

  it.each(cases)('$kind: a wrong credential is an auth error carrying no secret', async (authCase) => {
    const { sandbox } = context;
    const wrong = `wrong-${authCase.kind}-value-0123456789`;
    const error = await rejectionOf(fetchAll(resourceFor(sandbox, authCase, wrong)));
    expect(error.category).toBe('auth');
    expect(error.code).toBe(authCase.wrongCode);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('source "generic", resource "items');
    expectNoSecret(error, [wrong, ...sandboxSecrets(sandbox)]);
  });

  it.each(cases)('$kind: an unset variable is SECRET_NOT_SET naming it, before any request', (authCase) => {
    const { sandbox } = context;
    sandbox.log.clear();
    const plan = genericPlan(sandbox.url, `/generic/auth/${authCase.kind}`, {
      auth: authCase.auth(sandbox),
    });
    let thrown: unknown;
    try {
      requester(plan, 'items', { client: http.client, env: {} });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ category: 'auth', code: 'SECRET_NOT_SET' });
    expect(String((thrown as Error).message)).toContain('GENERIC_SECRET');
    expect(sandbox.log.entries()).toHaveLength(0);
  });
});

describe('OAuth2 client credentials', () => {
  const oauthCase = cases.find((item) => item.kind === 'oauth2')!;

  function oauthResource(sandbox: Sandbox, now?: () => number) {
    const plan = genericPlan(sandbox.url, '/generic/auth/oauth2', { auth: oauthCase.auth(sandbox) });
    const endpoint = plan.resources[0]?.endpoint;
    if (endpoint?.auth == null) throw new Error('no auth in the plan');
    const env = { GENERIC_SECRET: sandbox.generic.clientSecret };
    const authenticator = createAuthenticator(resolveSecrets(endpoint.auth, env), {
      client: http.client,
      source: 'generic',
      resource: 'items',
      ...(now === undefined ? {} : { now }),
    });
    return requester(plan, 'items', { client: http.client, env, authenticator });
  }

  it('caches the token: three requests, one token', async () => {
    await usingSandbox({ counts: { items: 3 } }, async (sandbox) => {
      const resource = oauthResource(sandbox);
      for (let i = 0; i < 3; i += 1) expect(await fetchAll(resource)).toHaveLength(3);
      expect(sandbox.tokens.issuedCount).toBe(1);
      expect(sandbox.log.entries({ route: tokenPath })).toHaveLength(1);
    });
  });

  it('concurrent first requests share one token request', async () => {
    await usingSandbox({ counts: { items: 3 } }, async (sandbox) => {
      const resource = oauthResource(sandbox);
      const results = await Promise.all([fetchAll(resource), fetchAll(resource), fetchAll(resource)]);
      expect(results.map((records) => records.length)).toEqual([3, 3, 3]);
      expect(sandbox.tokens.issuedCount).toBe(1);
    });
  });

  it('renews the token shortly before it expires, without a 401', async () => {
    await usingSandbox({ counts: { items: 3 }, generic: { tokenTtlMs: 3_600_000 } }, async (sandbox) => {
      let clock = 1_000_000;
      const resource = oauthResource(sandbox, () => clock);
      await fetchAll(resource);
      clock += 3_600_000 - 61_000; // outside the 60 s margin: still cached
      await fetchAll(resource);
      expect(sandbox.tokens.issuedCount).toBe(1);
      clock += 2_000; // inside the margin: renewed before use
      await fetchAll(resource);
      expect(sandbox.tokens.issuedCount).toBe(2);
      const statuses = sandbox.log.entries({ route: '/generic/auth/oauth2' }).map((entry) => entry.status);
      expect(statuses).toEqual([200, 200, 200]);
    });
  });

  it('a token that expired early (lifetime under a second) is renewed once after the 401', async () => {
    await usingSandbox({ counts: { items: 3 }, generic: { tokenTtlMs: 300 } }, async (sandbox) => {
      const resource = oauthResource(sandbox);
      await fetchAll(resource);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await fetchAll(resource)).toHaveLength(3);
      const outcomes = sandbox.log.entries({ route: '/generic/auth/oauth2' }).map((entry) => entry.auth);
      expect(outcomes).toEqual(['ok', 'expired', 'ok']);
      expect(sandbox.tokens.issuedCount).toBe(2);
    });
  });

  it('renews after a 401 from a revoked token', async () => {
    await usingSandbox({ counts: { items: 3 } }, async (sandbox) => {
      const resource = oauthResource(sandbox);
      await fetchAll(resource);
      sandbox.tokens.expireAll();
      expect(await fetchAll(resource)).toHaveLength(3);
      expect(sandbox.tokens.issuedCount).toBe(2);
    });
  });

  it('renews only once: a second 401 is an auth error', async () => {
    await usingSandbox({ counts: { items: 3 } }, async (sandbox) => {
      const resource = oauthResource(sandbox);
      sandbox.faults.add({ path: '/generic/auth/oauth2', fault: { type: 'status', status: 401 }, times: 5 });
      const error = await rejectionOf(fetchAll(resource));
      expect(error.code).toBe('HTTP_UNAUTHORIZED');
      expect(sandbox.log.entries({ route: '/generic/auth/oauth2' })).toHaveLength(2);
      expect(sandbox.tokens.issuedCount).toBe(2);
      expectNoSecret(error, sandboxSecrets(sandbox));
    });
  });

  it('a token response that is not JSON is OAUTH_TOKEN_REJECTED', async () => {
    await usingSandbox({ counts: { items: 3 } }, async (sandbox) => {
      sandbox.faults.add({ path: tokenPath, fault: { type: 'malformed-json' }, times: 1 });
      const error = await rejectionOf(fetchAll(oauthResource(sandbox)));
      expect(error).toMatchObject({ category: 'auth', code: 'OAUTH_TOKEN_REJECTED', retryable: false });
      expect(error.message).toContain('the token response is not JSON');
      expect(sandbox.log.entries({ route: '/generic/auth/oauth2' })).toHaveLength(0);
    });
  });

  it('a failing token endpoint (503) is transient and names the token request', async () => {
    await usingSandbox({ counts: { items: 3 } }, async (sandbox) => {
      sandbox.faults.add({ path: tokenPath, fault: { type: 'status', status: 503 }, times: 1 });
      const error = await rejectionOf(fetchAll(oauthResource(sandbox)));
      expect(error).toMatchObject({ category: 'http-transient', code: 'HTTP_SERVER_ERROR' });
      expect(error.message).toContain(`POST ${sandbox.url}${tokenPath}`);
      expect(error.message).toContain('OAuth2 token');
      expectNoSecret(error, sandboxSecrets(sandbox));
    });
  });
});
