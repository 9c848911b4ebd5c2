/** The repository's root folder: the default data folder (`.data/`) and the migrations live below it. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in `src/local/`). */
export const projectRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Kysely migrations of the system schema and the seed sources' tables (handed to the db layer). */
export const migrationsFolder: string = resolve(projectRoot, 'migrations');
