/**
 * Which sources a worker serves and with which credentials is decided from the sources folder and the sources'
 * configs, not from names in an entry point: pointed at the sandbox, each credential variable a config names holds
 * the sandbox's key for that source; the start-up survey lists each source, the credential variables it lacks
 * (names only) and each broken file; `npm start` runs the sandbox's sources and every other source whose
 * credentials are set.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSource } from '../../../src/activities/plan-source.ts';
import { shippedSourcesDir } from '../../../src/config/registry.ts';
import {
  chooseStartRuns,
  logSurvey,
  sourcesFromEnvironment,
  sourcesFromSandbox,
  surveySources,
} from '../../../src/app/sources.ts';
import { startSandbox, type Sandbox } from '../../../src/sandbox/server.ts';

let sandbox: Sandbox;
let dir: string;
beforeAll(async () => {
  sandbox = await startSandbox();
  // The shipped sources, one source of another API, and a broken file.
  dir = await mkdtemp(join(tmpdir(), 'ingest-runtime-sources-'));
  for (const name of ['communications', 'messaging'])
    await copyFile(join(shippedSourcesDir, `${name}.yaml`), join(dir, `${name}.yaml`));
  await writeFile(
    join(dir, 'weather.yaml'),
    `name: weather
client:
  base_url: https://weather.example.com
  auth: bearer
resources:
  - name: stations
    primary_key: id
    endpoint: { path: /stations, paginator: single_page }
`,
  );
  await writeFile(join(dir, 'broken.json'), '{ "name": "broken", ');
});
afterAll(async () => {
  await sandbox.stop();
  await rm(dir, { recursive: true, force: true });
});

const keys = (): Readonly<Record<string, string>> => sandbox.keys;

describe('sourcesFromSandbox', () => {
  it('sets every credential variable of each source the sandbox serves to its key, and points it there', async () => {
    const bindings = await sourcesFromSandbox(sandbox, {}, dir);
    for (const source of ['communications', 'messaging']) {
      const { plan } = await planSource({ source }, { ...bindings, env: bindings.env });
      expect(plan.secretVariables.length).toBeGreaterThan(0);
      for (const variable of plan.secretVariables) expect(bindings.env[variable]).toBe(keys()[source]);
      expect(bindings.baseUrls?.[source]).toBe(sandbox.url);
    }
    expect(bindings.baseUrls?.['weather']).toBeUndefined();
    expect(bindings.env['WEATHER_TOKEN']).toBeUndefined();
    expect(bindings.sandbox).toBe(true);
    expect(bindings.sandboxSources).toEqual(['communications', 'messaging']);
    expect(bindings.sourcesDir).toBe(dir);
  });

  it('binds the config values the sandbox suggests, so that messaging’s sms runs against it', async () => {
    const bindings = await sourcesFromSandbox(sandbox, {}, dir);
    const { plan } = await planSource({ source: 'messaging' }, bindings);
    expect(plan.resources.find((resource) => resource.name === 'sms')?.skip).toBeNull();
  });

  it('keeps the rest of the environment (config values) and lets the sandbox keys win', async () => {
    const bindings = await sourcesFromSandbox(
      sandbox,
      { MESSAGING_CONFIG_TO: '+15550100042', MESSAGING_API_KEY: 'a-real-key' },
      dir,
    );
    expect(bindings.env['MESSAGING_CONFIG_TO']).toBe('+15550100042');
    expect(bindings.env['MESSAGING_API_KEY']).toBe(sandbox.keys.messaging);
  });

  it('binds the config values a sandbox suggests per source, unless the environment sets them', async () => {
    const offer = {
      url: sandbox.url,
      keys: sandbox.keys,
      configValues: { messaging: { to: '+15550100001', from: '+15550100002', bad: 3 }, unknown: { x: 'y' } },
    };
    const bindings = await sourcesFromSandbox(offer, { MESSAGING_CONFIG_FROM: 'ACME' }, dir);
    expect(bindings.env['MESSAGING_CONFIG_TO']).toBe('+15550100001');
    expect(bindings.env['MESSAGING_CONFIG_FROM']).toBe('ACME');
    expect(bindings.env['MESSAGING_CONFIG_BAD']).toBeUndefined();
    expect(bindings.env['UNKNOWN_CONFIG_X']).toBeUndefined();
    const { plan } = await planSource({ source: 'messaging' }, bindings);
    expect(plan.resources.find((resource) => resource.name === 'sms')?.skip).toBeNull();
  });
});

describe('surveySources and chooseStartRuns', () => {
  it('lists each source with its file, resources and missing credential names, and each broken file', async () => {
    const survey = await surveySources(
      sourcesFromEnvironment({ COMMUNICATIONS_API_KEY: 'secret-value-1' }, dir),
    );
    expect(survey.served.map((s) => [s.name, s.resources, s.missingCredentials, s.sandbox])).toEqual([
      ['communications', 9, [], false],
      ['messaging', 5, ['MESSAGING_API_KEY'], false],
      ['weather', 1, ['WEATHER_TOKEN'], false],
    ]);
    expect(survey.served[0]?.file).toBe(join(dir, 'communications.yaml'));
    expect(survey.broken.map((file) => file.file)).toEqual([join(dir, 'broken.json')]);
  });

  it('runs the sandbox’s sources and every other source whose credentials are set; lists the rest', async () => {
    const bindings = await sourcesFromSandbox(sandbox, {}, dir);
    const { run, notRun } = chooseStartRuns(await surveySources(bindings));
    expect(run).toEqual(['communications', 'messaging']);
    expect(notRun.map((entry) => entry.source)).toEqual(['weather', 'broken.json']);
    expect(notRun[0]?.reason).toBe('not served by the sandbox, and WEATHER_TOKEN not set');
    expect(notRun[1]?.reason).toContain(join(dir, 'broken.json'));

    const withToken = await sourcesFromSandbox(sandbox, { WEATHER_TOKEN: 'w-secret' }, dir);
    expect(chooseStartRuns(await surveySources(withToken)).run).toEqual([
      'communications',
      'messaging',
      'weather',
    ]);
  });
});

describe('logSurvey', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    return { log: pino({ level: 'info' }, stream), lines };
  };

  it('logs one line per source and per broken file, with variable names and never a value', async () => {
    const { log, lines } = capture();
    logSurvey(
      await surveySources(sourcesFromEnvironment({ COMMUNICATIONS_API_KEY: 'secret-value-1' }, dir)),
      log,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => [line['source'] ?? line['file'], line['level']])).toEqual([
      ['communications', 30],
      ['messaging', 40],
      ['weather', 40],
      [join(dir, 'broken.json'), 50],
    ]);
    expect(String(lines[1]?.['msg'])).toContain('MESSAGING_API_KEY');
    expect(JSON.stringify(lines)).not.toContain('secret-value-1');
  });

  it('warns loudly when no source is served', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ingest-no-sources-'));
    try {
      const { log, lines } = capture();
      logSurvey(await surveySources(sourcesFromEnvironment({}, empty)), log);
      await new Promise((resolve) => setImmediate(resolve));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, dir: empty });
      expect(String(lines[0]?.['msg'])).toContain('NO SOURCE IS SERVED');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
