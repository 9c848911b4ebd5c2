/** `inTransaction`: run in the caller's transaction when given one, otherwise in a new one. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** Runs `work` in `db` when it is already a transaction, else in a new transaction of `db`. */
export async function inTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return work(db);
  return db.transaction().execute(work);
}
