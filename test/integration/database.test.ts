import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { withDatabase } from '../helpers/database.ts';

const database = withDatabase();

describe('the test database', () => {
  it('is a real Postgres that round-trips rows through Kysely', async () => {
    await sql`CREATE TABLE round_trip (id text PRIMARY KEY, payload jsonb NOT NULL)`.execute(database.db);
    await sql`INSERT INTO round_trip VALUES ('a', ${JSON.stringify({ n: 12345678901234567890n.toString() })}::jsonb)`.execute(
      database.db,
    );
    const { rows } = await sql<{
      id: string;
      n: string;
    }>`SELECT id, payload->>'n' AS n FROM round_trip`.execute(database.db);
    expect(rows).toEqual([{ id: 'a', n: '12345678901234567890' }]);
  });

  it('is private to this file: a clone of the migrated template, under its own name', async () => {
    const { rows } = await sql<{ name: string; migrated: boolean }>`
      SELECT current_database() AS name, to_regclass('ingest.kysely_migration') IS NOT NULL AS migrated
    `.execute(database.db);
    expect(rows[0]?.name).toBe(database.name);
    expect(rows[0]?.migrated).toBe(true);
  });
});
