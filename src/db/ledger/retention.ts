/**
 * What the ledger keeps, and for how long, beyond a load's own close (`finishLoad` drops its staging and
 * checkpoints). Both run at the start of each load of a source, under its lease (`beginLoad`), for that source only:
 * - `sweepClosedLoads`: what a closed load of the source still holds — a staging `finishLoad` found locked (an
 *   activity was still finishing), or left by a build that did not drop it — with its checkpoints and child work;
 * - `purgeLedger`: the source's loads finished longer ago than the ledger retention (their resource runs,
 *   checkpoints and child work go with them by cascade, and their send intents), and its unresolvable keys marked
 *   longer ago than it. Rejected records keep their own, per-source retention (`rejected-records.ts`).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';
import { dropLoadStaging, type FinishLoadOptions } from './ledger.ts';

/** Days a finished load (and the rest of the ledger) is kept when the worker does not say. */
export const defaultLedgerRetentionDays = 180;

/** At most this many loads are deleted per call: a first purge of a long history is spread over a few runs. */
const loadsPerPurge = 1_000;

/** What `sweepClosedLoads` removed. */
export interface SweepOutcome {
  readonly stagingTablesDropped: number;
  /** Stagings still locked (left for the next sweep). */
  readonly stagingTablesBusy: number;
  readonly checkpoints: number;
}

/**
 * Drops the stagings, checkpoints and child work that closed loads of `source` still hold. Cheap: stagings and
 * checkpoints are few (they live only while a load runs), and child work is looked up by load.
 */
export async function sweepClosedLoads(
  db: Kysely<Database>,
  source: string,
  options: FinishLoadOptions = {},
): Promise<SweepOutcome> {
  const closed = await db
    .selectFrom('ingest.staging_tables as s')
    .innerJoin('ingest.loads as l', 'l.load_id', 's.load_id')
    .select('s.load_id')
    .distinct()
    .where('l.source', '=', source)
    .where('l.status', '<>', 'running')
    .execute();
  let dropped = 0;
  let busy = 0;
  for (const { load_id } of closed) {
    const outcome = await dropLoadStaging(db, load_id, options);
    dropped += outcome.dropped;
    busy += outcome.busy;
  }
  const checkpoints = await sql`
    DELETE FROM ingest.checkpoints AS c USING ingest.loads AS l
    WHERE c.load_id = l.load_id AND l.source = ${source} AND l.status <> 'running'`.execute(db);
  const closedLoads = sql`SELECT load_id FROM ingest.loads WHERE source = ${source} AND status <> 'running'`;
  await sql`DELETE FROM ingest.parent_records WHERE load_id IN (${closedLoads})`.execute(db);
  await sql`DELETE FROM ingest.child_items WHERE load_id IN (${closedLoads})`.execute(db);
  return {
    stagingTablesDropped: dropped,
    stagingTablesBusy: busy,
    checkpoints: Number(checkpoints.numAffectedRows ?? 0),
  };
}

/** What `purgeLedger` deleted. */
export interface PurgeOutcome {
  readonly loads: number;
  readonly sendIntents: number;
  readonly unresolvableKeys: number;
}

/**
 * Deletes the loads of `source` that finished more than `retentionDays` days ago (never a running one) — their
 * resource runs, checkpoints and child work by cascade, their send intents with them — and the source's
 * unresolvable keys marked more than `retentionDays` days ago. At most {@link loadsPerPurge} loads per call. Run it
 * under the source's lease.
 */
export async function purgeLedger(
  db: Kysely<Database>,
  source: string,
  retentionDays: number,
): Promise<PurgeOutcome> {
  if (!(retentionDays > 0) || !Number.isFinite(retentionDays)) {
    throw new RangeError(`purgeLedger: retention ${retentionDays} days`);
  }
  const cutoff = sql<Date>`now() - make_interval(secs => ${retentionDays * 86_400})`;
  return inTransaction(db, async (trx) => {
    const { rows } = await sql<{ load_id: string }>`
      DELETE FROM ingest.loads
      WHERE load_id IN (
        SELECT load_id FROM ingest.loads
        WHERE source = ${source} AND status <> 'running' AND coalesce(finished_at, started_at) < ${cutoff}
        ORDER BY started_at
        LIMIT ${loadsPerPurge})
      RETURNING load_id`.execute(trx);
    const loadIds = rows.map((r) => r.load_id);
    const intents =
      loadIds.length === 0
        ? { numDeletedRows: 0n }
        : await trx
            .deleteFrom('ingest.send_intents')
            .where('source', '=', source)
            .where('load_id', 'in', loadIds)
            .executeTakeFirst();
    const keys = await trx
      .deleteFrom('ingest.unresolvable_keys')
      .where('source', '=', source)
      .where('marked_at', '<', cutoff)
      .executeTakeFirst();
    return {
      loads: loadIds.length,
      sendIntents: Number(intents.numDeletedRows),
      unresolvableKeys: Number(keys.numDeletedRows),
    };
  });
}
