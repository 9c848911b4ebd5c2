/**
 * Where credentials and bodies may go: credentials only to the source's base URL origin (an absolute endpoint path
 * to another origin is requested without them), no request body carried by a 307/308 to another origin, and no
 * redirect from a public address into a private, loopback or link-local one (the cloud metadata service). Over real
 * HTTP: the sandbox's two origins and a local redirecting server.
 */
import { describe, expect, it } from 'vitest';
import { isPrivateAddress, resolvesToPrivate } from '../../../src/http/private-address.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import { fetchAll, genericPlan, rejectionOf, requester, startLocalServer, withClient } from './helpers.ts';

const context = withSandbox({ seed: 5, counts: { items: 3 } });
const http = withClient();
const secret = { $env: 'GENERIC_SECRET' };

describe('credentials', () => {
  it('go to the base URL origin only: an absolute path to another origin is requested without them', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const plan = genericPlan(sandbox.url, `${sandbox.otherOrigin.url}/generic/auth/api-key-header`, {
      auth: { type: 'api_key', name: 'X-API-Key', location: 'header', api_key: secret },
      extra: { headers: { 'X-Custom-Token': secret } },
    });
    const resource = requester(plan, 'items', {
      client: http.client,
      env: { GENERIC_SECRET: sandbox.generic.apiKey },
    });
    await fetchAll(resource);
    const other = sandbox.log.entries({ origin: 'other' });
    expect(other).toHaveLength(1);
    expect(other[0]?.credentials).toEqual([]);
  });
});

describe('redirects that are refused', () => {
  it('a 307 that would carry the request body to another origin', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const redirector = await startLocalServer((_req, res) => {
      res.writeHead(307, { location: `${sandbox.otherOrigin.url}/generic/search` });
      res.end();
    });
    try {
      const plan = genericPlan(redirector.url, '/search', {
        extra: { method: 'POST', json: { query: 'x' } },
      });
      const error = await rejectionOf(fetchAll(requester(plan, 'items', { client: http.client, env: {} })));
      expect(error).toMatchObject({ code: 'HTTP_REDIRECT_REFUSED', retryable: false });
      expect(sandbox.log.entries({ origin: 'other' })).toHaveLength(0);
    } finally {
      await redirector.stop();
    }
  });
});

describe('private addresses', () => {
  it('are the private, loopback, link-local and unspecified ranges', () => {
    for (const address of [
      '10.1.2.3',
      '127.0.0.1',
      '169.254.169.254',
      '172.20.0.1',
      '192.168.1.1',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '[::1]',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', 'example.com']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });

  it('include localhost names; a name that does not resolve is not one', async () => {
    expect(await resolvesToPrivate('localhost')).toBe(true);
    expect(await resolvesToPrivate('api.localhost')).toBe(true);
    expect(await resolvesToPrivate('no-such-host.invalid')).toBe(false);
  });
});
