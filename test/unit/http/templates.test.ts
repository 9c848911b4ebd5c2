/**
 * The shipped messaging source against the sandbox over real HTTP: both template syntaxes (`{{ config['x'] }}` /
 * `{{ stream_slice.f }}` and dlt's `{resources.parent.field}`) produce the right URLs and encodings (a `+` arrives as
 * `+`), a resource with missing config values is skipped without a request, and the message send (not repeatable)
 * refuses redirects and uses a fresh connection.
 */
import { describe, expect, it } from 'vitest';
import { resolveSource } from '../../../src/config/resolve.ts';
import type { SourceConfig } from '../../../src/config/schema.ts';
import { failedBeforeSending } from '../../../src/http/http-errors.ts';
import { openResource } from '../../../src/http/resource-request.ts';
import { loadSourceByName, shippedSourcesDir } from '../../../src/config/registry.ts';
import type { Sandbox } from '../../../src/sandbox/server.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import {
  closedPort,
  expectNoSecret,
  fetchAll,
  rejectionOf,
  requester,
  sandboxSecrets,
  withClient,
} from './helpers.ts';

const context = withSandbox({ seed: 21, counts: { contacts: 4 } });
const http = withClient();

const to = '+4915112345678';
const from = 'Sender + Co';
const message = 'Hi & bye: 50% off, a+b=c?';

function sendingEnv(sandbox: Sandbox): Record<string, string> {
  return {
    MESSAGING_API_KEY: sandbox.keys.messaging,
    MESSAGING_CONFIG_TO: to,
    MESSAGING_CONFIG_FROM: from,
    MESSAGING_CONFIG_MESSAGE: message,
  };
}

async function messagingPlan(
  sandbox: Sandbox,
  env: Record<string, string>,
  edit?: (config: SourceConfig) => SourceConfig,
) {
  const { config } = await loadSourceByName(shippedSourcesDir, 'messaging');
  return resolveSource(edit === undefined ? config : edit(config), { env, baseUrl: sandbox.url });
}

describe('templates over real HTTP', () => {
  it("{{ config['x'] }} values arrive exactly as configured (a + stays a +)", async () => {
    const { sandbox } = context;
    const env = sendingEnv(sandbox);
    const sms = requester(await messagingPlan(sandbox, env), 'sms', { client: http.client, env });
    const [record] = await fetchAll(sms);
    const sent = sandbox.messaging.sends().at(-1);
    expect([sent?.to, sent?.from]).toEqual([to, from]);
    expect(record).toMatchObject({ status: 'ACCEPTED', to, from });
    expect(sandbox.log.entries({ route: '/messaging/v1/sms' }).at(-1)?.path).toContain('to=%2B4915112345678');
  });

  it('{{ stream_slice.requestId }} fetches the message of each parent record', async () => {
    const { sandbox } = context;
    const env = sendingEnv(sandbox);
    const plan = await messagingPlan(sandbox, env);
    const [sent] = (await fetchAll(requester(plan, 'sms', { client: http.client, env }))) as {
      requestId: string;
    }[];
    const messages = requester(plan, 'messages', { client: http.client, env });
    const [detail] = await fetchAll(messages, { parent: sent });
    expect(detail).toMatchObject({ requestId: sent?.requestId, to });
  });

  it('{resources.sms.requestId} (dlt syntax) does the same', async () => {
    const { sandbox } = context;
    const env = sendingEnv(sandbox);
    const plan = await messagingPlan(sandbox, env, (config) => ({
      ...config,
      resources: config.resources.map((resource) =>
        typeof resource === 'object' && resource.name === 'messages'
          ? {
              ...resource,
              endpoint: {
                path: '/messaging/v1/messages/{resources.sms.requestId}',
                data_selector: 'data',
                paginator: 'single_page',
              },
            }
          : resource,
      ),
    }));
    const [sent] = (await fetchAll(requester(plan, 'sms', { client: http.client, env }))) as {
      requestId: string;
    }[];
    const [detail] = await fetchAll(requester(plan, 'messages', { client: http.client, env }), {
      parent: sent,
    });
    expect(detail).toMatchObject({ requestId: sent?.requestId });
    expect(sandbox.log.entries({ route: '/messaging/v1/messages/{requestId}' }).at(-1)?.path).toBe(
      `/messaging/v1/messages/${sent?.requestId}`,
    );
  });

  it('a parent value with + and / is one encoded path segment', async () => {
    const { sandbox } = context;
    const env = { MESSAGING_API_KEY: sandbox.keys.messaging };
    const messages = requester(await messagingPlan(sandbox, env), 'messages', { client: http.client, env });
    const error = await rejectionOf(fetchAll(messages, { parent: { requestId: 'a+b/c d' } }));
    expect(error).toMatchObject({
      category: 'http-permanent',
      code: 'HTTP_CLIENT_ERROR',
      details: { status: 404 },
    });
    expect(sandbox.log.entries().at(-1)?.path).toBe('/messaging/v1/messages/a%2Bb%2Fc%20d');
    expect(error.message).toContain(`GET ${sandbox.url}/messaging/v1/messages/a%2Bb%2Fc%20d`);
    expect(error.message).toContain('body: "{');
    expectNoSecret(error, sandboxSecrets(sandbox));
  });
});

