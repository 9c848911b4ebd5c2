/**
 * Freshness from the ledger: when each resource last loaded successfully (the latest `finished_at` of its succeeded
 * runs). `ingest status` shows it; a worker with metrics starts its freshness gauge from it, so that the gauge is
 * there after a restart, before the next load.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** A resource's last successful load. */
export interface LastSuccess {
  readonly source: string;
  readonly resource: string;
  readonly at: Date;
}

/** Every resource's last successful load (of `source` only, when given); resources never loaded are absent. */
export async function readLastSuccesses(db: Kysely<Database>, source?: string): Promise<LastSuccess[]> {
  const rows = await db
    .selectFrom('ingest.resource_runs')
    .select(['source', 'resource', (eb) => eb.fn.max('finished_at').as('last')])
    .where('status', '=', 'succeeded')
    .$if(source !== undefined, (q) => q.where('source', '=', source ?? ''))
    .groupBy(['source', 'resource'])
    .execute();
  return rows.flatMap((row) =>
    row.last === null
      ? []
      : [{ source: row.source, resource: row.resource, at: new Date(row.last as Date | string) }],
  );
}
