/** `npm run migrate`: applies pending migrations to the database in DATABASE_URL. */
import { createDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrations.ts';
import { describeError } from '../errors.ts';
import { migrationsFolder } from '../local/paths.ts';
import { setLogLevel } from '../logging.ts';
import { readSettings } from './settings.ts';

const settings = readSettings();
setLogLevel(settings.logLevel);
const url = settings.databaseUrl;
if (!url) {
  console.error(
    'DATABASE_URL is not set. Example: DATABASE_URL=postgres://user:pass@localhost:5432/ingest npm run migrate',
  );
  process.exitCode = 2;
} else {
  const db = createDatabase(url, { maxConnections: 1 });
  try {
    const { applied } = await migrateToLatest(db, { folder: migrationsFolder });
    console.log(
      applied.length === 0 ? 'Schema is up to date.' : `Applied ${applied.length}: ${applied.join(', ')}`,
    );
  } catch (error) {
    console.error(describeError(error));
    process.exitCode = 1;
  } finally {
    await db.destroy();
  }
}
