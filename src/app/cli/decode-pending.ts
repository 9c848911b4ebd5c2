/**
 * The pending activities of `describe()` come raw from the server: their heartbeat details and last failure as
 * stored, so encrypted when the worker encrypts. This decodes them with the client's data converter, so that
 * `ingest run --wait` shows the heartbeat and the failure message rather than "Encoded failure".
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { LoadedDataConverter } from '@temporalio/common';
import {
  decode,
  decodeOptionalFailureToOptionalError,
} from '@temporalio/common/lib/internal-non-workflow/index.js';

/** A pending activity as `describe()` reports it (`raw.pendingActivities`). */
export type RawPendingActivity = NonNullable<
  Awaited<ReturnType<WorkflowHandle['describe']>>['raw']['pendingActivities']
>[number];

/**
 * Each activity with its heartbeat details decoded (to payloads the default converter reads) and its last failure's
 * message decrypted; an activity that does not decode (a key missing) is returned as it came.
 */
export function decodePendingActivities(
  raw: readonly RawPendingActivity[],
  converter: LoadedDataConverter,
): Promise<RawPendingActivity[]> {
  if (converter.payloadCodecs.length === 0) return Promise.resolve([...raw]);
  return Promise.all(
    raw.map(async (activity): Promise<RawPendingActivity> => {
      try {
        const payloads = activity.heartbeatDetails?.payloads;
        const failure = activity.lastFailure;
        const decoded: RawPendingActivity = { ...activity };
        if (payloads)
          decoded.heartbeatDetails = { payloads: await decode(converter.payloadCodecs, payloads) };
        if (failure) {
          const error = await decodeOptionalFailureToOptionalError(converter, failure);
          decoded.lastFailure = { ...failure, message: error?.message ?? failure.message ?? null };
        }
        return decoded;
      } catch {
        return activity;
      }
    }),
  );
}
