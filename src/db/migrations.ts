/**
 * Schema migrations: Kysely's Migrator over the files of a migrations folder — the repository's `migrations/`, which
 * the caller passes (`{ folder }`), so that this module needs no knowledge of where the project lives. The files are
 * frozen in time: each takes `Kysely<any>` and never imports app code. `migrateToLatest` applies them;
 * `assertSchemaCurrent` refuses to run on a database that is behind and says how to fix it.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Migrator, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';
import { IngestError, describeError } from '../errors.ts';

/** Where the migration files are: `join(projectRoot, 'migrations')` for this repository's. */
export interface MigrationsLocation {
  readonly folder: string;
}

/** Kysely keeps its bookkeeping tables beside ours, in the system schema. */
const migrationTableSchema = 'ingest';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
function createMigrator(db: Kysely<any>, { folder }: MigrationsLocation): Migrator {
  return new Migrator({
    db,
    provider: typeScriptMigrationProvider(folder),
    migrationTableSchema,
  });
}

/**
 * Kysely's FileMigrationProvider imports each file natively, which fails for `.ts` outside tsx (e.g. in Vitest's
 * global set-up). This provider falls back to tsx's `tsImport` for TypeScript files when Node cannot load them.
 */
function typeScriptMigrationProvider(folder: string): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      const files = (await fs.readdir(folder))
        .filter((file) => /\.(ts|mts|js|mjs)$/.test(file) && !file.endsWith('.d.ts'))
        .sort();
      const migrations: Record<string, Migration> = {};
      for (const file of files) {
        const module = (await importMigration(join(folder, file))) as Partial<Migration>;
        if (typeof module.up !== 'function') continue;
        migrations[file.replace(/\.[^.]+$/, '')] = module as Migration;
      }
      return migrations;
    },
  };
}

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
export async function migrateToLatest(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
  db: Kysely<any>,
  location: MigrationsLocation,
): Promise<MigrationOutcome> {
  await db.schema.createSchema(migrationTableSchema).ifNotExists().execute();
  const { error, results } = await createMigrator(db, location).migrateToLatest();
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
export async function assertSchemaCurrent(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed against no particular schema
  db: Kysely<any>,
  location: MigrationsLocation,
): Promise<void> {
  const migrations = await createMigrator(db, location).getMigrations();
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
