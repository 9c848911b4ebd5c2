/**
 * Several batches of one resource staged at once, each preparing the staging first (as `resolveChildren` does
 * with 4 fetch activities at a time): no deadlock, and every record staged exactly once.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { readResourceTable } from '../../src/db/tables/resource-tables.ts';
import { prepareStaging } from '../../src/db/staging/prepare.ts';
import { batchSeq, stageRecords } from '../../src/db/staging/stage-records.ts';
import { withDatabase } from '../helpers/database.ts';
import { extracted, startRun } from './loader-fixtures.ts';

const database = withDatabase();

describe('staging one resource from concurrent batches', () => {
  it('prepares and stages 4 batches at once without a deadlock, every record once', async () => {
    const errors: string[] = [];
    for (let round = 0; round < 10; round++) {
      const loadId = `probe-${round}`;
      await startRun(database.db, loadId, 'messaging', 'messages');
      const target = await readResourceTable(database.db, 'messaging', 'messages');
      await Promise.all(
        Array.from({ length: 4 }, async (_, b) => {
          try {
            const staging = await prepareStaging(database.db, target, loadId);
            const records = Array.from({ length: 50 }, (_, i) =>
              extracted({ requestId: `r${round}-${b}-${i}`, status: 'DELIVERED', size: 1 }),
            );
            await stageRecords(database.db, staging, batchSeq(b + 1, 0), records);
          } catch (error) {
            errors.push((error as Error).message);
          }
        }),
      );
    }
    expect(errors).toEqual([]);
    const { rows } = await sql<{ batches: string; records: string }>`
      SELECT count(*) AS batches, coalesce(sum(records), 0) AS records
      FROM ingest.staged_batches WHERE load_id LIKE 'probe-%'`.execute(database.db);
    expect(rows[0]).toEqual({ batches: '40', records: '2000' });
  });
});
