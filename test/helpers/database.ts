/**
 * `withDatabase()`: a private, migrated database for one test file — cloned from the template the global set-up
 * migrated, dropped after the file. Call it at the top level of a test file.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDatabase } from '../../src/db/database.ts';
import type { Database } from '../../src/db/schema.ts';
import { quoteIdentifier } from '../../src/local/postgres.ts';
import { postgresClientConfig } from '../../src/postgres-connection.ts';
import { templateDatabase, withDatabaseName } from './urls.ts';

export interface TestDatabase {
  /** Connection string of this file's database. */
  readonly url: string;
  readonly name: string;
  /** A pooled Kysely instance on it (destroyed after the file). */
  readonly db: Kysely<Database>;
}

/** Registers hooks that create the database before the file's tests and drop it after; returns a lazy handle. */
export function withDatabase(): TestDatabase {
  const { databaseUrl } = inject('stack');
  const name = `test_${randomBytes(6).toString('hex')}`;
  const url = withDatabaseName(databaseUrl, name);
  let db: Kysely<Database> | undefined;
  beforeAll(async () => {
    await adminQuery(
      databaseUrl,
      `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(templateDatabase)}`,
    );
    db = createDatabase(url, { maxConnections: 4 });
  });
  afterAll(async () => {
    await db?.destroy();
    await adminQuery(databaseUrl, `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  });
  return {
    url,
    name,
    get db() {
      if (!db) throw new Error('withDatabase(): the database is ready only inside tests and hooks');
      return db;
    },
  };
}

async function adminQuery(databaseUrl: string, statement: string): Promise<void> {
  const client = new pg.Client(postgresClientConfig(withDatabaseName(databaseUrl, 'postgres')));
  client.on('error', () => undefined); // a dropped connection fails the query in progress: that is the report
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
