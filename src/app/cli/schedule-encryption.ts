/**
 * Schedules and payload encryption. A schedule's memo (sync's marker) and its action's input and memo are encoded
 * once, when the schedule is written, and Temporal copies the action's payloads byte for byte into every run it
 * starts: a schedule written before the keys keeps starting runs whose input is in clear, and one written under a key
 * since dropped starts runs no worker can decode. This reads which keys a schedule's stored payloads are under (no
 * key needed), so that sync can rewrite a schedule the client would write differently now (`encryptionDrift`); and it
 * describes and lists schedules defensively: one the client cannot decode is reported (`UndecodableSchedule`) and
 * left alone, rather than failing the command for every other schedule.
 */
import {
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleExecutionResult,
} from '@temporalio/client';
import { decodeScheduleRecentActions } from '@temporalio/client/lib/schedule-helpers.js';
import {
  decodeMapFromPayloads,
  walkDescribeScheduleResponse,
  walkListSchedulesResponse,
} from '@temporalio/common/lib/internal-non-workflow/index.js';
import { tsToDate } from '@temporalio/common/lib/time.js';
import type { CodecKeyring } from '../codec/keys.ts';
import { payloadKeys, type PayloadKeys } from '../codec/payload-key-ids.ts';

/** A schedule whose stored payloads the client cannot decode. */
export interface UndecodableSchedule {
  readonly scheduleId: string;
  /** The key ids its payloads are encrypted with. */
  readonly keyIds: readonly string[];
  /** Why this client cannot decode them: the keys it lacks, or that the key of that id does not fit. */
  readonly reason: string;
}

/** A schedule as described, with the keys of its stored payloads. */
export interface DescribedSchedule {
  readonly description: ScheduleDescription;
  readonly stored: PayloadKeys;
}

/** A schedule of the list, its memo decoded. */
export interface ListedSchedule {
  readonly scheduleId: string;
  readonly memo: Readonly<Record<string, unknown>> | undefined;
  readonly paused: boolean;
  readonly note: string | undefined;
  readonly nextActionTimes: readonly Date[];
  readonly recentActions: readonly ScheduleExecutionResult[];
}

/**
 * How a schedule's stored payloads differ from what a client encrypting with `encryptWith` writes — in clear, or
 * under another key — as a change sync names (`encryption (key 2026-06 → key 2026-12)`); undefined: they do not
 * (or the client does not encrypt: a schedule it could describe holds nothing encrypted).
 */
export function encryptionDrift(stored: PayloadKeys, encryptWith: string | undefined): string | undefined {
  if (encryptWith === undefined) return undefined;
  const from = [
    ...(stored.clear > 0 ? ['in clear'] : []),
    ...stored.keyIds.filter((id) => id !== encryptWith).map((id) => `key ${id}`),
  ];
  return from.length === 0 ? undefined : `encryption (${from.join(', ')} → key ${encryptWith})`;
}

/** One line about an undecodable schedule: `cannot decode (key id 2026-06): INGEST_CODEC_KEYS lacks that key`. */
export function describeUndecodable(schedule: UndecodableSchedule): string {
  const ids = schedule.keyIds.join(', ');
  return `cannot decode (key id${schedule.keyIds.length === 1 ? '' : 's'} ${ids}): ${schedule.reason}`;
}

/**
 * A schedule's description, or undefined when there is none; `undecodable` when its payloads are encrypted with
 * keys the client lacks (or that do not fit).
 */
export async function describeDefensively(
  client: Client,
  scheduleId: string,
  keys: CodecKeyring | undefined,
): Promise<DescribedSchedule | { readonly undecodable: UndecodableSchedule } | undefined> {
  try {
    const description = await client.schedule.getHandle(scheduleId).describe();
    return { description, stored: await payloadKeys(description.raw, walkDescribeScheduleResponse) };
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return undefined;
    // Whether it failed on encrypted payloads: what is stored, read without decoding anything.
    const raw = await client.workflowService.describeSchedule({
      namespace: client.options.namespace,
      scheduleId,
    });
    const stored = await payloadKeys(raw, walkDescribeScheduleResponse);
    if (stored.keyIds.length === 0) throw error;
    return { undecodable: undecodable(scheduleId, stored, keys) };
  }
}

/**
 * Every schedule of the namespace, its memo decoded — or, for one whose memo the client cannot decode, why. (The
 * SDK's `schedule.list()` decodes each memo inside the iteration: one undecodable schedule would end the list.)
 */
export async function* listDefensively(
  client: Client,
  keys: CodecKeyring | undefined,
): AsyncGenerator<ListedSchedule | { readonly undecodable: UndecodableSchedule }> {
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listSchedules({
      namespace: client.options.namespace,
      ...(nextPageToken === undefined ? {} : { nextPageToken }),
    });
    for (const entry of page.schedules ?? []) {
      const scheduleId = entry.scheduleId ?? '';
      let memo: Record<string, unknown> | undefined;
      try {
        memo = await decodeMapFromPayloads(client.options.loadedDataConverter, entry.memo?.fields);
      } catch (error) {
        const stored = await payloadKeys({ schedules: [entry] }, walkListSchedulesResponse);
        if (stored.keyIds.length === 0) throw error;
        yield { undecodable: undecodable(scheduleId, stored, keys) };
        continue;
      }
      yield {
        scheduleId,
        memo,
        paused: entry.info?.paused === true,
        note: entry.info?.notes ?? undefined,
        nextActionTimes: (entry.info?.futureActionTimes ?? []).map(tsToDate),
        recentActions: decodeScheduleRecentActions(entry.info?.recentActions),
      };
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken !== undefined);
}

function undecodable(
  scheduleId: string,
  stored: PayloadKeys,
  keys: CodecKeyring | undefined,
): UndecodableSchedule {
  const missing = stored.keyIds.filter((id) => keys?.key(id) === undefined);
  const reason =
    keys === undefined
      ? 'INGEST_CODEC_KEYS is not set'
      : missing.length > 0
        ? `INGEST_CODEC_KEYS lacks ${missing.length === 1 ? 'that key' : `the keys ${missing.join(', ')}`}`
        : 'it does not decrypt with the key of that id in INGEST_CODEC_KEYS';
  return { scheduleId, keyIds: stored.keyIds, reason };
}
