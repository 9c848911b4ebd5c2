/**
 * The production start (`npm run build`, then `npm run worker:prod`): the built worker, with the production node
 * flags, starts against the run's servers, runs workflows and activities (a run of a source without its credential
 * fails naming the variable, from the worker's activity), and stops with exit code 0 on SIGTERM. A build whose
 * migrations are not the checkout's refuses to start, naming `npm run build`. The built worker polls the fixed queue
 * `ingest`, so this file works in a namespace of its own (with the project's search attributes): no other file's
 * worker on `ingest` can run its workflow in its place.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildWorker, distDir, productionWorkerArgs } from '../../scripts/build-worker.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';
import { registerNamespace } from '../helpers/namespace.ts';
import { failureOfRunWithoutKey } from '../helpers/run-without-key.ts';
import { spawnWorkerEntry } from '../helpers/worker-entry.ts';

const database = withDatabase();
const temporal = withTemporal();
const { workflowBundlePath } = inject('stack');
const namespace = `worker-built-${randomBytes(4).toString('hex')}`;
// Builds of this file's own, inside the checkout: the bundle imports the packages of its node_modules.
await mkdir(distDir, { recursive: true });
const outdir = await mkdtemp(join(distDir, 'test-worker-'));
const staleDir = await mkdtemp(join(distDir, 'test-worker-stale-'));
afterAll(async () => {
  await rm(outdir, { recursive: true, force: true });
  await rm(staleDir, { recursive: true, force: true });
});

beforeAll(async () => {
  await Promise.all([buildWorker(outdir), registerNamespace(temporal.client.connection, namespace)]);
}, 120_000);

/** This file's servers and nothing of the test process's sources, codec keys or node options. */
const env = () => {
  const base: NodeJS.ProcessEnv = {
    ...isolatedTemporalEnv(process.env),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: namespace,
    DATABASE_URL: database.url,
  };
  for (const name of ['MESSAGING_API_KEY', 'INGEST_CODEC_KEYS', 'INGEST_SOURCES_DIR', 'NODE_OPTIONS'])
    delete base[name];
  return base;
};

/** The production start's flags and the built entry of `dir`, with the test set-up's workflow bundle. */
const productionEntry = async (dir: string) => {
  const args = await productionWorkerArgs({ outdir: dir });
  const bundle = args.indexOf('--workflow-bundle');
  expect(bundle).toBeGreaterThan(0);
  args.splice(bundle + 1, 1, workflowBundlePath);
  return args;
};

describe('the built worker (npm run worker:prod)', () => {
  it('starts with the production flags, runs a workflow and its activity, and stops on SIGTERM', async () => {
    const worker = spawnWorkerEntry([], env(), await productionEntry(outdir));
    try {
      await worker.waitFor('worker started');
      expect(worker.output()).toContain('its runs fail until MESSAGING_API_KEY is set');
      const client = new Client({ connection: temporal.client.connection, namespace });
      const cause = await failureOfRunWithoutKey(client, `worker-built/no-credentials/${Date.now()}`);
      expect(cause?.message).toContain('MESSAGING_API_KEY');
    } finally {
      const { code, output } = await worker.stop();
      expect(output).toContain('worker stopped');
      expect(code).toBe(0);
    }
  }, 120_000);

  it('refuses to start from a build without a migration the checkout has, naming npm run build', async () => {
    // The same build, as if the checkout had gained its last migration since: one built migration fewer.
    await cp(outdir, staleDir, { recursive: true });
    const built = (await readdir(join(staleDir, 'migrations'))).sort();
    const last = built.at(-1) ?? '';
    expect(last).toMatch(/\.js$/);
    await rm(join(staleDir, 'migrations', last));
    const worker = spawnWorkerEntry([], env(), await productionEntry(staleDir));
    const code = await worker.exited;
    expect(code).toBe(1);
    expect(worker.output()).toContain('npm run build');
    expect(worker.output()).toContain(last.replace(/\.js$/, ''));
    expect(worker.output()).not.toContain('worker started');
  }, 60_000);
});
