/**
 * What a run shows in the Temporal Web UI (issue #28), read back from the server as the UI reads it: every
 * activity, timer and child workflow of an `ingestSource` run of the messaging source (sms sent, `messages` resolved
 * by its child workflow) carries a summary naming its resource and what it does (the events' `userMetadata`); the
 * child carries static details; the runs' current details (the `__temporal_workflow_metadata` query) give the phase
 * and counts; the static summary a starter passes is what `describe()` returns.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    seed: 28,
    counts: { contacts: 12, phones: 3, registrations: 5 },
    messages: { finalAfterPolls: 0 },
  });
});
afterAll(() => sandbox.stop());

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** The decoded summary (or details) of an event's user metadata. */
function decode(payload: Payload | null | undefined): string | undefined {
  return payload ? defaultPayloadConverter.fromPayload<string>(payload) : undefined;
}

const summaryOf = (event: HistoryEvent) => decode(event.userMetadata?.summary);

/** `[activity type, summary]` of every ActivityTaskScheduled event. */
function activitySummaries(events: readonly HistoryEvent[]): [string, string | undefined][] {
  return events.flatMap((event) => {
    const scheduled = event.activityTaskScheduledEventAttributes;
    return scheduled ? [[scheduled.activityType?.name ?? '?', summaryOf(event)]] : [];
  });
}

interface WorkflowMetadata {
  readonly currentDetails?: string;
}

const parentId = () => `ingest/messaging/${temporal.taskQueue}/ui`;
const childId = () => `${parentId()}/messages`;
const staticSummary = 'ingest messaging · all resources · trigger: ui-metadata test';

describe('the run in the Web UI', () => {
  let report: LoadReport;
  let parentEvents: HistoryEvent[];
  let childEvents: HistoryEvent[];
  let parentDetails: string | undefined;
  let childDetails: string | undefined;

  beforeAll(async () => {
    await temporal.withWorker(
      database.db,
      async () => {
        const handle = await temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
          taskQueue: temporal.taskQueue,
          workflowId: parentId(),
          args: [{ source: 'messaging' }],
          staticSummary,
        });
        report = await handle.result();
        // Queried after the runs closed: the worker replays each history, so this is also the details on replay.
        const metadata = (id: string) =>
          temporal.client.workflow.getHandle(id).query<WorkflowMetadata>('__temporal_workflow_metadata');
        parentDetails = (await metadata(parentId())).currentDetails;
        childDetails = (await metadata(childId())).currentDetails;
      },
      {
        env: {
          MESSAGING_API_KEY: sandbox.keys.messaging,
          MESSAGING_CONFIG_TO: '+15550102828',
          MESSAGING_CONFIG_FROM: 'durable-ingest',
        },
        baseUrls: { messaging: sandbox.url },
        sandbox: true,
      },
    );
    const history = (id: string) => temporal.client.workflow.getHandle(id).fetchHistory();
    parentEvents = (await history(parentId())).events ?? [];
    childEvents = (await history(childId())).events ?? [];
  }, 240_000);

  it('runs the whole source, the dependent resource as its child workflow', () => {
    expect(report.outcome).toBe('ok');
    expect(report.resources.map((r) => [r.resource, r.status])).toEqual([
      ['sms', 'ok'],
      ['messages', 'ok'],
      ['contacts', 'ok'],
      ['phones', 'ok'],
      ['registrations', 'ok'],
    ]);
  });

  it('names the resource and what is done on every activity of the run', () => {
    const summaries = activitySummaries(parentEvents);
    const ingests = summaries.filter(([type]) => type === 'ingestResource');
    expect(ingests.map(([, summary]) => summary).sort()).toEqual([
      'ingest contacts (merge)',
      'ingest phones (merge)',
      'ingest registrations (merge)',
      'ingest sms (merge)',
    ]);
    expect(summaries).toContainEqual(['planSource', 'plan messaging']);
    expect(summaries).toContainEqual([
      'beginLoad',
      "begin load of messaging: 5 resources (takes the source's lease)",
    ]);
    expect(summaries).toContainEqual(['finishLoad', 'finish load of messaging: ok (releases the lease)']);
    const deadline = parentEvents.find((event) => event.timerStartedEventAttributes);
    expect(deadline && summaryOf(deadline)).toBe('run deadline of messaging: 2 hours');
  });

  it('gives the child workflow a summary naming its resource and its parent, and static details', async () => {
    const initiated = parentEvents.filter(
      (event) => event.startChildWorkflowExecutionInitiatedEventAttributes,
    );
    expect(initiated).toHaveLength(1);
    const [child] = initiated;
    expect(child?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId).toBe(childId());
    expect(child && summaryOf(child)).toBe('resolve messages ← sms (poll)');
    const details = decode(child?.userMetadata?.details);
    expect(details).toContain('Fetches `messages` once per distinct `requestId` of `sms` records');
    expect(details).toContain('Polls `status` until DELIVERED');
    // The server keeps them as the child's own static metadata, which the UI shows on its page.
    const described = await temporal.client.workflow.getHandle(childId()).describe();
    expect(await described.staticSummary()).toBe('resolve messages ← sms (poll)');
    expect(await described.staticDetails()).toBe(details);
  });

  it('names the resource and the batch on every activity of the child', () => {
    expect(activitySummaries(childEvents)).toEqual([
      ['beginChildren', 'begin messages: build the work list from sms'],
      ['listChildItems', 'list messages: pending items after 0 (pass 1)'],
      ['fetchChildBatch', 'fetch messages: item 1 (pass 1)'],
      ['listChildItems', 'list messages: pending items after 1 (pass 1)'],
      ['mergeChildren', 'merge messages (merge)'],
      ['finishChildren', 'finish messages: record the counts'],
    ]);
  });

  it("carries the starter's static summary", async () => {
    const described = await temporal.client.workflow.getHandle(parentId()).describe();
    expect(await described.staticSummary()).toBe(staticSummary);
  });

  it('keeps current details with the phase and the counts', () => {
    const fetched = report.resources.reduce((n, r) => n + r.counts.fetched, 0);
    expect(parentDetails?.split('\n')[0]).toBe('**done: ok** messaging · 5 of 5 resources done');
    expect(parentDetails?.split('\n')[1]).toMatch(new RegExp(`^${fetched} fetched · \\d+ new · `));
    expect(childDetails?.split('\n')[0]).toBe('**done** messages ← sms · pass 1 · 1 item done');
    expect(childDetails?.split('\n')[1]).toMatch(/^1 fetched · 1 new · 0 changed · /);
  });
});
