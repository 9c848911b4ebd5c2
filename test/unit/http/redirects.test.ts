/**
 * Redirects are followed by our own code: same-origin hops keep the credentials, a hop to another origin carries
 * none (asserted from the sandbox's request log of its other origin), hops are bounded, and a request may refuse
 * redirects altogether.
 */
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../src/sandbox/server.ts';
import { tokenPath, type GenericAuthKind } from '../../../src/sandbox/routes-generic.ts';
import { defaultMaxRedirects, sendRequest } from '../../../src/http/send-request.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import {
  expectNoSecret,
  fetchAll,
  genericPlan,
  rejectionOf,
  requester,
  sandboxSecrets,
  startLocalServer,
  withClient,
} from './helpers.ts';

const context = withSandbox({ seed: 9, counts: { items: 5 } });
const http = withClient();
const secret = { $env: 'GENERIC_SECRET' };

const kinds: readonly {
  readonly kind: GenericAuthKind;
  readonly auth: (sandbox: Sandbox) => unknown;
  readonly value: (sandbox: Sandbox) => string;
}[] = [
  {
    kind: 'api-key-query',
    auth: () => ({ type: 'api_key', name: 'api_key', location: 'query', api_key: secret }),
    value: (sandbox) => sandbox.generic.apiKey,
  },
  {
    kind: 'api-key-header',
    auth: () => ({ type: 'api_key', name: 'X-API-Key', location: 'header', api_key: secret }),
    value: (sandbox) => sandbox.generic.apiKey,
  },
  {
    kind: 'api-key-cookie',
    auth: () => ({ type: 'api_key', name: 'api_key', location: 'cookie', api_key: secret }),
    value: (sandbox) => sandbox.generic.apiKey,
  },
  {
    kind: 'bearer',
    auth: () => ({ type: 'bearer', token: secret }),
    value: (sandbox) => sandbox.generic.bearerToken,
  },
  {
    kind: 'basic',
    auth: (sandbox) => ({ type: 'http_basic', username: sandbox.generic.username, password: secret }),
    value: (sandbox) => sandbox.generic.password,
  },
  {
    kind: 'oauth2',
    auth: (sandbox) => ({
      type: 'oauth2_client_credentials',
      access_token_url: `${sandbox.url}${tokenPath}`,
      client_id: sandbox.generic.clientId,
      client_secret: secret,
    }),
    value: (sandbox) => sandbox.generic.clientSecret,
  },
];

function resourceOf(sandbox: Sandbox, kind: (typeof kinds)[number], extra: object = {}) {
  const plan = genericPlan(sandbox.url, `/generic/auth/${kind.kind}`, { auth: kind.auth(sandbox), extra });
  return requester(plan, 'items', { client: http.client, env: { GENERIC_SECRET: kind.value(sandbox) } });
}

