import fc from 'fast-check';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { mergeStaged } from '../../src/db/merge/merge.ts';
import { readResourceTable } from '../../src/db/tables/resource-tables.ts';
import { withDatabase } from '../helpers/database.ts';
import {
  currentTxid,
  modelRecords,
  rowsWrittenSince,
  stageWithRetry,
  stagingRetries,
  startRun,
  type ModelRecord,
  type StagingRetry,
} from './loader-fixtures.ts';

const database = withDatabase();

/** A record of the model: which key, which content, and whether its JSON text lists the keys in another order. */
interface LoadScenario {
  readonly batches: readonly (readonly ModelRecord[])[];
  readonly retry: StagingRetry | null;
  /** Merge a second time, as a retried activity would after a commit it did not hear about. */
  readonly mergeTwice: boolean;
}

const record = modelRecords(3);

const load: fc.Arbitrary<LoadScenario> = fc
  .array(fc.array(record, { maxLength: 6 }), { minLength: 1, maxLength: 4 })
  .chain((batches) =>
    fc.record({
      batches: fc.constant(batches),
      retry: stagingRetries(batches.length),
      mergeTwice: fc.boolean(),
    }),
  );

/** Loads are sometimes an exact replay of the previous one (every row unchanged). */
const scenario = fc
  .array(fc.tuple(load, fc.boolean()), { minLength: 1, maxLength: 3 })
  .map((loads) =>
    loads.map(([l, replayPrevious], index) =>
      replayPrevious && index > 0 ? { ...loads[index - 1]![0] } : l,
    ),
  );

let run = 0;

describe('stage + merge, property-based', () => {
  it('ends with exactly the last-write-wins model and exact counts', async () => {
    const table = await readResourceTable(database.db, 'communications', 'user_call_records');
    await fc.assert(
      fc.asyncProperty(scenario, async (loads) => {
        run += 1;
        await sql`TRUNCATE communications.user_call_records`.execute(database.db);
        const model = new Map<string, number>();
        for (const [index, scenarioLoad] of loads.entries()) {
          const loadId = `prop-${run}-${index}`;
          await startRun(database.db, loadId, 'communications', 'user_call_records');
          const before = await currentTxid(database.db);
          const { batches, retry } = scenarioLoad;
          const staging = await stageWithRetry(database.db, table, loadId, batches, retry);
          const outcome = await mergeStaged(database.db, staging);

          // The model: last write wins by (batch, position); content is compared whatever the key order.
          const latest = new Map<string, number>();
          for (const batch of batches) for (const r of batch) latest.set(r.key, r.value);
          let inserted = 0;
          let updated = 0;
          for (const [key, value] of latest) {
            if (!model.has(key)) inserted += 1;
            else if (model.get(key) !== value) updated += 1;
            model.set(key, value);
          }
          const fetched = batches.reduce((sum, b) => sum + b.length, 0);
          expect(outcome).toMatchObject({
            fetched,
            distinct: latest.size,
            inserted,
            updated,
            unchanged: latest.size - inserted - updated,
            rejected: 0,
          });
          expect(await rowsWrittenSince(database.db, 'communications.user_call_records', before)).toBe(
            inserted + updated,
          );
          if (scenarioLoad.mergeTwice) {
            expect(await mergeStaged(database.db, staging)).toMatchObject({
              ...outcome,
              mergeMs: expect.any(Number) as unknown,
              alreadyMerged: true,
            });
          }
          const { rows } = await sql<{ id: string; duration: string; data_duration: number }>`
            SELECT id, duration::text AS duration, (data->>'duration')::int AS data_duration
            FROM communications.user_call_records ORDER BY id`.execute(database.db);
          expect(rows.map((r) => [r.id, Number(r.duration), r.data_duration])).toEqual(
            [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v, v]),
          );
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
