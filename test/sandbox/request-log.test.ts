import { describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '../../src/sandbox/request-log.ts';
import { tokenPath } from '../../src/sandbox/routes-generic.ts';
import { communicationsUrl, fetchText, messagingHeaders, usingSandbox, withSandbox } from './helpers.ts';

const context = withSandbox({ seed: 2, logLimit: 50 });

describe('request log', () => {
  it('records time (monotonic and wall), method, route, redacted path, status, auth and served records', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const before = performance.now();
    const wallBefore = Date.now();
    await fetchText(communicationsUrl(sandbox, 'call_queues', { extra: '1' }));
    await fetchText(`${sandbox.url}/v1/call_queues?api_key=wrong`);
    const [ok, refused] = sandbox.log.entries();
    expect(ok).toMatchObject({
      origin: 'main',
      method: 'GET',
      route: '/v1/call_queues',
      path: '/v1/call_queues?extra=1&api_key=REDACTED',
      status: 200,
      fault: undefined,
      auth: 'ok',
      outcome: 'complete',
      served: { resource: 'call_queues', start: 0, end: 10 },
      bytes: Buffer.byteLength(sandbox.dataset.bodyText('call_queues')),
    });
    expect(ok?.atMs).toBeGreaterThanOrEqual(before);
    expect(ok?.wallMs).toBeGreaterThanOrEqual(wallBefore);
    expect(ok?.durationMs).toBeGreaterThanOrEqual(0);
    expect(refused).toMatchObject({
      status: 401,
      auth: 'invalid',
      path: '/v1/call_queues?api_key=REDACTED',
      served: undefined,
    });
    expect(refused?.seq).toBe((ok?.seq ?? 0) + 1);
    expect(refused?.atMs).toBeGreaterThan(ok?.atMs ?? Number.POSITIVE_INFINITY);
  });

  it('says which credentials arrived where, by name, without ever storing a secret value', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    await fetchText(`${sandbox.url}/generic/auth/api-key-query?api_key=${sandbox.generic.apiKey}`);
    await fetchText(`${sandbox.url}/generic/auth/api-key-header`, {
      headers: { 'x-api-key': 'not-the-key' },
    });
    await fetchText(`${sandbox.url}/generic/auth/api-key-cookie`, {
      headers: { cookie: `api_key=${sandbox.generic.apiKey}` },
    });
    await fetchText(`${sandbox.url}/generic/auth/bearer`, {
      headers: { authorization: `Bearer ${sandbox.generic.bearerToken}` },
    });
    await fetchText(`${sandbox.url}/byon/contacts/v1`, { headers: messagingHeaders(sandbox) });
    // A known secret under an unexpected name is still a credential.
    await fetchText(`${sandbox.url}/generic/pages/offset`, {
      headers: { 'x-custom': sandbox.keys.communications },
    });
    await fetchText(`${sandbox.url}${tokenPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${sandbox.generic.clientId}&client_secret=${sandbox.generic.clientSecret}`,
    });
    const sightings = sandbox.log.entries().map((entry) => entry.credentials);
    expect(sightings).toEqual([
      [{ location: 'query', name: 'api_key', matched: true }],
      [{ location: 'header', name: 'x-api-key', matched: false }],
      [{ location: 'cookie', name: 'api_key', matched: true }],
      [{ location: 'authorization', name: 'Bearer', matched: true }],
      [{ location: 'header', name: 'api_key', matched: true }],
      [{ location: 'header', name: 'x-custom', matched: true }],
      [{ location: 'body', name: 'client_secret', matched: true }],
    ]);
    const everything = JSON.stringify(sandbox.log.entries());
    for (const secret of [
      sandbox.generic.apiKey,
      sandbox.generic.bearerToken,
      sandbox.generic.clientSecret,
      sandbox.keys.messaging,
      sandbox.keys.communications,
    ]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('matches issued OAuth2 tokens as known secrets', async () => {
    const { sandbox } = context;
    const token = await fetchText(`${sandbox.url}${tokenPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${sandbox.generic.clientId}&client_secret=${sandbox.generic.clientSecret}`,
    });
    const accessToken = String((JSON.parse(token.text) as { access_token: string }).access_token);
    await fetchText(`${sandbox.otherOrigin.url}/generic/pages/offset?access_token=${accessToken}`);
    const entry = sandbox.log.entries({ origin: 'other' }).at(-1);
    expect(entry?.credentials).toEqual([{ location: 'query', name: 'access_token', matched: true }]);
    expect(entry?.path).toBe('/generic/pages/offset?access_token=REDACTED');
  });

  it('filters by origin, route and method; keeps only the last `logLimit` entries', async () => {
    const { sandbox } = context;
    for (let i = 0; i < 60; i += 1) await fetchText(`${sandbox.url}/generic/pages/offset`);
    await fetchText(`${sandbox.url}/v1/call_queues`, { method: 'POST', body: '' });
    expect(sandbox.log.entries()).toHaveLength(50);
    expect(sandbox.log.entries({ route: '/generic/pages/offset' })).toHaveLength(49);
    expect(sandbox.log.entries({ method: 'post' })).toHaveLength(1);
    expect(sandbox.log.entries({ origin: 'other' })).toHaveLength(0);
    sandbox.log.clear();
    expect(sandbox.log.entries()).toEqual([]);
  });

  it('entries are snapshots: later requests do not change an entry a test already holds', async () => {
    const { sandbox } = context;
    await fetchText(`${sandbox.url}/generic/pages/offset`);
    const held = sandbox.log.entries().at(-1) as RequestLogEntry;
    const copy = JSON.stringify(held);
    await fetchText(`${sandbox.url}/generic/pages/offset`);
    expect(JSON.stringify(held)).toBe(copy);
    expect(Object.isFrozen(held)).toBe(true);
  });

  it('calls onRequest with each finished entry', async () => {
    const seen: RequestLogEntry[] = [];
    await usingSandbox({ onRequest: (entry) => seen.push(entry) }, async (sandbox) => {
      await fetchText(`${sandbox.url}/generic/pages/cursor`);
      await sandbox.log.settled();
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ route: '/generic/pages/cursor', status: 200, outcome: 'complete' });
  });
});