describe('redirects', () => {
  it.each(kinds)('$kind: a same-origin redirect keeps the credential', async (kind) => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.log.clear();
    const path = `/generic/auth/${kind.kind}`;
    sandbox.faults.add({ path, fault: { type: 'redirect', status: 302, target: 'same-origin' }, times: 1 });
    expect(await fetchAll(resourceOf(sandbox, kind))).toHaveLength(5);
    const entries = sandbox.log.entries({ route: path });
    expect(entries.map((entry) => [entry.origin, entry.status])).toEqual([
      ['main', 302],
      ['main', 200],
    ]);
    expect(entries[1]?.auth).toBe('ok');
  });

  it.each(kinds)('$kind: a redirect to another origin carries no credential', async (kind) => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.log.clear();
    const path = `/generic/auth/${kind.kind}`;
    sandbox.faults.add({ path, fault: { type: 'redirect', status: 307, target: 'other-origin' }, times: 1 });
    // A custom credential header must not travel either.
    const resource = resourceOf(sandbox, kind, { headers: { 'X-Custom-Token': secret } });
    expect(await fetchAll(resource)).toHaveLength(5);
    const other = sandbox.log.entries({ origin: 'other' });
    expect(other).toHaveLength(1);
    expect(other[0]?.status).toBe(200);
    expect(other[0]?.credentials).toEqual([]);
    // …while the main origin did get it.
    expect(sandbox.log.entries({ origin: 'main', route: path })[0]?.credentials.length).toBeGreaterThan(0);
  });

  it('a Location that itself carries the api key to another origin is stripped of it', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const key = sandbox.generic.apiKey;
    const redirector = await startLocalServer((_req, res) => {
      res.writeHead(302, {
        location: `${sandbox.otherOrigin.url}/generic/auth/api-key-query?api_key=${key}&page=1&x=${key}`,
      });
      res.end();
    });
    try {
      const plan = genericPlan(redirector.url, '/start', {
        auth: { type: 'api_key', name: 'api_key', location: 'query', api_key: secret },
      });
      const resource = requester(plan, 'items', { client: http.client, env: { GENERIC_SECRET: key } });
      expect(await fetchAll(resource)).toHaveLength(5);
      expect(redirector.received[0]?.url).toContain(`api_key=${key}`);
      const [entry] = sandbox.log.entries({ origin: 'other' });
      expect(entry?.credentials).toEqual([]);
      expect(entry?.path).toBe('/generic/auth/api-key-query?page=1');
    } finally {
      await redirector.stop();
    }
  });

  it(`stops after ${defaultMaxRedirects} hops with HTTP_TOO_MANY_REDIRECTS`, async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.log.clear();
    const kind = kinds[0]!;
    sandbox.faults.add({
      path: '/generic/auth/api-key-query',
      fault: { type: 'redirect', status: 302, target: 'same-origin' },
    });
    const error = await rejectionOf(fetchAll(resourceOf(sandbox, kind)));
    expect(error).toMatchObject({
      category: 'http-permanent',
      code: 'HTTP_TOO_MANY_REDIRECTS',
      retryable: false,
    });
    expect(sandbox.log.entries()).toHaveLength(defaultMaxRedirects + 1);
    expect(error.message).toContain('api_key=REDACTED');
    expectNoSecret(error, sandboxSecrets(sandbox));
    sandbox.faults.clear();
  });

  it('redirects: error refuses any redirect and never reaches the target', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.log.clear();
    const kind = kinds[1]!;
    sandbox.faults.add({
      path: '/generic/auth/api-key-header',
      fault: { type: 'redirect', status: 302, target: 'other-origin' },
      times: 1,
    });
    const resource = resourceOf(sandbox, kind);
    const error = await rejectionOf(resource.send(resource.render(), { redirects: 'error' }));
    expect(error).toMatchObject({ category: 'http-permanent', code: 'HTTP_REDIRECT_NOT_FOLLOWED' });
    expect(error.details['location']).toContain(sandbox.otherOrigin.url);
    expect(sandbox.log.entries({ origin: 'other' })).toHaveLength(0);
  });

  it.each([
    [303, 'GET', 0],
    [302, 'GET', 0],
    [307, 'POST', 11],
    [308, 'POST', 11],
  ])('a POST redirected with %i continues as %s (body bytes %i)', async (status, method, bytes) => {
    const server = await startLocalServer((req, res) => {
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () => {
        if (req.url === '/start') {
          res.writeHead(status, { location: '/done' }).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, size, type: req.headers['content-type'] ?? null }));
      });
    });
    try {
      const response = await sendRequest(
        {
          method: 'POST',
          url: `${server.url}/start`,
          headers: { 'content-type': 'application/json' },
          body: '{"a":"bcd"}',
          source: 'generic',
          resource: 'items',
        },
        { client: http.client },
      );
      expect(JSON.parse(await response.text())).toEqual({
        method,
        size: bytes,
        type: bytes === 0 ? null : 'application/json',
      });
      expect(response.url).toBe(`${server.url}/done`);
    } finally {
      await server.stop();
    }
  });
});
