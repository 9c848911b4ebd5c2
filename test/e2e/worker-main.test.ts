/**
 * `npm run worker` against the run's servers: it starts whatever credentials are missing, logging each source it
 * serves with the variables it lacks (names only) and each broken file; a run of a source without its credential
 * fails naming the variable. It never falls back to the sandbox silently; with `--sandbox` it starts, and SIGTERM
 * stops it with exit code 0. A traced worker given a prebuilt bundle without the tracing interceptors says so.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/local/paths.ts';
import { withDatabase } from '../helpers/database.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';
import { until } from '../helpers/until.ts';
import { failureOfRunWithoutKey } from '../helpers/run-without-key.ts';
import { spawnWorkerEntry } from '../helpers/worker-entry.ts';

const database = withDatabase();
const { temporalAddress, namespace, workflowBundlePath } = inject('stack');
const emptyDir = await mkdtemp(join(tmpdir(), 'ingest-worker-sources-'));
afterAll(() => rm(emptyDir, { recursive: true, force: true }));

const baseEnv = () => {
  const env: NodeJS.ProcessEnv = {
    ...isolatedTemporalEnv(process.env),
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    DATABASE_URL: database.url,
  };
  delete env['COMMUNICATIONS_API_KEY'];
  delete env['MESSAGING_API_KEY'];
  delete env['INGEST_SOURCES_DIR'];
  delete env['INGEST_CODEC_KEYS'];
  return env;
};

describe('npm run worker', () => {
  it('starts without credentials, lists what each source lacks, and fails a run naming the variable', async () => {
    const worker = spawnWorkerEntry(['--workflow-bundle', workflowBundlePath], baseEnv());
    try {
      await worker.waitFor('worker started');
      const output = worker.output();
      expect(output).toContain('source communications: serving 9 resources from');
      expect(output).toContain(join(projectRoot, 'sources', 'communications.yaml'));
      expect(output).toContain('its runs fail until COMMUNICATIONS_API_KEY is set');
      expect(output).toContain('its runs fail until MESSAGING_API_KEY is set');
      expect(output).toContain('"payloads":"not encrypted (INGEST_CODEC_KEYS is not set)"');

      const connection = await Connection.connect({ address: temporalAddress });
      try {
        const client = new Client({ connection, namespace });
        const cause = await failureOfRunWithoutKey(client, `worker-main/no-credentials/${Date.now()}`);
        expect(cause?.message).toContain('MESSAGING_API_KEY');
        expect(cause?.message).toContain('source messaging');
      } finally {
        await connection.close();
      }
    } finally {
      const { code, output } = await worker.stop();
      expect(output).toContain('worker stopped');
      expect(code).toBe(0);
    }
  }, 120_000);

  it('starts on a sources folder with nothing valid in it, reporting the broken file and warning loudly', async () => {
    await writeFile(join(emptyDir, 'broken.yaml'), 'name: broken\nclient: [unclosed\n');
    const worker = spawnWorkerEntry(
      ['--sources', emptyDir, '--workflow-bundle', workflowBundlePath, '--metrics-address', '127.0.0.1:0'],
      // Traced (to a port nothing listens on), with the test set-up's bundle, built without --tracing.
      { ...baseEnv(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
    );
    await worker.waitFor('worker started');
    expect(worker.output()).toContain('the workflow bundle has no tracing interceptors');
    // --metrics-address: /healthz and the SDK's metrics on the port it logged.
    const health = /"health":"(http:\/\/127\.0\.0\.1:\d+\/healthz)"/.exec(worker.output())?.[1] ?? '';
    const healthy = await until('a healthy worker', async () => {
      const response = await fetch(health);
      return response.status === 200 ? await response.json() : undefined;
    });
    expect(healthy).toEqual({ status: 'ok', worker: 'RUNNING', database: 'ok' });
    const metrics = await fetch(health.replace('/healthz', '/metrics'));
    expect(await metrics.text()).toContain('temporal_worker_start');
    const { code, output } = await worker.stop();
    expect(output).toContain(`broken source file ${join(emptyDir, 'broken.yaml')}`);
    expect(output).toContain('NO SOURCE IS SERVED');
    expect(code).toBe(0);
  }, 60_000);

  it('refuses a sources folder that does not exist', async () => {
    const missing = join(emptyDir, 'missing');
    const worker = spawnWorkerEntry(['--sources', missing], baseEnv());
    const code = await worker.exited;
    const output = worker.output();
    expect(code).toBe(1);
    expect(output).toContain(`the sources folder ${missing} cannot be read (it does not exist)`);
    expect(output).not.toContain('worker started');
  }, 60_000);

  it('starts with --sandbox and a prebuilt bundle, announces it, and stops cleanly on SIGTERM', async () => {
    const worker = spawnWorkerEntry(['--sandbox', '--workflow-bundle', workflowBundlePath], baseEnv());
    await worker.waitFor('worker started');
    const { code, output } = await worker.stop();
    expect(output).toContain('using the sandbox API for communications, messaging');
    expect(output).toContain('worker stopped');
    expect(code).toBe(0);
  }, 60_000);
});
