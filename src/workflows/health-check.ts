/**
 * `healthCheck`: a one-activity workflow that proves the whole chain — server, worker, activity, Postgres — works.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { DatabaseProbe, HealthActivities } from '../shared/ingest-types.ts';

const { probeDatabase } = proxyActivities<HealthActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

export interface HealthReport {
  readonly database: DatabaseProbe;
}

/** Runs the database probe through a worker and returns what it saw. */
export async function healthCheck(): Promise<HealthReport> {
  return { database: await probeDatabase() };
}
