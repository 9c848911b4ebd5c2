import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import type { healthCheck } from '../../src/workflows/index.ts';

const database = withDatabase();
const temporal = withTemporal();

describe('healthCheck on the real dev server', () => {
  it('runs a workflow whose activity reaches the worker’s Postgres', async () => {
    const { rows } = await sql<{
      version: string;
    }>`SELECT current_setting('server_version') AS version`.execute(database.db);
    const report = await temporal.withWorker(database.db, () =>
      temporal.client.workflow.execute<typeof healthCheck>('healthCheck', {
        taskQueue: temporal.taskQueue,
        workflowId: `health-${temporal.taskQueue}`,
        args: [],
      }),
    );
    expect(report).toMatchObject({ database: { serverVersion: rows[0]?.version, database: database.name } });

    const history = await temporal.client.workflow.getHandle(`health-${temporal.taskQueue}`).fetchHistory();
    const activityTypes = (history.events ?? []).flatMap((event) =>
      event.activityTaskScheduledEventAttributes?.activityType?.name
        ? [event.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
    expect(activityTypes).toEqual(['probeDatabase']);
  });
});
