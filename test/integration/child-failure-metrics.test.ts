/**
 * A dependent resource's merge (`mergeChildren`) reports its failures to the metrics as `ingestResource` and
 * `fetchChildBatch` do — a failure for good with its code — and a cancelled attempt (its run cancelled, or its
 * worker shutting down) reports nothing. The activity runs in Temporal's MockActivityEnvironment on the real Postgres.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.ts';
import { resolveSource } from '../../src/config/resolve.ts';
import type { SourceConfig } from '../../src/config/schema.ts';
import type { MergeChildrenInput } from '../../src/shared/ingest-types.ts';
import { noIngestMetrics, type IngestMetrics } from '../../src/telemetry/ingest-metrics.ts';
import { withDatabase } from '../helpers/database.ts';

const database = withDatabase();
const source = 'child_metrics';

/** A child resource whose table no migration registered and no run created: its merge fails for good. */
const plan = resolveSource(
  {
    name: source,
    client: { base_url: 'http://127.0.0.1:9' },
    resources: [
      { name: 'parents', primary_key: 'id', endpoint: { path: '/parents', paginator: 'single_page' } },
      {
        name: 'kids',
        primary_key: 'id',
        endpoint: {
          path: '/kids/{pid}',
          params: { pid: { type: 'resolve', resource: 'parents', field: 'id' } },
          paginator: 'single_page',
        },
      },
    ],
  } as unknown as SourceConfig,
  { env: {} },
);
const kids = plan.resources.find((resource) => resource.name === 'kids');

/** Runs `mergeChildren` in `environment`; returns the failure and what the metrics were told. */
async function merge(
  environment: MockActivityEnvironment,
): Promise<{ failure: unknown; calls: unknown[][] }> {
  const calls: unknown[][] = [];
  const metrics: IngestMetrics = {
    ...noIngestMetrics,
    retried: (...args) => void calls.push(['retried', ...args]),
    failed: (...args) => void calls.push(['failed', ...args]),
  };
  const activities = createActivities({ db: database.db, env: {}, metrics });
  const input: MergeChildrenInput = {
    loadId: 'load-1',
    source,
    resource: kids!,
    pages: 0,
    incomplete: false,
  };
  const failure: unknown = await environment
    .run((i: MergeChildrenInput) => activities.mergeChildren(i), input)
    .catch((error: unknown) => error);
  return { failure, calls };
}

describe('mergeChildren', () => {
  it('records its failure for good, with its code', async () => {
    const { failure, calls } = await merge(new MockActivityEnvironment({ attempt: 1 }));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
    const code = (failure as ApplicationFailure).type;
    expect(calls).toEqual([['failed', { source, resource: 'kids' }, code]]);
  });

  it('records nothing when the activity was cancelled', async () => {
    const environment = new MockActivityEnvironment({ attempt: 1 });
    environment.cancel('WORKER_SHUTDOWN');
    const { failure, calls } = await merge(environment);
    expect(failure).toBeInstanceOf(Error);
    expect(calls).toEqual([]);
  });
});
