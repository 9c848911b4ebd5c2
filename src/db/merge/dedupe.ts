/**
 * Dedupe, the merge's first step: how many records are staged and how many distinct keys (`stagedTotals`), and —
 * when a key is staged more than once — which records a later one of the same key overrides (`markSuperseded`: the
 * last one, highest batch then position, wins). Runs inside the merge's transaction.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { stagingTable, type Staging } from '../staging/registry.ts';
import { stagedKeyHashes, stagedKeys } from '../staging/staged-reads.ts';

/**
 * How many records are staged, how many distinct keys, and whether a key is staged more than once. First a cheap,
 * exact test: the keys' 64-bit hashes (`key_hashes`, computed by staging on its own connections) are all distinct →
 * no key repeats, so `distinct = fetched` — cheaper than hashing or grouping the key texts here, on the merge's one
 * core. Only when some hash repeats — a duplicate key, or (rarely) two keys that share a hash — are the keys
 * themselves counted.
 */
export async function stagedTotals(
  trx: Kysely<Database>,
  staging: Staging,
): Promise<{ readonly fetched: number; readonly distinct: number; readonly duplicated: boolean }> {
  const keyList = sql.join(staging.target.primaryKey.map((k) => sql.id('k', k.column)));
  const hashes = stagedKeyHashes(staging);
  const quick = await sql<{ rows: string; repeats: boolean }>`
    SELECT (SELECT coalesce(sum(cardinality(key_ords)), 0) FROM ${stagingTable(staging)}) AS rows,
           (SELECT count(*) <> count(DISTINCT s.h) FROM ${hashes} AS s) AS repeats`.execute(trx);
  const fetched = Number(quick.rows[0]?.rows ?? 0);
  if (quick.rows[0]?.repeats !== true) return { fetched, distinct: fetched, duplicated: false };
  const totals = await sql<{ rows: string; keys: string; duplicated: string }>`
    SELECT coalesce(sum(n), 0) AS rows, count(*) AS keys, count(*) FILTER (WHERE n > 1) AS duplicated
    FROM (SELECT count(*) AS n FROM ${stagedKeys(staging)} AS k GROUP BY ${keyList}) AS per_key`.execute(trx);
  return {
    fetched: Number(totals.rows[0]?.rows ?? 0),
    distinct: Number(totals.rows[0]?.keys ?? 0),
    duplicated: Number(totals.rows[0]?.duplicated ?? 0) > 0,
  };
}

/**
 * Last write wins: records, per batch, the ordinals that a later record (higher seq, then ord) of the same key
 * overrides (`superseded`). Decides afresh each time.
 */
export async function markSuperseded(trx: Kysely<Database>, staging: Staging): Promise<void> {
  const stage = stagingTable(staging);
  const keyList = sql.join(staging.target.primaryKey.map((k) => sql.id('k', k.column)));
  await sql`UPDATE ${stage} SET superseded = '{}' WHERE cardinality(superseded) > 0`.execute(trx);
  await sql`
    UPDATE ${stage} AS b SET superseded = d.ords
    FROM (
      SELECT seq, array_agg(ord ORDER BY ord) AS ords
      FROM (
        SELECT k.seq, k.ord, row_number() OVER (PARTITION BY ${keyList} ORDER BY k.seq DESC, k.ord DESC) AS rank
        FROM ${stagedKeys(staging)} AS k
        WHERE (${keyList}) IN (SELECT ${keyList} FROM ${stagedKeys(staging)} AS k GROUP BY ${keyList} HAVING count(*) > 1)
      ) AS ranked
      WHERE rank > 1
      GROUP BY seq
    ) AS d
    WHERE b.seq = d.seq`.execute(trx);
}
