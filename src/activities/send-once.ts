/**
 * At most once: the one request of a resource with side effects (`side_effects: true`, e.g. the messaging `sms`,
 * which SENDS a text message) goes out at most once per (load, resource), whatever crashes. Before the request an
 * intent is written to `ingest.send_intents`; after the reply, its records (raw text). A retried attempt that
 * finds the reply reuses it without sending; one that finds only the intent reports "outcome unknown",
 * non-retryable, instead of sending again. Only a failure proven to happen before anything was sent (the connect
 * phase) is retried. The requester sends such requests with redirects refused, on a fresh connection, and the HTTP
 * layer never retries.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { IngestError, describeError } from '../errors.ts';
import type { ExtractedRecord, RecordIssue } from '../shared/records.ts';
import { failedBeforeSending } from '../http/http-errors.ts';
import type { ResourceRequester } from '../http/resource-request.ts';
import { parseRecordText } from '../http/extract/element-record.ts';

export interface SendOnceInput {
  readonly loadId: string;
  readonly source: string;
  readonly resource: string;
  /** The run input acknowledges the unknown outcomes of earlier loads' sends (`acknowledgeSends`). */
  readonly acknowledgeEarlier?: boolean;
}

/**
 * The reply as stored: each record's raw text in base64 (`b64`), so any text the API sent — U+0000 included, which
 * jsonb refuses — is kept exactly (older rows hold `text`).
 */
interface StoredReply {
  readonly records: readonly {
    readonly b64?: string;
    readonly text?: string;
    readonly issues: readonly RecordIssue[];
  }[];
}

/** Sends the resource's request unless this load already did; returns the reply's records either way. */
export async function sendOnce(
  db: Kysely<Database>,
  requester: ResourceRequester,
  input: SendOnceInput,
  signal: AbortSignal,
): Promise<readonly ExtractedRecord[]> {
  const key = { load_id: input.loadId, resource: input.resource };
  const existing = await db
    .selectFrom('ingest.send_intents')
    .selectAll()
    .where('load_id', '=', key.load_id)
    .where('resource', '=', key.resource)
    .executeTakeFirst();
  if (existing?.status === 'sent') return recordsOf(existing.detail as StoredReply | null);
  if (existing) throw await outcomeUnknown(db, input, existing.intended_at, 'an earlier attempt');
  await refuseWhileEarlierUnknown(db, input);

  const rendered = requester.render();
  const inserted = await db
    .insertInto('ingest.send_intents')
    .values({
      ...key,
      source: input.source,
      request_fingerprint: createHash('sha256').update(`${rendered.method} ${rendered.url}`).digest('hex'),
    })
    .onConflict((oc) => oc.columns(['load_id', 'resource']).doNothing())
    .returning('intended_at')
    .executeTakeFirst();
  if (!inserted) throw await outcomeUnknown(db, input, undefined, 'a concurrent attempt');

  let records: ExtractedRecord[];
  try {
    const fetched = await requester.fetchRecords(rendered, { signal });
    records = [];
    for await (const batch of fetched.batches) records.push(...batch.records);
    // A record that is not JSON fails when its value is read: here, so that a malformed reply is an unknown outcome
    // like any other failure of the reply (which is small: one request). Reading it also completes the issues stored.
    for (const record of records) void record.value;
  } catch (error) {
    if (failedBeforeSending(error)) {
      // Proven: nothing left this machine. Forget the intent, so the retry may send.
      await db
        .deleteFrom('ingest.send_intents')
        .where('load_id', '=', key.load_id)
        .where('resource', '=', key.resource)
        .execute();
      throw error;
    }
    throw await outcomeUnknown(db, input, inserted.intended_at, describeError(error));
  }
  const reply: StoredReply = {
    records: records.map((r) => ({ b64: Buffer.from(r.text, 'utf8').toString('base64'), issues: r.issues })),
  };
  await db
    .updateTable('ingest.send_intents')
    .set({
      status: 'sent',
      replied_at: new Date(),
      detail: JSON.stringify(reply),
    })
    .where('load_id', '=', key.load_id)
    .where('resource', '=', key.resource)
    .execute();
  return records;
}

/**
 * The records of a stored reply, parsed as extraction parses them: a record with raw control characters (stored as
 * sent, and rejected by staging) is read as if they were escaped; one that does not parse at all is an
 * `INVALID_JSON` IngestError, never a bare SyntaxError.
 */
function recordsOf(reply: StoredReply | null): ExtractedRecord[] {
  return (reply?.records ?? []).map((r, index) => {
    const text = r.b64 === undefined ? (r.text ?? '') : Buffer.from(r.b64, 'base64').toString('utf8');
    const context = { offsetOfBytes: 0, firstIndex: index, noun: 'record' } as const;
    const parsed = parseRecordText(text, Buffer.from(text), 0, context);
    return { text, value: parsed.value, issues: parsed.issues ?? r.issues };
  });
}

/**
 * An earlier load's send of this resource whose outcome is unknown (its reply was lost, or its load was abandoned
 * between the intent and the reply) may have gone out: sending again could repeat it. Such a send blocks the next
 * ones, non-retryably, until the run input acknowledges it (`acknowledgeSends`), which marks it `acknowledged`.
 */
async function refuseWhileEarlierUnknown(db: Kysely<Database>, input: SendOnceInput): Promise<void> {
  const open = db
    .selectFrom('ingest.send_intents')
    .where('source', '=', input.source)
    .where('resource', '=', input.resource)
    .where('load_id', '<>', input.loadId)
    .where('status', 'in', ['intended', 'unknown']);
  if (input.acknowledgeEarlier === true) {
    await db
      .updateTable('ingest.send_intents')
      .set({ status: 'acknowledged' })
      .where('source', '=', input.source)
      .where('resource', '=', input.resource)
      .where('load_id', '<>', input.loadId)
      .where('status', 'in', ['intended', 'unknown'])
      .execute();
    return;
  }
  const earlier = await open.select(['load_id', 'intended_at']).orderBy('intended_at').execute();
  if (earlier.length === 0) return;
  throw new IngestError(
    'http-permanent',
    'SEND_OUTCOME_UNKNOWN_EARLIER',
    `${input.source}.${input.resource}: not sent — ${earlier.length} earlier send(s) of it have an unknown outcome ` +
      `(load ${earlier[0]?.load_id ?? '?'}, ${earlier[0]?.intended_at.toISOString() ?? '?'}) and may have gone out. ` +
      `Check with the API, then run again with {"acknowledgeSends": ["${input.resource}"]} in the run input.`,
    {
      retryable: false,
      details: { source: input.source, resource: input.resource, loads: earlier.map((e) => e.load_id) },
    },
  );
}

/** Marks the intent `unknown` and builds the non-retryable error that says what is known. */
async function outcomeUnknown(
  db: Kysely<Database>,
  input: SendOnceInput,
  intendedAt: Date | undefined,
  what: string,
): Promise<IngestError> {
  await db
    .updateTable('ingest.send_intents')
    .set({ status: 'unknown' })
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource)
    .where('status', '<>', 'sent')
    .execute();
  return new IngestError(
    'http-permanent',
    'SEND_OUTCOME_UNKNOWN',
    `${input.source}.${input.resource}: outcome unknown — the request (which is not repeatable: it sends) was ` +
      `attempted${intendedAt ? ` at ${intendedAt.toISOString()}` : ''} and no reply was recorded (${what}). ` +
      'It may or may not have gone out; it is not sent again in this load. The intent is in ingest.send_intents.',
    { retryable: false, details: { source: input.source, resource: input.resource, loadId: input.loadId } },
  );
}
