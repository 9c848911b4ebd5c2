/** `npm run migrate` (and `ingest migrate`): applies pending migrations to the database in DATABASE_URL. */
import { createDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrations.ts';
import { describeError } from '../errors.ts';
import { migrationsFolder } from '../local/paths.ts';
import { setLogLevel } from '../logging.ts';
import { isEntry } from './cli/entry.ts';
import { readSettings } from './settings.ts';

/** Applies the migrations; the exit code (2: DATABASE_URL not set, 1: a migration failed). */
export async function main(_argv: readonly string[] = []): Promise<number> {
  const settings = readSettings();
  setLogLevel(settings.logLevel);
  const url = settings.databaseUrl;
  if (!url) {
    console.error(
      'DATABASE_URL is not set. Example: DATABASE_URL=postgres://user:pass@localhost:5432/ingest npm run migrate',
    );
    return 2;
  }
  const db = createDatabase(url, { maxConnections: 1 });
  try {
    const { applied } = await migrateToLatest(db, { folder: migrationsFolder });
    console.log(
      applied.length === 0 ? 'Schema is up to date.' : `Applied ${applied.length}: ${applied.join(', ')}`,
    );
    return 0;
  } catch (error) {
    console.error(describeError(error));
    return 1;
  } finally {
    await db.destroy();
  }
}

if (isEntry(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
