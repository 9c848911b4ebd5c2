/**
 * A first load's primary key, built once instead of row by row. Into a table with no row at all, the merge inserts
 * every staged record; maintaining the primary key's index as it goes needs the rows sorted by key (else each
 * insert lands on a random leaf page), and that sort carries whole rows. Instead, for a big enough load, the merge
 * drops the primary key constraint in its transaction, inserts in the staging's order, and adds the constraint
 * again — Postgres then sorts the keys alone and builds the index bottom-up (with parallel workers when the
 * server allows them), which together cost less than the sorted insert (docs/loading.md).
 *
 * The price is an ACCESS EXCLUSIVE lock for the rest of the merge: readers of the (empty) table wait until it
 * commits instead of seeing it empty. The merge never queues for that lock — `NOWAIT`, in a savepoint: when anyone
 * holds a lock on the table it keeps the ordinary path, so no reader waits behind it and it waits for no reader.
 * Nor does it take this path when dropping the constraint would touch anything else: a foreign key that references
 * the table, a view that relies on the key (`GROUP BY` the key), a replica identity that names the index.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';

/** The primary key dropped for the insert, and how to add it again. */
export interface DeferredPrimaryKey {
  /** Adds the constraint again, as it was (same name and definition); fails on a repeated key, like the insert would. */
  restore(): Promise<void>;
}

/** How many staged records make the rebuild worth its DDL and its lock (below, the sorted insert is cheap). */
export const defaultKeyIndexRebuildFrom = 50_000;

/**
 * Drops the primary key of the locked, empty `target` for the merge's insert, when that is safe and the lock is
 * free at once; returns undefined (nothing changed) otherwise. Call it inside the merge's transaction, after
 * locking the table against writers and finding it empty.
 */
export async function deferPrimaryKey(
  trx: Kysely<Database>,
  target: ResourceTable,
): Promise<DeferredPrimaryKey | undefined> {
  const table = sql.id(target.schema, target.table);
  const { rows } = await sql<{ name: string; definition: string; eligible: boolean }>`
    SELECT c.conname AS name, pg_get_constraintdef(c.oid) AS definition,
           (r.relreplident = 'd' AND r.relkind = 'r'
            -- Nothing outside the constraint depends on it or its index: a foreign key (on the index), a view that
            -- groups by the key (on the constraint). Dropping it would fail, or take them along.
            AND NOT EXISTS (
              SELECT 1 FROM pg_depend AS d
              WHERE d.deptype = 'n'
                AND ((d.refclassid = 'pg_constraint'::regclass AND d.refobjid = c.oid)
                  OR (d.refclassid = 'pg_class'::regclass AND d.refobjid = c.conindid)))) AS eligible
    FROM pg_constraint AS c JOIN pg_class AS r ON r.oid = c.conrelid
    JOIN pg_namespace AS n ON n.oid = r.relnamespace
    WHERE n.nspname = ${target.schema} AND r.relname = ${target.table} AND c.contype = 'p'`.execute(trx);
  const key = rows[0];
  if (key === undefined || !key.eligible) return undefined;
  await sql`SAVEPOINT defer_primary_key`.execute(trx);
  try {
    await sql`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE NOWAIT`.execute(trx);
  } catch (error) {
    if ((error as { code?: unknown }).code !== lockNotAvailable) throw error;
    await sql`ROLLBACK TO SAVEPOINT defer_primary_key`.execute(trx);
    await sql`RELEASE SAVEPOINT defer_primary_key`.execute(trx);
    return undefined;
  }
  await sql`RELEASE SAVEPOINT defer_primary_key`.execute(trx);
  await sql`ALTER TABLE ${table} DROP CONSTRAINT ${sql.id(key.name)}`.execute(trx);
  return {
    async restore() {
      // The definition is Postgres's own text of the constraint (columns, INCLUDE, WITH, tablespace).
      await sql`ALTER TABLE ${table} ADD CONSTRAINT ${sql.id(key.name)} ${sql.raw(key.definition)}`.execute(
        trx,
      );
    },
  };
}

/** SQLSTATE 55P03: `NOWAIT` found the lock taken. */
export const lockNotAvailable = '55P03';
