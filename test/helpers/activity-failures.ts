/**
 * `resourceFailures(client, workflowId)`: how each resource of an `ingestSource` run failed, read from the run's
 * history — the final `ingestResource` failure per resource (Temporal records the last attempt's only), with the
 * facts the activity boundary attached (`FailureFacts`: code, category, retryable). The workflow's report keeps only
 * the code; this is where a test reads the category and whether retrying could help.
 */
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { FailureFacts } from '../../src/activities/failure.ts';
import type { IngestResourceInput } from '../../src/shared/ingest-types.ts';

/** A resource's final activity failure: its type (our error code) and its facts. */
export interface ResourceFailure {
  readonly type: string;
  readonly facts: FailureFacts;
}

/** The final failure of every resource whose `ingestResource` activity failed, by resource name. */
export async function resourceFailures(
  client: Client,
  workflowId: string,
): Promise<ReadonlyMap<string, ResourceFailure>> {
  // Payloads go through the client's own converter and codecs, whatever the worker encodes them with.
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  const decode = async (payloads: Payload[] | null | undefined): Promise<unknown[]> => {
    let decoded = payloads ?? [];
    for (const codec of [...payloadCodecs].reverse()) decoded = await codec.decode(decoded);
    return decoded.map((payload) => payloadConverter.fromPayload(payload));
  };
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const failures = new Map<string, ResourceFailure>();
  for (const event of history.events ?? []) {
    const schedule = event.activityTaskScheduledEventAttributes;
    if (schedule?.activityType?.name === 'ingestResource') {
      const [input] = (await decode(schedule.input?.payloads)) as [IngestResourceInput];
      scheduled.set(String(event.eventId), input.resource.name);
    }
    const failed = event.activityTaskFailedEventAttributes;
    const info = failed?.failure?.applicationFailureInfo;
    const resource = scheduled.get(String(failed?.scheduledEventId));
    if (info && resource !== undefined) {
      const [facts] = (await decode(info.details?.payloads)) as [FailureFacts];
      failures.set(resource, { type: info.type ?? '', facts });
    }
  }
  return failures;
}
