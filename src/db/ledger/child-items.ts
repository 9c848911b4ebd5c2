/**
 * A child resource's work list in one load (`ingest.child_items`): one item per distinct set of parent values (the
 * fields its requests and `include_from_parent` use, by dotted path), numbered 1… so the orchestration hands out
 * item numbers, never records. Items come from the parent's records of THIS load (`parent-records.ts`) or, when the
 * parent did not run, from the parent's table, plus the parent values an earlier load left pending
 * (`ingest.child_polls`: its resolution did not finish, or a polled child was not final yet); a polled child
 * (`poll`) leaves out those whose child is already final or was given up.
 */
import { sql, type Kysely } from 'kysely';
import type { ChildItemState, Database } from '../schema.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';
import { batchSeq } from '../staging/stage-records.ts';
import { isAppendTable } from '../tables/append-tables.ts';
import { inTransaction } from '../transaction.ts';

/** Where a child's parent records come from. */
export type ParentRecordSource =
  | { readonly from: 'run'; readonly parent: string }
  | { readonly from: 'storage'; readonly table: ResourceTable | null };

export interface BuildChildItemsInput {
  readonly loadId: string;
  readonly source: string;
  /** The child resource. */
  readonly resource: string;
  readonly parents: ParentRecordSource;
  /** The parent fields the child uses (dotted paths): its request fields and its `include_from_parent` fields. */
  readonly paths: readonly string[];
  /**
   * The parent fields its requests use: what makes two items the same request. Items are distinct by these; the
   * other fields (`include_from_parent`) come from the first parent record with them.
   */
  readonly requestPaths: readonly string[];
  /** The child is polled: carry over what earlier loads left pending, skip what is final or given up. */
  readonly polled: boolean;
}

/**
 * Builds the work list once per (load, child): a retried call finds it built and only counts it. Returns the number
 * of items.
 */
export async function buildChildItems(db: Kysely<Database>, input: BuildChildItemsInput): Promise<number> {
  const { loadId, source, resource, polled } = input;
  return inTransaction(db, async (trx) => {
    const built = await countItems(trx, loadId, resource);
    if (built > 0) return built;
    const parentRows = parentRowsSql(input);
    // What an earlier load left pending (a polled child not final yet, or a child whose run did not finish).
    const carried = sql`UNION ALL
      SELECT c.fields, 0 AS origin, 0::bigint AS seq, 0 AS ordinal
      FROM ingest.child_polls AS c
      WHERE c.source = ${source} AND c.resource = ${resource} AND c.state = 'pending'`;
    const settled = polled
      ? sql`AND NOT EXISTS (
          SELECT 1 FROM ingest.child_polls AS c
          WHERE c.source = ${source} AND c.resource = ${resource} AND c.slice_hash = f.slice_hash
            AND c.state <> 'pending')`
      : sql``;
    await sql`
      WITH candidates AS (
        ${parentRows}
        ${carried}
      ), hashed AS (
        SELECT md5((SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
                    FROM jsonb_each(fields) AS e WHERE e.key = ANY(${sql.val(input.requestPaths)}::text[]))::text)::uuid
                 AS slice_hash,
               fields, origin, seq, ordinal
        FROM candidates
      ), firsts AS (
        SELECT DISTINCT ON (slice_hash) slice_hash, fields, origin, seq, ordinal
        FROM hashed ORDER BY slice_hash, origin, seq, ordinal
      )
      INSERT INTO ingest.child_items (load_id, resource, item, slice_hash, fields, first_seen_at)
      SELECT ${loadId}, ${resource},
             row_number() OVER (ORDER BY f.origin, f.seq, f.ordinal, f.slice_hash),
             f.slice_hash, f.fields,
             coalesce((SELECT c.first_seen_at FROM ingest.child_polls AS c
                       WHERE c.source = ${source} AND c.resource = ${resource} AND c.slice_hash = f.slice_hash),
                      now())
      FROM firsts AS f
      WHERE true ${settled}`.execute(trx);
    // Known across loads from now on: should this load's resolution not finish, the next load fetches them.
    await sql`
        INSERT INTO ingest.child_polls (source, resource, slice_hash, fields, state, first_seen_at)
        SELECT ${source}, ${resource}, i.slice_hash, i.fields, 'pending', i.first_seen_at
        FROM ingest.child_items AS i
        WHERE i.load_id = ${loadId} AND i.resource = ${resource}
        ON CONFLICT (source, resource, slice_hash) DO NOTHING`.execute(trx);
    return countItems(trx, loadId, resource);
  });
}

