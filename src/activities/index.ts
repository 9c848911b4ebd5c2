/**
 * The activity factory: `createActivities(deps)` wires config, HTTP and database code into the functions the worker
 * registers. Activities are thin; the logic lives in `src/config`, `src/http` and `src/db`.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { probeDatabase, type DatabaseProbe } from './diagnostics.ts';

export interface ActivityDeps {
  readonly db: Kysely<Database>;
}

/** Builds the activities with their dependencies bound. Workflows import only the *type* of this object. */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Reports the Postgres server version and database the worker writes to. */
    async probeDatabase(): Promise<DatabaseProbe> {
      return probeDatabase(deps.db);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { DatabaseProbe };
