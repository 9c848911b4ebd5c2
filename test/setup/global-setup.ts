/**
 * Vitest global set-up for the `stack` project: ONE Temporal dev server and ONE Postgres per test run (or the ones
 * named by TEMPORAL_ADDRESS / DATABASE_URL), a migrated template database that each test file clones, and the
 * workflow bundle built once and shared through a file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrations.ts';
import { projectRoot } from '../../src/local/paths.ts';
import { createDatabaseIfMissing, dropDatabaseIfExists } from '../../src/local/postgres.ts';
import { startLocalStack, type LocalStack } from '../../src/local/stack.ts';
import { readSettings } from '../../src/app/settings.ts';
import { bundleWorkflows } from '../../src/app/ingest-worker.ts';
import { templateDatabase, withDatabaseName } from '../helpers/urls.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';

let stack: LocalStack | undefined;
let scratch: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  scratch = await mkdtemp(join(tmpdir(), 'ingest-test-'));
  const [running, bundle] = await Promise.all([
    startLocalStack({
      purpose: 'test',
      settings: readSettings(isolatedTemporalEnv(process.env)),
      onProgress: (line) => console.error(line),
    }),
    bundleWorkflows(),
  ]);
  stack = running;
  const bundlePath = join(scratch, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);

  // A fresh, migrated template: each test file clones it (CREATE DATABASE … TEMPLATE), so files never share state.
  const adminUrl = withDatabaseName(stack.postgres.url, 'postgres');
  await dropDatabaseIfExists(adminUrl, templateDatabase);
  await createDatabaseIfMissing(adminUrl, templateDatabase);
  const template = createDatabase(withDatabaseName(stack.postgres.url, templateDatabase), {
    maxConnections: 1,
  });
  try {
    await migrateToLatest(template, { folder: join(projectRoot, 'migrations') });
  } finally {
    await template.destroy();
  }

  project.provide('stack', {
    temporalAddress: stack.temporal.address,
    namespace: stack.temporal.namespace,
    databaseUrl: stack.postgres.url,
    workflowBundlePath: bundlePath,
  });
  console.error(`test stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: {
      temporalAddress: string;
      namespace: string;
      databaseUrl: string;
      workflowBundlePath: string;
    };
  }
}
