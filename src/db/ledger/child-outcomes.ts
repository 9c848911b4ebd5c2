/**
 * What became of a child's parent values beyond one fetch: the ones that could not be resolved
 * (`ingest.unresolvable_keys`: the API answered 404, or a polled child was not final in time), and where each set of
 * parent values stands across loads (`ingest.child_polls`): pending until a load's resolution finishes with it (so a
 * failed or cancelled resolution loses nothing — the parent's cursor may have moved on), and, for a polled child,
 * final or unresolvable after that.
 * Keys are named by the parent values the child's requests use: one value as its text, several as a JSON object.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';
import { ledgerText } from './ledger-text.ts';

/** How an unresolvable key is named: the value of the one request field, or a JSON object of several. */
export function childKeyText(
  fields: Readonly<Record<string, unknown>>,
  requestPaths: readonly string[],
): string {
  if (requestPaths.length === 1) {
    const value = fields[requestPaths[0] as string];
    return typeof value === 'string' ? value : JSON.stringify(value ?? null);
  }
  return JSON.stringify(Object.fromEntries(requestPaths.map((path) => [path, fields[path] ?? null])));
}

/** One key given up, and why. */
export interface UnresolvableKey {
  readonly key: string;
  readonly httpStatus: number | null;
  readonly reason: string;
}

/** Records keys as unresolvable (a key recorded before keeps its first reason). */
export async function markUnresolvable(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly source: string; readonly resource: string },
  keys: readonly UnresolvableKey[],
): Promise<void> {
  if (keys.length === 0) return;
  await db
    .insertInto('ingest.unresolvable_keys')
    .values(
      keys.map((k) => ({
        source: input.source,
        resource: input.resource,
        key: ledgerText(k.key),
        http_status: k.httpStatus,
        reason: ledgerText(k.reason.slice(0, 2000)),
        load_id: input.loadId,
      })),
    )
    .onConflict((oc) => oc.columns(['source', 'resource', 'key']).doNothing())
    .execute();
}

/**
 * Gives up the pending items of a polled child first seen more than `maxAgeMs` ago: each becomes unresolvable in
 * this load's work list and across loads, with the reason. Returns how many.
 */
export async function giveUpStaleItems(
  db: Kysely<Database>,
  input: {
    readonly loadId: string;
    readonly source: string;
    readonly resource: string;
    readonly maxAgeMs: number;
    readonly requestPaths: readonly string[];
  },
): Promise<number> {
  return inTransaction(db, async (trx) => {
    const { rows } = await sql<{ fields: Record<string, unknown> }>`
      UPDATE ingest.child_items SET state = 'unresolvable'
      WHERE load_id = ${input.loadId} AND resource = ${input.resource} AND state = 'pending'
        AND first_seen_at < now() - make_interval(secs => ${input.maxAgeMs / 1000})
      RETURNING fields`.execute(trx);
    const seconds = Math.round(input.maxAgeMs / 1000);
    await markUnresolvable(
      trx,
      input,
      rows.map((row) => ({
        key: childKeyText(row.fields, input.requestPaths),
        httpStatus: null,
        reason: `not final ${seconds} s after it was first seen (poll.max_age_seconds): no longer polled`,
      })),
    );
    return rows.length;
  });
}

/**
 * Carries a polled child's work list of this load over to the next: pending items stay pending (the next load polls
 * them again), done ones are final, unresolvable ones are given up. First-seen times are kept.
 */
export async function carryOverPolls(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly source: string; readonly resource: string },
): Promise<void> {
  await sql`
    INSERT INTO ingest.child_polls (source, resource, slice_hash, fields, state, first_seen_at)
    SELECT ${input.source}, ${input.resource}, i.slice_hash, i.fields,
           CASE i.state WHEN 'done' THEN 'final' ELSE i.state END, i.first_seen_at
    FROM ingest.child_items AS i
    WHERE i.load_id = ${input.loadId} AND i.resource = ${input.resource}
    ON CONFLICT (source, resource, slice_hash) DO UPDATE
      SET state = excluded.state, updated_at = now()`.execute(db);
}

/**
 * A child without `poll` that finished: its parent values of this load are done (fetched, or recorded as
 * unresolvable), so none is carried over to the next load any more.
 */
export async function forgetCarriedOver(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly source: string; readonly resource: string },
): Promise<void> {
  await sql`
    DELETE FROM ingest.child_polls AS c
    USING ingest.child_items AS i
    WHERE c.source = ${input.source} AND c.resource = ${input.resource}
      AND i.load_id = ${input.loadId} AND i.resource = ${input.resource}
      AND i.slice_hash = c.slice_hash AND i.state <> 'pending'`.execute(db);
}