describe('skipped resources', () => {
  it('sms without to/from is skipped with a reason and nothing is requested', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const env = { MESSAGING_API_KEY: sandbox.keys.messaging };
    const plan = await messagingPlan(sandbox, env);
    const opened = openResource(plan, 'sms', { client: http.client, env });
    expect(opened.kind).toBe('skipped');
    if (opened.kind !== 'skipped') return;
    expect(opened.skip.missingConfig).toEqual(['from', 'to']);
    expect(opened.skip.reason).toContain('to');
    // The other resources still run.
    expect(await fetchAll(requester(plan, 'contacts', { client: http.client, env }))).toHaveLength(4);
    expect(sandbox.log.entries({ route: '/messaging/v1/sms' })).toHaveLength(0);
  });

  it('an unknown resource is a config error listing the plan', async () => {
    const { sandbox } = context;
    const plan = await messagingPlan(sandbox, {});
    expect(() => openResource(plan, 'nope', { client: http.client, env: {} })).toThrow(
      /has no resource "nope"/,
    );
  });
});

describe('the message send is not repeatable', () => {
  it('refuses a redirect instead of following it', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'redirect', status: 307, target: 'other-origin' },
      times: 1,
    });
    const env = sendingEnv(sandbox);
    const sms = requester(await messagingPlan(sandbox, env), 'sms', { client: http.client, env });
    const error = await rejectionOf(fetchAll(sms));
    expect(error.code).toBe('HTTP_REDIRECT_NOT_FOLLOWED');
    expect(sandbox.log.entries({ origin: 'other' })).toHaveLength(0);
  });

  it('is sent on a fresh connection each time, while other requests reuse pooled ones', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    const env = sendingEnv(sandbox);
    const plan = await messagingPlan(sandbox, env);
    const sms = requester(plan, 'sms', { client: http.client, env });
    const contacts = requester(plan, 'contacts', { client: http.client, env });
    await fetchAll(contacts);
    await fetchAll(contacts);
    const before = http.client.connectionsOpened;
    for (let i = 0; i < 4; i += 1) await fetchAll(contacts);
    // Pooled: a socket is released a tick after its response, so back-to-back requests may use a second one.
    expect(http.client.connectionsOpened - before).toBeLessThanOrEqual(1);
    const pooled = http.client.connectionsOpened;
    await fetchAll(sms);
    await fetchAll(sms);
    expect(http.client.connectionsOpened).toBe(pooled + 2);
  });

  it('an answer lost after the send is a request-phase failure: the message WAS sent', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'reset', when: 'before-headers' },
      phase: 'after-handler',
      times: 1,
    });
    const env = sendingEnv(sandbox);
    const sms = requester(await messagingPlan(sandbox, env), 'sms', { client: http.client, env });
    const sendsBefore = sandbox.messaging.sends().length;
    const error = await rejectionOf(fetchAll(sms));
    expect(error).toMatchObject({ category: 'http-transient', code: 'HTTP_NETWORK_ERROR' });
    expect(failedBeforeSending(error)).toBe(false);
    expect(sandbox.messaging.sends().length).toBe(sendsBefore + 1);
    expectNoSecret(error, sandboxSecrets(sandbox));
  });

  it('a refused connection for the send is a connect-phase failure: safe to send again', async () => {
    const { sandbox } = context;
    const env = sendingEnv(sandbox);
    const { config } = await loadSourceByName(shippedSourcesDir, 'messaging');
    const plan = resolveSource(config, { env, baseUrl: `http://127.0.0.1:${await closedPort()}` });
    const sendsBefore = sandbox.messaging.sends().length;
    const error = await rejectionOf(fetchAll(requester(plan, 'sms', { client: http.client, env })));
    expect(error).toMatchObject({ category: 'http-transient', code: 'HTTP_NETWORK_ERROR' });
    expect(failedBeforeSending(error)).toBe(true);
    expect(sandbox.messaging.sends().length).toBe(sendsBefore);
    expect(error.message).toContain('to=%2B4915112345678');
    expectNoSecret(error, sandboxSecrets(sandbox));
  });
});