/** The parent records as (fields, origin 1, seq, ordinal) rows, each keeping only the child's `paths`. */
function parentRowsSql(input: BuildChildItemsInput) {
  const paths = sql`${sql.val(input.paths)}::text[]`;
  if (input.parents.from === 'run') {
    return sql`
      SELECT (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
              FROM jsonb_each(p.fields) AS e WHERE e.key = ANY(${paths})) AS fields,
             1 AS origin, p.seq, p.ordinal
      FROM ingest.parent_records AS p
      WHERE p.load_id = ${input.loadId} AND p.resource = ${input.parents.parent}`;
  }
  const { table } = input.parents;
  if (table === null) {
    return sql`SELECT '{}'::jsonb AS fields, 1 AS origin, 0::bigint AS seq, 0 AS ordinal WHERE false`;
  }
  // A missing field is SQL NULL here (a JSON null is not), so it is left out, as for the records of a run.
  const live = isAppendTable(table) ? sql`true` : sql`t._deleted_at IS NULL`;
  return sql`
    SELECT (SELECT coalesce(jsonb_object_agg(path, t.data #> string_to_array(regexp_replace(path, '^\$\.', ''), '.')),
                            '{}'::jsonb)
            FROM unnest(${paths}) AS path
            WHERE t.data #> string_to_array(regexp_replace(path, '^\$\.', ''), '.') IS NOT NULL) AS fields,
           1 AS origin, 0::bigint AS seq, 0 AS ordinal
    FROM ${sql.id(table.schema, table.table)} AS t
    WHERE ${live}`;
}

async function countItems(db: Kysely<Database>, loadId: string, resource: string): Promise<number> {
  const row = await db
    .selectFrom('ingest.child_items')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The next `limit` pending items after `after` (ascending). */
export async function listPendingItems(
  db: Kysely<Database>,
  input: {
    readonly loadId: string;
    readonly resource: string;
    readonly after: number;
    readonly limit: number;
  },
): Promise<number[]> {
  const rows = await db
    .selectFrom('ingest.child_items')
    .select('item')
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource)
    .where('state', '=', 'pending')
    .where('item', '>', String(input.after))
    .orderBy('item')
    .limit(input.limit)
    .execute();
  return rows.map((row) => Number(row.item));
}

/** One item of a work list: its number and its parent values. */
export interface ChildItem {
  readonly item: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The given items' parent values, in item order. */
export async function readChildItems(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly resource: string; readonly items: readonly number[] },
): Promise<ChildItem[]> {
  if (input.items.length === 0) return [];
  const rows = await db
    .selectFrom('ingest.child_items')
    .select(['item', 'fields'])
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource)
    .where('item', 'in', input.items.map(String))
    .orderBy('item')
    .execute();
  return rows.map((row) => ({ item: Number(row.item), fields: row.fields }));
}

/**
 * Records what fetching the given items gave; returns the items that are done now and were not before (an item a
 * retried batch fetched again was done already: it is not among them).
 */
export async function settleChildItems(
  db: Kysely<Database>,
  input: {
    readonly loadId: string;
    readonly resource: string;
    readonly items: readonly { readonly item: number; readonly state: ChildItemState }[];
  },
): Promise<number[]> {
  let newlyDone: number[] = [];
  for (const state of ['pending', 'done', 'unresolvable'] as const) {
    const items = input.items.filter((i) => i.state === state).map((i) => String(i.item));
    if (items.length === 0) continue;
    const rows = await db
      .updateTable('ingest.child_items')
      .set({ state })
      .where('load_id', '=', input.loadId)
      .where('resource', '=', input.resource)
      .where('item', 'in', items)
      .where('state', '<>', state)
      .returning('item')
      .execute();
    if (state === 'done') newlyDone = rows.map((row) => Number(row.item));
  }
  return newlyDone;
}

/**
 * The records staged for the items still pending — a polled child's items not final yet, as their last fetch
 * left them (rejected ones included): what the merge takes of them. Read before the merge.
 */
export async function countPendingStaged(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly resource: string },
): Promise<number> {
  // An item's batches are numbered batchSeq(item, 0) ≤ seq < batchSeq(item + 1, 0).
  const stride = batchSeq(1, 0);
  const { rows } = await sql<{ records: string }>`
    SELECT coalesce(sum(b.records + b.rejected), 0) AS records
    FROM ingest.child_items AS i
    JOIN ingest.staged_batches AS b
      ON b.load_id = i.load_id AND b.resource = i.resource
     AND b.seq >= i.item * ${stride} AND b.seq < (i.item + 1) * ${stride}
    WHERE i.load_id = ${input.loadId} AND i.resource = ${input.resource} AND i.state = 'pending'`.execute(db);
  return Number(rows[0]?.records ?? 0);
}

/** How a child's work list stands. */
export interface ChildItemCounts {
  readonly items: number;
  readonly done: number;
  readonly pending: number;
  readonly unresolvable: number;
}

export async function countChildItems(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly resource: string },
): Promise<ChildItemCounts> {
  const rows = await db
    .selectFrom('ingest.child_items')
    .select((eb) => ['state', eb.fn.countAll<string>().as('n')])
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource)
    .groupBy('state')
    .execute();
  const of = (state: ChildItemState) => Number(rows.find((r) => r.state === state)?.n ?? 0);
  const done = of('done');
  const pending = of('pending');
  const unresolvable = of('unresolvable');
  return { items: done + pending + unresolvable, done, pending, unresolvable };
}
