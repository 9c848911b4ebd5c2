/**
 * The `ingest` CLI as an operator runs it (a child process: `node --import tsx src/app/cli/main.ts …`), against the
 * real stack — the dev server, this file's Postgres database, a worker and the sandbox API over HTTP.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { shippedSourcesDir } from '../../src/config/registry.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';

const main = fileURLToPath(new URL('../../src/app/cli/main.ts', import.meta.url));
const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;
let scratch: string;
let runs = 0;

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ingest …` with the environment of an operator of this test's stack (plus `env`). */
function ingest(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<CliResult> {
  const stack = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    DATABASE_URL: database.url,
  };
  const base: Record<string, string | undefined> = isolatedTemporalEnv(process.env);
  for (const name of [
    'TEMPORAL_UI_URL',
    'INGEST_SOURCES_DIR',
    'COMMUNICATIONS_API_KEY',
    'COMMUNICATIONS_BASE_URL',
  ])
    delete base[name];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { env: { ...base, ...stack, ...env }, timeout: 110_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const workerOptions = () => ({
  env: { COMMUNICATIONS_API_KEY: sandbox.keys.communications },
  baseUrls: { communications: sandbox.url },
  sandbox: true,
  activities: { heartbeatIntervalMs: 200 },
});

/** `ingest run communications … --wait` on this file's task queue while a worker serves it. */
function runAndWait(resources: string, extra: readonly string[] = []) {
  const workflowId = `ingest/communications/${temporal.taskQueue}/${++runs}`;
  return temporal
    .withWorker(
      database.db,
      () =>
        ingest([
          'run',
          'communications',
          '--resources',
          resources,
          '--wait',
          '--task-queue',
          temporal.taskQueue,
          '--workflow-id',
          workflowId,
          ...extra,
        ]),
      workerOptions(),
    )
    .then((result) => ({ ...result, workflowId }));
}

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 21 });
  scratch = await mkdtemp(join(tmpdir(), 'cli-commands-'));
});
afterAll(async () => {
  await sandbox.stop();
  await rm(scratch, { recursive: true, force: true });
});
afterEach(() => {
  sandbox.faults.clear();
  sandbox.log.clear();
});

