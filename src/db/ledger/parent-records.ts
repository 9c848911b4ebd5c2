/**
 * What a parent resource keeps of its records for its children: per (load, resource), the fields its children need
 * (`ResolvedResource.childFields`), by dotted path, of every record it fetched in this load — keyed by the record's
 * staged batch (`seq`) and position in it (`ordinal`), so re-staging a batch replaces its rows and a resumed fetch
 * discards what it will fetch again (`discardParentRecords`), exactly like the staged records themselves. A field a
 * record does not have is left out (not stored as null): the child tells "missing" from "null".
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { pickFields } from '../../shared/record-fields.ts';
import { inTransaction } from '../transaction.ts';

/**
 * Writes the child fields of one staged batch's records (`values`: the parsed records, in staging order), replacing
 * whatever that batch wrote before, in one transaction.
 */
export async function writeParentRecords(
  db: Kysely<Database>,
  input: {
    readonly loadId: string;
    readonly resource: string;
    readonly seq: number;
    readonly paths: readonly string[];
    readonly values: readonly unknown[];
  },
): Promise<void> {
  const { loadId, resource, seq, paths, values } = input;
  const rows = values.map((value, ordinal) => ({
    load_id: loadId,
    resource,
    seq: String(seq),
    ordinal,
    fields: JSON.stringify(pickFields(value, paths)),
  }));
  await inTransaction(db, async (trx) => {
    await trx
      .deleteFrom('ingest.parent_records')
      .where('load_id', '=', loadId)
      .where('resource', '=', resource)
      .where('seq', '=', String(seq))
      .execute();
    // Bounded statements: a batch of small records can hold tens of thousands of them.
    for (let at = 0; at < rows.length; at += 5_000) {
      await trx
        .insertInto('ingest.parent_records')
        .values(rows.slice(at, at + 5_000))
        .execute();
    }
  });
}

/** Forgets the parent records of batches `from` ≤ seq < `to` (no `to`: every later batch). */
export async function discardParentRecords(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly resource: string; readonly from: number; readonly to?: number },
): Promise<void> {
  let query = db
    .deleteFrom('ingest.parent_records')
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource)
    .where('seq', '>=', String(input.from));
  if (input.to !== undefined) query = query.where('seq', '<', String(input.to));
  await query.execute();
}

/** Forgets everything a load kept for children (its parent records and work lists), once the load is over. */
export async function forgetChildWork(db: Kysely<Database>, loadId: string): Promise<void> {
  await sql`DELETE FROM ingest.parent_records WHERE load_id = ${loadId}`.execute(db);
  await sql`DELETE FROM ingest.child_items WHERE load_id = ${loadId}`.execute(db);
}
