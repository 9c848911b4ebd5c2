import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveSource } from '../../../src/config/resolve.ts';
import { loadSourceByName, scanSources, shippedSourcesDir } from '../../../src/config/registry.ts';
import { validateSourceConfig } from '../../../src/config/analyse.ts';
import { asyncErrorOf, errorOf, problemLines } from './helpers.ts';

/** The seed dicts, copied from the seed files with `dlt.secrets["api_key"]` kept as a marker string. */
const seed = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./fixtures/seed-${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
const secretMarker = 'dlt.secrets["api_key"]';

/** The sources shipped in the repository's `sources/` folder. */
const sourceNames = ['communications', 'messaging'] as const;
type SourceName = (typeof sourceNames)[number];
const loadSource = (name: string) => loadSourceByName(shippedSourcesDir, name);

describe('the shipped sources mirror the seed dicts one to one', () => {
  it.each(sourceNames)('%s', async (name) => {
    const { config, warnings } = await loadSource(name);
    const { name: sourceName, config: values, ...dict } = config;
    expect(sourceName).toBe(name);
    expect(warnings).toEqual([]);

    // The only allowed changes: the secret reference, the parent binding of `messages`, `sms`'s side effects and
    // the polling of `messages` (ours).
    const expected = seed(name) as {
      client: { auth: Record<string, unknown> };
      resources: Record<string, unknown>[];
    };
    expect(expected.client.auth['api_key']).toBe(secretMarker);
    expected.client.auth['api_key'] = { $env: `${name.toUpperCase()}_API_KEY` };
    for (const resource of expected.resources) {
      if (resource['name'] === 'messages') {
        (resource['endpoint'] as Record<string, unknown>)['params'] = {
          requestId: { type: 'resolve', resource: 'sms', field: 'requestId' },
        };
        resource['poll'] = {
          field: 'status',
          final: ['DELIVERED', 'UNDELIVERABLE', 'REJECTED', 'EXPIRED'],
          interval_seconds: 20,
          run_for_seconds: 300,
          max_age_seconds: 86400,
        };
      }
      if (resource['name'] === 'sms') resource['side_effects'] = true;
    }
    expect(dict).toEqual(expected);
    if (name === 'messaging') expect(values).toEqual({ to: null, from: null, message: null });
    else expect(values).toBeUndefined();
  });
});

describe('the shipped sources resolve', () => {
  it('communications: nine independent resources, the key in the query', async () => {
    const plan = resolveSource((await loadSource('communications')).config, { env: {} });
    expect(plan.resources.map((resource) => [resource.name, resource.skip])).toEqual(
      knownResourceNames('communications').map((name) => [name, null]),
    );
    expect(plan.resources[0]?.endpoint?.auth).toEqual({
      type: 'api_key',
      name: 'api_key',
      location: 'query',
      apiKey: { $env: 'COMMUNICATIONS_API_KEY' },
    });
    expect(
      plan.resources.every(
        (resource) => resource.primaryKey.join() === 'id' && resource.writeDisposition === 'merge',
      ),
    ).toBe(true);
    expect(plan.secretVariables).toEqual(['COMMUNICATIONS_API_KEY']);
  });

  it('messaging: sms is skipped without to/from, and runs with them', async () => {
    const { config } = await loadSource('messaging');
    const idle = resolveSource(config, { env: {} });
    expect(idle.resources.map((resource) => [resource.name, resource.skip?.missingConfig ?? null])).toEqual([
      ['sms', ['from', 'to']],
      ['messages', null],
      ['contacts', null],
      ['phones', null],
      ['registrations', null],
    ]);
    const sending = resolveSource(config, {
      env: {
        MESSAGING_CONFIG_TO: '+4915112345678',
        MESSAGING_CONFIG_FROM: 'ACME',
        MESSAGING_BASE_URL: 'http://127.0.0.1:9999',
      },
    });
    expect(sending.baseUrl).toBe('http://127.0.0.1:9999');
    expect(sending.resources[0]?.endpoint?.params).toEqual({ to: '+4915112345678', from: 'ACME' });
    expect(sending.resources[1]?.dependency?.parentRecordsFrom).toBe('run');
    expect(sending.secretVariables).toEqual(['MESSAGING_API_KEY']);
  });

  it('lets a resource override the default primary key', async () => {
    const { config } = await loadSource('messaging');
    const contacts = { ...(config.resources[2] as object), primary_key: 'contactId' };
    const plan = resolveSource(
      {
        ...config,
        resources: [config.resources[0], config.resources[1], contacts] as typeof config.resources,
      },
      { env: {} },
    );
    expect(plan.resources.map((resource) => [resource.name, resource.primaryKey])).toEqual([
      ['sms', ['requestId']],
      ['messages', ['requestId']],
      ['contacts', ['contactId']],
    ]);
  });
});

/** The resources of each shipped source, in file order: the seeds' resources, none added, none lost. */
const shippedResources: Readonly<Record<SourceName, readonly string[]>> = {
  communications: [
    'user_business_hours',
    'company_business_hours',
    'forwarding_numbers',
    'blocked_allowed_phonenumbers',
    'user_call_records',
    'user_active_calls',
    'call_monitoring_groups',
    'call_queues',
    'ivr_prompts',
  ],
  messaging: ['sms', 'messages', 'contacts', 'phones', 'registrations'],
};

function knownResourceNames(source: SourceName): readonly string[] {
  return shippedResources[source];
}

describe('deletion detection on the shipped sources', () => {
  it('is refused for sms (its request uses config values) and messages (resolved from sms), by name', async () => {
    const { config } = await loadSource('messaging');
    const error = errorOf(() =>
      validateSourceConfig({
        ...config,
        resource_defaults: { ...config.resource_defaults, deletion_detection: true },
      }),
    );
    expect(problemLines(error)).toEqual([
      'resource_defaults.deletion_detection: deletion detection is refused for "sms": its request depends on config values (to, from, message), so a fetch does not see the whole table (set in resource_defaults; set it to false on this resource)',
      'resource_defaults.deletion_detection: deletion detection is refused for "messages": its requests depend on the parent resource "sms", so no fetch sees the whole table (set in resource_defaults; set it to false on this resource)',
    ]);
  });

  it('is accepted on every communications resource, and for replace refused as needing merge', async () => {
    const { config } = await loadSource('communications');
    const detecting = {
      ...config,
      resource_defaults: { ...config.resource_defaults, deletion_detection: true },
    };
    const plan = resolveSource(validateSourceConfig(detecting).config, { env: {} });
    expect(plan.resources.every((resource) => resource.deletionDetection)).toBe(true);
    const replacing = {
      ...detecting,
      resource_defaults: { ...detecting.resource_defaults, write_disposition: 'replace' as const },
    };
    const problems = problemLines(errorOf(() => validateSourceConfig(replacing)));
    expect(problems).toHaveLength(9);
    expect(problems).toContain(
      'resource_defaults.deletion_detection: deletion detection needs write_disposition merge ("user_call_records" uses replace) (set in resource_defaults; set it to false on this resource)',
    );
  });
});

describe('the shipped sources folder', () => {
  it('serves the shipped sources, each from its file, with the resources of each', async () => {
    const scan = await scanSources(shippedSourcesDir);
    expect(scan.broken).toEqual([]);
    expect([...scan.sources.keys()]).toEqual(sourceNames);
    for (const name of sourceNames) {
      expect(scan.sources.get(name)?.file).toBe(join(shippedSourcesDir, `${name}.yaml`));
      const { config } = await loadSource(name);
      expect(
        config.resources.map((resource) => (typeof resource === 'string' ? resource : resource.name)),
      ).toEqual(knownResourceNames(name));
    }
  });

  it('rejects an unknown source, suggesting the closest', async () => {
    const error = await asyncErrorOf(loadSource('mesaging'));
    expect(error.code).toBe('UNKNOWN_SOURCE');
    expect(problemLines(error)).toEqual([
      `source: unknown source "mesaging" — did you mean "messaging"?; the sources in ${shippedSourcesDir} are: communications, messaging`,
    ]);
  });
});

describe('docs/config.md', () => {
  it('shows the shipped messaging source as its full example', async () => {
    const docs = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
    const example = /### A full example: the messaging source[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toBeDefined();
    expect(parse(example ?? '')).toEqual((await loadSource('messaging')).config);
  });
});