describe('ingest validate', () => {
  it('passes the shipped sources folder (exit 0)', async () => {
    const result = await ingest(['--sources', shippedSourcesDir, 'validate']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('communications');
    expect(result.stdout).toContain('messaging');
  });

  it('lists each problem of a broken file with its path, and exits 1', async () => {
    const folder = join(scratch, 'broken');
    await rm(folder, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(folder));
    await copyFile(join(shippedSourcesDir, 'messaging.yaml'), join(folder, 'messaging.yaml'));
    await writeFile(join(folder, 'shop.yaml'), 'name: shop\nclient: { base_url: 42 }\nresources: []\n');
    const result = await ingest(['--sources', folder, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(join(folder, 'shop.yaml'));
    expect(result.stdout).toContain('client.base_url');
    expect(result.stdout).toMatch(/^ok .*messaging\.yaml/m);
    expect(result.stderr).toMatch(/^ingest: /m);

    const one = await ingest(['validate', join(folder, 'messaging.yaml')]);
    expect(one.code).toBe(0);
  });
});

describe('ingest plan', () => {
  it('shows each request with the key redacted, and sends nothing', async () => {
    const key = sandbox.keys.communications;
    const result = await ingest(['plan', 'communications', '--resources', 'call_queues'], {
      COMMUNICATIONS_API_KEY: key,
      COMMUNICATIONS_BASE_URL: sandbox.url,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`GET ${sandbox.url}/v1/call_queues?api_key=***`);
    expect(result.stdout).not.toContain(key);
    expect(result.stderr).not.toContain(key);
    expect(sandbox.log.entries()).toHaveLength(0);

    const json = await ingest(['plan', 'messaging', '--json'], { MESSAGING_BASE_URL: sandbox.url });
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as {
      resources: {
        name: string;
        skipped: string | null;
        parent: { resource: string } | null;
        requests: { url: string }[];
      }[];
    };
    const messages = plan.resources.find((r) => r.name === 'messages');
    expect(messages?.parent?.resource).toBe('sms');
    expect(messages?.requests[0]?.url).toContain('{sms.requestId}');
    expect(plan.resources.find((r) => r.name === 'sms')?.skipped).toEqual(expect.any(String));
  });

  it('names an unknown source in one line on stderr, exit 1', async () => {
    const result = await ingest(['plan', 'communicatons']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ingest: /);
    expect(result.stderr).toContain('"communicatons"');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('ingest run and status', () => {
  it('runs to the end with --wait, lands the data and exits 0', async () => {
    const result = await runAndWait('call_queues,ivr_prompts');
    expect(result.stderr).not.toMatch(/^ingest: /m);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`started ${result.workflowId}`);
    expect(result.stdout).toMatch(/^\s*call_queues\s+ok\s/m);
    const loads = await database.db
      .selectFrom('ingest.loads')
      .select(['status', 'workflow_id'])
      .where('workflow_id', '=', result.workflowId)
      .execute();
    expect(loads).toEqual([{ status: 'succeeded', workflow_id: result.workflowId }]);
  });

  it('exits 2 when some resources fail (a 401), naming the failed one', async () => {
    sandbox.faults.add({ path: '/v1/call_queues', fault: { type: 'status', status: 401 } });
    const result = await runAndWait('call_queues,ivr_prompts');
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^\s*call_queues\s+failed\s/m);
    expect(result.stdout).toMatch(/^\s*ivr_prompts\s+ok\s/m);
  });

  it('exits 1 when every resource fails, and when the run cannot even plan', async () => {
    sandbox.faults.add({ path: '/v1/call_queues', fault: { type: 'status', status: 401 } });
    const failed = await runAndWait('call_queues');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^\s*call_queues\s+failed\s/m);

    const unplannable = await runAndWait('no_such_resource');
    expect(unplannable.code).toBe(1);
    expect(unplannable.stderr).toMatch(/^ingest: run .* failed/m);
    expect(unplannable.stderr).toContain('"no_such_resource"');
  });

  it('lists the runs per source: outcome, counts, freshness, nothing running', async () => {
    const json = await ingest(['status', 'communications', '--json']);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as {
      temporal: string;
      sources: {
        source: string;
        running: unknown[] | null;
        loads: { status: string; workflowId: string }[];
        resources: { resource: string; status: string | null; freshnessMs: number | null }[];
      }[];
    };
    expect(status.temporal).toBe('ok');
    const [communications] = status.sources;
    expect(communications?.source).toBe('communications');
    expect(communications?.running).toEqual(expect.any(Array)); // asked (a finished run may still list for a moment)
    expect(communications?.loads.map((load) => load.status)).toEqual(['failed', 'partial', 'succeeded']);
    const byName = new Map(communications?.resources.map((r) => [r.resource, r]));
    expect(byName.get('call_queues')?.status).toBe('failed');
    expect(byName.get('call_queues')?.freshnessMs).toEqual(expect.any(Number)); // from the first run
    expect(byName.get('ivr_prompts')?.status).toBeNull(); // not in the latest load
    expect(byName.get('ivr_prompts')?.freshnessMs).toEqual(expect.any(Number));

    const text = await ingest(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`ingest/communications/${temporal.taskQueue}/1`);
    expect(text.stdout).toMatch(/^messaging/m); // a source of the folder that never loaded
  });

  it('shows a run that is going on now, and prints its id without --wait', async () => {
    const workflowId = `ingest/communications/${temporal.taskQueue}/waiting`;
    // No worker polls this queue: the run stays open, waiting for one.
    const started = await ingest([
      'run',
      'communications',
      '--task-queue',
      `${temporal.taskQueue}-idle`,
      '--workflow-id',
      workflowId,
    ]);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain(`started ${workflowId}`);
    try {
      // Visibility is eventually consistent: wait until the server lists it, then ask the CLI.
      await vi.waitFor(
        async () => {
          const listed = [];
          for await (const info of temporal.client.workflow.list({
            query: `WorkflowId = '${workflowId}' AND IngestSource = 'communications'`,
          }))
            listed.push(info.workflowId);
          expect(listed).toEqual([workflowId]);
        },
        { timeout: 30_000, interval: 200 },
      );
      const json = await ingest(['status', 'communications', '--json']);
      const status = JSON.parse(json.stdout) as { sources: { running: { workflowId: string }[] | null }[] };
      // Other test files run communications in the same namespace at the same time: this run must be among them.
      expect(status.sources[0]?.running?.map((run) => run.workflowId)).toContain(workflowId);
    } finally {
      await temporal.client.workflow.getHandle(workflowId).terminate('test over');
    }
  });
});
