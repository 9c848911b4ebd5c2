/**
 * Dispositions, property-based: random sequences of loads, each a merge, a replace or a merge with deletion
 * detection — with duplicate keys, reordered keys and a retry in the middle of staging — end with exactly the model's
 * rows (value and deleted flag), the model's counts (deleted included), and no row version beyond the ones the model
 * says were written.
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { MergeMode } from '../../src/db/merge/dispositions.ts';
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

type Mode = 'merge' | 'replace' | 'detect';

interface LoadScenario {
  readonly mode: Mode;
  readonly batches: readonly (readonly ModelRecord[])[];
  readonly retry: StagingRetry | null;
}

const modes: Readonly<Record<Mode, MergeMode>> = {
  merge: { disposition: 'merge', deletionDetection: false },
  replace: { disposition: 'replace', deletionDetection: false },
  detect: { disposition: 'merge', deletionDetection: true },
};

const record = modelRecords(2);

const load: fc.Arbitrary<LoadScenario> = fc
  .array(fc.array(record, { maxLength: 5 }), { maxLength: 3 })
  .chain((batches) =>
    fc.record({
      mode: fc.constantFrom<Mode>('merge', 'replace', 'detect'),
      batches: fc.constant(batches),
      retry: stagingRetries(batches.length),
    }),
  );

let run = 0;

describe('dispositions, property-based', () => {
  it('end with exactly the model of merge, replace and deletion detection, with exact counts', async () => {
    const table = await readResourceTable(database.db, 'communications', 'user_call_records');
    await fc.assert(
      fc.asyncProperty(fc.array(load, { minLength: 1, maxLength: 4 }), async (loads) => {
        run += 1;
        await sql`TRUNCATE communications.user_call_records`.execute(database.db);
        const model = new Map<string, { value: number; deleted: boolean }>();
        for (const [index, scenarioLoad] of loads.entries()) {
          const loadId = `dprop-${run}-${index}`;
          await startRun(database.db, loadId, 'communications', 'user_call_records');
          const before = await currentTxid(database.db);
          const { batches, retry, mode } = scenarioLoad;
          const staging = await stageWithRetry(database.db, table, loadId, batches, retry);
          const outcome = await mergeStaged(database.db, staging, modes[mode]);

          const latest = new Map<string, number>();
          for (const batch of batches) for (const r of batch) latest.set(r.key, r.value);
          let inserted = 0;
          let updated = 0;
          for (const [key, value] of latest) {
            const stored = model.get(key);
            if (stored === undefined) inserted += 1;
            else if (stored.deleted || stored.value !== value) updated += 1;
            model.set(key, { value, deleted: false });
          }
          let deleted = 0;
          for (const [key, stored] of [...model]) {
            if (latest.has(key)) continue;
            if (mode === 'replace') {
              model.delete(key);
              deleted += 1;
            } else if (mode === 'detect' && !stored.deleted) {
              model.set(key, { ...stored, deleted: true });
              deleted += 1;
            }
          }
          expect(outcome).toMatchObject({
            fetched: batches.reduce((sum, b) => sum + b.length, 0),
            distinct: latest.size,
            inserted,
            updated,
            unchanged: latest.size - inserted - updated,
            deleted,
            deletionsSkipped: null,
          });
          // Deleted rows are gone; marked rows are new versions; nothing else was rewritten.
          expect(await rowsWrittenSince(database.db, 'communications.user_call_records', before)).toBe(
            inserted + updated + (mode === 'detect' ? deleted : 0),
          );
          const { rows } = await sql<{ id: string; duration: string; deleted: boolean }>`
            SELECT id, duration::text AS duration, _deleted_at IS NOT NULL AS deleted
            FROM communications.user_call_records ORDER BY id`.execute(database.db);
          expect(rows.map((r) => [r.id, Number(r.duration), r.deleted])).toEqual(
            [...model.entries()]
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, v]) => [k, v.value, v.deleted]),
          );
        }
      }),
      { numRuns: 60 },
    );
  }, 180_000);
});
