/**
 * What happens around `ingest.rejected_records` beyond writing them (staging does that):
 * the failure of a resource whose every record was rejected, and the retention of rejected payloads, which may hold
 * personal data — purged by age at the start of each load of the source, under its lease (`beginLoad`).
 */
import { sql, type Kysely } from 'kysely';
import { IngestError } from '../../errors.ts';
import type { Database } from '../schema.ts';

/** Days rejected payloads are kept when the source file does not say (`rejected_records.retention_days`). */
export const defaultRejectedRetentionDays = 30;

/** How many rejections an `ALL_RECORDS_REJECTED` message names. */
const reasonsInMessage = 3;

/**
 * Deletes the source's rejected records older than `retentionDays` days; returns how many. Run it under the
 * source's lease: no other run of the source writes rejections meanwhile (and fresh ones are never that old).
 */
export async function purgeRejectedRecords(
  db: Kysely<Database>,
  source: string,
  retentionDays: number,
): Promise<number> {
  if (!(retentionDays > 0)) throw new RangeError(`purgeRejectedRecords: retention ${retentionDays} days`);
  const result = await db
    .deleteFrom('ingest.rejected_records')
    .where('source', '=', source)
    .where('rejected_at', '<', sql<Date>`now() - make_interval(secs => ${retentionDays * 86_400})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * The non-retryable failure of a resource that fetched records and loaded none: every one was rejected (a config
 * whose primary_key is not in the data, say). Zero records fetched is not this: that is an empty result. The
 * message carries the first few reason codes and record keys — never a payload.
 */
export async function allRecordsRejectedError(
  db: Kysely<Database>,
  run: { readonly loadId: string; readonly source: string; readonly resource: string },
  rejected: number,
): Promise<IngestError> {
  const first = await db
    .selectFrom('ingest.rejected_records')
    .select(['reason_code', 'reason', 'record_key'])
    .where('load_id', '=', run.loadId)
    .where('resource', '=', run.resource)
    .orderBy('batch_seq')
    .orderBy('ordinal')
    .limit(reasonsInMessage)
    .execute();
  const reasons = first.map(
    (r) => `${r.reason_code}${r.record_key === null ? '' : ` (key ${shortened(r.record_key)})`}`,
  );
  return new IngestError(
    'response-shape',
    'ALL_RECORDS_REJECTED',
    `${run.source}.${run.resource}: all ${rejected} record(s) fetched were rejected, none loaded; first: ` +
      `${reasons.join(', ')} — see ingest.rejected_records (load ${run.loadId}) for the reasons`,
    {
      retryable: false,
      details: {
        source: run.source,
        resource: run.resource,
        rejected,
        reasonCodes: [...new Set(first.map((r) => r.reason_code))],
      },
    },
  );
}

function shortened(key: string): string {
  return key.length <= 64 ? key : `${key.slice(0, 61)}...`;
}
