/**
 * `startWorkerProcess()`: an ingest worker in a child process (`test/e2e/fixtures/crash-worker.ts`) on this file's
 * task queue, database and sandbox — so a test can SIGKILL it like a crash and start another. Children still alive
 * after the file are killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, inject } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import type { TestDatabase } from './database.ts';
import type { TestTemporal } from './temporal.ts';
import { isolatedTemporalEnv } from './temporal-env.ts';

const workerScript = fileURLToPath(new URL('../e2e/fixtures/crash-worker.ts', import.meta.url));

/** The test-only source the worker processes plan from (`user_call_records` paginated). */
export const pagedSourceFile = fileURLToPath(
  new URL('../e2e/fixtures/paged-communications.yaml', import.meta.url),
);

export interface WorkerProcessFactory {
  /**
   * Starts a worker process and resolves once it polls; `env` adds settings (e.g. DIE_AFTER_MERGE), and
   * `SOURCE_FILE: ''` plans from the shipped sources instead of the paged test source.
   */
  start(env?: Readonly<Record<string, string>>): Promise<ChildProcess>;
}

/** Call at the top level of a test file; `sandbox` is read when a worker starts. */
export function withWorkerProcesses(
  temporal: TestTemporal,
  database: TestDatabase,
  sandbox: () => Sandbox,
): WorkerProcessFactory {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
  return {
    async start(env = {}) {
      const { workflowBundlePath } = inject('stack');
      const api = sandbox();
      const child = spawn(process.execPath, ['--import', 'tsx', workerScript], {
        env: {
          ...isolatedTemporalEnv(process.env),
          TEMPORAL_ADDRESS: temporal.address,
          TEMPORAL_NAMESPACE: temporal.namespace,
          DATABASE_URL: database.url,
          TASK_QUEUE: temporal.taskQueue,
          WORKFLOW_BUNDLE_PATH: workflowBundlePath,
          SANDBOX_URL: api.url,
          COMMUNICATIONS_API_KEY: api.keys.communications,
          MESSAGING_API_KEY: api.keys.messaging,
          SOURCE_FILE: pagedSourceFile,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('ready\n')) resolve();
        });
        child.once('exit', (code, signal) =>
          reject(new Error(`worker process exited (${code ?? signal}) before it was ready`)),
        );
      });
      return child;
    },
  };
}
