/**
 * `withTemporal()`: a client and a worker factory on the run's shared dev server. Each test file polls its own task
 * queue, so files never pick up each other's tasks. The workflow bundle comes prebuilt from the global set-up.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, inject } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { installTemporalRuntime } from '../../src/logging.ts';
import { createIngestWorker, type IngestWorkerOptions } from '../../src/app/ingest-worker.ts';

export interface TestTemporal {
  readonly client: Client;
  /** The worker-side connection, for tests that build a worker of their own. */
  readonly nativeConnection: NativeConnection;
  readonly namespace: string;
  readonly address: string;
  /** This file's task queue. */
  readonly taskQueue: string;
  /** Runs `fn` while a worker (our workflows + activities on `db`) polls this file's queue. */
  withWorker<T>(
    db: Kysely<Database>,
    fn: (worker: Worker) => Promise<T>,
    options?: Partial<Omit<IngestWorkerOptions, 'connection' | 'namespace' | 'db'>>,
  ): Promise<T>;
}

export function withTemporal(): TestTemporal {
  const { temporalAddress, namespace, workflowBundlePath } = inject('stack');
  const taskQueue = `test-${randomBytes(6).toString('hex')}`;
  let connection: Connection | undefined;
  let nativeConnection: NativeConnection | undefined;
  let client: Client | undefined;
  beforeAll(async () => {
    installTemporalRuntime();
    connection = await Connection.connect({ address: temporalAddress });
    nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    client = new Client({ connection, namespace });
  });
  afterAll(async () => {
    await connection?.close();
    await nativeConnection?.close();
  });
  return {
    namespace,
    address: temporalAddress,
    taskQueue,
    get nativeConnection() {
      if (!nativeConnection) throw new Error('withTemporal(): not connected yet');
      return nativeConnection;
    },
    get client() {
      if (!client) throw new Error('withTemporal(): the client is ready only inside tests and hooks');
      return client;
    },
    async withWorker(db, fn, options = {}) {
      if (!nativeConnection) throw new Error('withTemporal(): not connected yet');
      const worker = await createIngestWorker({
        connection: nativeConnection,
        namespace,
        db,
        taskQueue,
        workflowBundle: { codePath: workflowBundlePath },
        client: client ?? (await Promise.reject(new Error('withTemporal(): not connected yet'))),
        env: process.env,
        ...options,
      });
      return worker.runUntil(fn(worker));
    },
  };
}
