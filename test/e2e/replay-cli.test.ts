/**
 * `npm run replay` on real runs: a run of the real worker on the dev server replays by workflow id (fetched from
 * TEMPORAL_ADDRESS) and from the file `temporal workflow show --output json` exports.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTemporalCli } from '../../src/local/temporal-cli.ts';
import { readSettings } from '../../src/app/settings.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { runReplayCli } from '../helpers/replay-cli.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;
let scratch: string;
let workflowId: string;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 5 });
  scratch = await mkdtemp(join(tmpdir(), 'replay-cli-'));
  workflowId = `ingest/communications/${temporal.taskQueue}/replay`;
  const report = await temporal.withWorker(
    database.db,
    () =>
      temporal.client.workflow.execute<typeof ingestSource>('ingestSource', {
        taskQueue: temporal.taskQueue,
        workflowId,
        args: [{ source: 'communications', resources: ['call_queues', 'ivr_prompts'] }],
      }),
    {
      env: { COMMUNICATIONS_API_KEY: sandbox.keys.communications },
      baseUrls: { communications: sandbox.url },
      sandbox: true,
    },
  );
  expect(report.outcome).toBe('ok');
});
afterAll(async () => {
  await sandbox.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('npm run replay on a real run', () => {
  it('fetches the history by workflow id and replays it', async () => {
    const result = await runReplayCli([workflowId], {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
    });
    expect(result.stdout).toMatch(new RegExp(`^ok: ${workflowId} \\(ingestSource, \\d+ events\\)`));
    expect(result.code).toBe(0);
  });

  it('replays the file `temporal workflow show --output json` exports', async () => {
    const cli = await resolveTemporalCli({
      settings: readSettings(isolatedTemporalEnv(process.env)).temporalCli,
    });
    const { stdout } = await promisify(execFile)(
      cli.path,
      [
        'workflow',
        'show',
        '--workflow-id',
        workflowId,
        '--output',
        'json',
        '--address',
        temporal.address,
        '--namespace',
        temporal.namespace,
      ],
      { maxBuffer: 64 * 1024 * 1024, env: isolatedTemporalEnv(process.env) },
    );
    const file = join(scratch, 'exported.json');
    await writeFile(file, stdout);
    const events = (JSON.parse(stdout) as { events: unknown[] }).events.length;
    const result = await runReplayCli([file]);
    expect(result.stdout).toMatch(new RegExp(`^ok: exported\\.json \\(ingestSource, ${events} events\\)`));
    expect(result.code).toBe(0);
  });
});
