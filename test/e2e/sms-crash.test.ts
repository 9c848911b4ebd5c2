/**
 * At most once, under a real crash: the worker process is SIGKILLed after the SMS request reached the sandbox (the
 * message IS sent) and before its reply was recorded. A new worker process takes the resource over: it finds the
 * intent without a reply, sends nothing, and reports "outcome unknown".
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { withWorkerProcesses } from '../helpers/worker-process.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;
const workers = withWorkerProcesses(temporal, database, () => sandbox);
const to = '+15550100077';
const messagingEnv = { SOURCE_FILE: '', MESSAGING_CONFIG_TO: to, MESSAGING_CONFIG_FROM: 'crash-test' };

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 21, messages: { finalAfterPolls: 0 } });
});
afterAll(() => sandbox.stop());

describe('the SMS send under a worker crash', () => {
  it('is not sent again after the worker died between the send and recording its reply', async () => {
    // The API handles the send at once, then holds the answer: the worker dies while it waits.
    sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'slow-headers', delayMs: 30_000 },
      phase: 'after-handler',
      times: 1,
    });
    const first = await workers.start(messagingEnv);
    const handle = await temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
      taskQueue: temporal.taskQueue,
      workflowId: `ingest/messaging/${temporal.taskQueue}/crash`,
      args: [{ source: 'messaging', resources: ['sms'] }],
    });
    const deadline = Date.now() + 60_000;
    while (sandbox.messaging.sendCount(to) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(sandbox.messaging.sendCount(to)).toBe(1);
    first.kill('SIGKILL');
    await workers.start(messagingEnv);

    let report: LoadReport | undefined;
    let failure: ApplicationFailure | undefined;
    try {
      report = await handle.result();
    } catch (error) {
      const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
      if (!(cause instanceof ApplicationFailure)) throw error;
      failure = cause;
      report = cause.details?.[0] as LoadReport;
    }
    expect(failure?.type).toBe('INGEST_FAILED');
    expect(report?.resources.find((r) => r.resource === 'sms')).toMatchObject({
      status: 'failed',
      reason: { code: 'SEND_OUTCOME_UNKNOWN' },
    });
    expect(sandbox.messaging.sendCount(to)).toBe(1);
    expect(sandbox.log.entries().filter((e) => e.path.startsWith('/messaging/v1/sms'))).toHaveLength(1);
    const intent = await database.db
      .selectFrom('ingest.send_intents')
      .select('status')
      .where('load_id', '=', report?.loadId ?? '')
      .executeTakeFirstOrThrow();
    expect(intent.status).toBe('unknown');
  }, 180_000);
});
