/**
 * Schema migrations: Kysely's Migrator over the files in `migrations/` (frozen in time: each takes `Kysely<any>` and
 * never imports app code). `migrateToLatest` applies them; `assertSchemaCurrent` refuses to run on a database
 * that is behind and says how to fix it.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Migrator, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';
import { IngestError, describeError } from '../errors.ts';
import { projectRoot } from '../local/paths.ts';

/** Where the migration files live. */
export const migrationsFolder = join(projectRoot, 'migrations');

/** Kysely keeps its bookkeeping tables beside ours, in the system schema. */
const migrationTableSchema = 'ingest';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: typeScriptMigrationProvider,
    migrationTableSchema,
  });
}

/**
 * Kysely's FileMigrationProvider imports each file natively, which fails for `.ts` outside tsx (e.g. in Vitest's
 * global set-up). This provider falls back to tsx's `tsImport` for TypeScript files when Node cannot load them.
 */
const typeScriptMigrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(migrationsFolder))
      .filter((file) => /\.(ts|mts|js|mjs)$/.test(file) && !file.endsWith('.d.ts'))
      .sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const module = (await importMigration(join(migrationsFolder, file))) as Partial<Migration>;
      if (typeof module.up !== 'function') continue;
      migrations[file.replace(/\.[^.]+$/, '')] = module as Migration;
    }
    return migrations;
  },
};

async function importMigration(path: string): Promise<unknown> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as unknown;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as unknown;
  }
}

export interface MigrationOutcome {
  /** Names of the migrations applied by this call, in order. */
  readonly applied: readonly string[];
}

/** Applies every pending migration, each in its own transaction; throws a `database` error naming the failed one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationOutcome> {
  await db.schema.createSchema(migrationTableSchema).ifNotExists().execute();
  const { error, results } = await createMigrator(db).migrateToLatest();
  const applied = (results ?? [])
    .filter((r: MigrationResult) => r.status === 'Success')
    .map((r) => r.migrationName);
  if (error !== undefined) {
    const failed = (results ?? []).find((r) => r.status === 'Error')?.migrationName ?? '(unknown)';
    throw new IngestError(
      'database',
      'MIGRATION_FAILED',
      `Migration ${failed} failed: ${describeError(error)}`,
      {
        retryable: false,
        cause: error,
      },
    );
  }
  return { applied };
}

/** Throws when migrations are pending, with the command that applies them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function assertSchemaCurrent(db: Kysely<any>): Promise<void> {
  const migrations = await createMigrator(db).getMigrations();
  const pending = migrations.filter((m) => m.executedAt === undefined).map((m) => m.name);
  if (pending.length > 0) {
    throw new IngestError(
      'database',
      'SCHEMA_BEHIND',
      `The database schema is behind: ${pending.length} migration(s) pending (${pending.join(', ')}). ` +
        'Apply them with `npm run migrate` (DATABASE_URL pointing at this database).',
      { retryable: false },
    );
  }
}
