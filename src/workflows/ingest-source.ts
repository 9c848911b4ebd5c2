/**
 * `ingestSource`: one durable run of one source. It plans (an activity resolves the config into a plan with its
 * hash, so a config edit never changes a running or replayed run), takes the source's lease and opens the load,
 * fans out one `ingestResource` activity per independent resource with bounded concurrency, hands each dependent
 * resource to its own `resolveChildren` child workflow once its parent has loaded, closes the load in the ledger,
 * and then either returns the
 * report or — when some resources failed — fails with a typed, non-retryable failure whose details hold it.
 * Deterministic orchestration only: no I/O here, just activities, timers and state.
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  ActivityFailure,
  ChildWorkflowFailure,
} from '@temporalio/workflow';
import type { ResolvedResource } from '../shared/plan.ts';
import {
  ingestFailureTypes,
  zeroCounts,
  type IncrementalWindowInput,
  type IngestActivities,
  type IngestOutcome,
  type IngestProgress,
  type IngestSourceInput,
  type LoadReport,
  type ResourceCounts,
  type ResourceReport,
} from '../shared/ingest-types.ts';
import { resolveChildren } from './resolve-children.ts';
import { outcomeSearchAttribute, sourceSearchAttribute } from './search-attributes.ts';
import {
  beginLoadSummary,
  deadlineSummary,
  finishLoadSummary,
  ingestSummary,
  planSummary,
  resolveDetails,
  resolveSummary,
  runDetails,
} from './ui-metadata.ts';

/**
 * The patch that made dependent resources start as soon as their parent has loaded, as `resolveChildren` child
 * workflows (before it: after every independent resource, as `resolveSmsMessages`). Never reuse this id.
 */
const childrenWithTheirParent = 'children-with-their-parent';

/** Resources of one source that load at once (each holds one HTTP stream and one Postgres connection). */
const resourceConcurrency = 4;
/** A run never outlives this, so a bug can never block a schedule forever. */
const runDeadline = '2 hours';

const ledger = proxyActivities<IngestActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const resources = proxyActivities<IngestActivities>({
  startToCloseTimeout: '1 hour',
  // A worker that dies mid-resource is noticed this long after its last heartbeat (sent every 2 s), and the
  // resource resumes on another worker from its last checkpointed page.
  heartbeatTimeout: '20 seconds',
  // The time budget of one resource. Retries are decided by the activity (nextRetryDelay, non-retryable
  // failures, its own attempt budget, in which rate limiting does not count), so attempts are not capped here.
  scheduleToCloseTimeout: '90 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    // Only a timeout (a worker that died) waits by this backoff: each failure the activity raises carries its own
    // nextRetryDelay, which the server does not cap by maximumInterval. Short, so a crash costs ~the heartbeat
    // timeout, not a minute more late in a load whose earlier attempts (rate limited ones too) raised the count.
    maximumInterval: '10 seconds',
  },
});

/** Per-resource state and counts so far. */
export const progressQuery = defineQuery<IngestProgress>('progress');

/** Ingests every resource of `input.source` (or the selected ones) into Postgres. */
export async function ingestSource(input: IngestSourceInput): Promise<LoadReport> {
  const source = checkInput(input);
  const info = workflowInfo();
  upsertSearchAttributes([
    { key: sourceSearchAttribute, value: source },
    { key: outcomeSearchAttribute, value: 'running' },
  ]);

  let phase: IngestProgress['phase'] = 'planning';
  let loadId: string | null = null;
  let planHash: string | null = null;
  const reports = new Map<string, ResourceReport>();
  setHandler(progressQuery, () => ({ source, loadId, planHash, phase, resources: [...reports.values()] }));
  // The run's current details in the Web UI (phase and counts): updated at every phase and resource change.
  const showDetails = (outcome?: IngestOutcome) =>
    setCurrentDetails(runDetails(source, phase, reports.values(), outcome));
  const setReport = (report: ResourceReport) => {
    reports.set(report.resource, report);
    showDetails();
  };
  showDetails();

  const { plan } = await beforeLoading(() =>
    ledger.planSource.executeWithOptions({ summary: planSummary(source, input.resources) }, [
      {
        source,
        ...(input.resources === undefined ? {} : { resources: input.resources }),
        ...(input.window === undefined ? {} : { window: input.window }),
        ...(input.reset === undefined ? {} : { reset: input.reset }),
        ...(input.allowDeletes === undefined ? {} : { allowDeletes: input.allowDeletes }),
        ...(input.acknowledgeSends === undefined ? {} : { acknowledgeSends: input.acknowledgeSends }),
      },
    ]),
  );
  planHash = plan.hash;
  for (const resource of plan.resources) {
    reports.set(resource.name, { resource: resource.name, status: 'pending', counts: zeroCounts });
  }
  showDetails();

  ({ loadId } = await beforeLoading(() =>
    ledger.beginLoad.executeWithOptions({ summary: beginLoadSummary(source, plan.resources.length) }, [
      {
        source,
        planHash: plan.hash,
        workflowId: info.workflowId,
        runId: info.runId,
        resources: plan.resources.map((resource) => resource.name),
        // Only when the file sets it: the activity input of every other plan stays as it was (replayed histories).
        ...(plan.rejectedRetentionDays === undefined
          ? {}
          : { rejectedRetentionDays: plan.rejectedRetentionDays }),
      },
    ]),
  ));
  const openLoadId = loadId;
  phase = 'loading';
  showDetails();

  // Histories from before children started with their parent (and ran as `resolveChildren`) replay the old way.
  const legacyChildren = !patched(childrenWithTheirParent);
  const runResource = async (resource: ResolvedResource): Promise<void> => {
    if (resource.skip) {
      setReport({
        resource: resource.name,
        status: 'skipped',
        counts: zeroCounts,
        reason: { code: 'SKIPPED', message: resource.skip.reason },
      });
      return;
    }
    setReport({ resource: resource.name, status: 'running', counts: zeroCounts });
    const started = Date.now();
    try {
      const counts = resource.dependency
        ? legacyChildren
          ? // A run started before resolveChildren existed: its history has the old child workflow type.
            (
              await executeChild<(input: unknown) => Promise<{ readonly counts: ResourceCounts }>>(
                'resolveSmsMessages',
                {
                  workflowId: `${info.workflowId}/${resource.name}`,
                  args: [
                    { loadId: openLoadId, source, baseUrl: plan.baseUrl, planHash: plan.hash, resource },
                  ],
                },
              )
            ).counts
          : // A dependent resource is fetched once per parent record by its own child workflow.
            (
              await executeChild(resolveChildren, {
                workflowId: `${info.workflowId}/${resource.name}`,
                staticSummary: resolveSummary(resource),
                staticDetails: resolveDetails(resource),
                args: [
                  {
                    loadId: openLoadId,
                    source,
                    baseUrl: plan.baseUrl,
                    planHash: plan.hash,
                    resource,
                    ...(plan.retry === undefined ? {} : { retry: plan.retry }),
                    ...(input.allowDeletes?.includes(resource.name) === true ? { allowDeletes: true } : {}),
                  },
                ],
              })
            ).counts
        : await resources.ingestResource.executeWithOptions(
            { summary: ingestSummary(resource, windowOf(input, resource.name)) },
            [
              {
                loadId: openLoadId,
                source,
                baseUrl: plan.baseUrl,
                planHash: plan.hash,
                resource,
                ...(plan.retry === undefined ? {} : { retry: plan.retry }),
                ...windowOf(input, resource.name),
              },
            ],
          );
      setReport({
        resource: resource.name,
        status: 'ok',
        counts,
        durationMs: Date.now() - started,
      });
    } catch (error) {
      if (isCancellation(error) && !deadlinePassed) throw error;
      setReport({
        resource: resource.name,
        status: 'failed',
        counts: zeroCounts,
        reason: describeFailure(error, deadlinePassed),
        durationMs: Date.now() - started,
      });
    }
  };

  let deadlinePassed = false;
  const loading = new CancellationScope();
  const timer = new CancellationScope();
  const deadline = timer
    .run(async () => {
      await sleep(runDeadline, { summary: deadlineSummary(source, runDeadline) });
      deadlinePassed = true;
      loading.cancel();
    })
    .catch((error: unknown) => {
      if (!isCancellation(error)) throw error;
    });
  try {
    // A dependent resource starts once its parent has loaded in this run (it reads the parent's records of this
    // run); the others start in plan order, at most `resourceConcurrency` at once.
    await loading.run(async () => {
      if (legacyChildren) {
        // Runs started before this patch: every independent resource first, then the dependent ones.
        await runBounded(
          plan.resources.filter((r) => r.dependency === null),
          resourceConcurrency,
          runResource,
        );
        await runBounded(
          plan.resources.filter((r) => r.dependency !== null),
          resourceConcurrency,
          runResource,
        );
        return;
      }
      const slot = limiter(resourceConcurrency);
      const loaded = new Map<string, Promise<void>>();
      for (const resource of plan.resources) {
        const parent =
          resource.dependency?.parentRecordsFrom === 'run' ? resource.dependency.parent : undefined;
        const parentLoaded = parent === undefined ? undefined : loaded.get(parent);
        loaded.set(
          resource.name,
          (async () => {
            if (parent !== undefined && parentLoaded !== undefined) {
              await parentLoaded;
              const parentReport = reports.get(parent);
              if (parentReport?.status !== 'ok') {
                setReport({
                  resource: resource.name,
                  status: 'failed',
                  counts: zeroCounts,
                  reason: {
                    code: 'PARENT_FAILED',
                    message: `its parent resource ${parent} did not load in this run (${parentReport?.status ?? 'not run'})`,
                  },
                });
                return;
              }
            }
            await slot(() => runResource(resource));
          })(),
        );
      }
      await Promise.all(loaded.values());
    });
  } catch (error) {
    if (!(isCancellation(error) && deadlinePassed)) throw error;
  }
  timer.cancel();
  await deadline;

  phase = 'finishing';
  showDetails();
  const finalReports = plan.resources.map((resource) => {
    const report = reports.get(resource.name);
    if (report && report.status !== 'pending' && report.status !== 'running') return report;
    return {
      resource: resource.name,
      status: 'failed' as const,
      counts: zeroCounts,
      reason: { code: ingestFailureTypes.timedOut, message: `the run's deadline of ${runDeadline} passed` },
    };
  });
  const outcome = decideOutcome(finalReports);
  await CancellationScope.nonCancellable(() =>
    ledger.finishLoad.executeWithOptions({ summary: finishLoadSummary(source, outcome) }, [
      {
        loadId: openLoadId,
        source,
        workflowId: info.workflowId,
        outcome,
        resources: finalReports,
      },
    ]),
  );
  upsertSearchAttributes([{ key: outcomeSearchAttribute, value: outcome }]);
  phase = 'done';
  setCurrentDetails(runDetails(source, phase, finalReports, outcome));

  const report: LoadReport = {
    source,
    loadId: openLoadId,
    planHash: plan.hash,
    outcome,
    resources: finalReports,
  };
  if (outcome === 'ok') return report;
  const failed = finalReports.filter((r) => r.status === 'failed');
  throw ApplicationFailure.create({
    type: outcome === 'partial' ? ingestFailureTypes.partial : ingestFailureTypes.failed,
    message:
      `${source}: ${failed.length} of ${finalReports.length} resources failed — ` +
      failed.map((r) => `${r.resource}: ${r.reason?.message ?? 'unknown'}`).join('; '),
    nonRetryable: true,
    details: [report],
  });
}

/**
 * A step before any resource loads (planning, the lease): its failure fails the run at once, typed as the step's
 * own failure (`CONFIG_INVALID`, `SOURCE_BUSY`, …) rather than wrapped in an activity failure, and the outcome
 * search attribute says `failed`.
 */
async function beforeLoading<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    upsertSearchAttributes([{ key: outcomeSearchAttribute, value: 'failed' }]);
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure) {
      throw ApplicationFailure.create({
        type: cause.type ?? 'UNKNOWN',
        message: cause.message,
        nonRetryable: true,
        details: cause.details ? [...cause.details] : [],
      });
    }
    throw error;
  }
}

/** `ok` when nothing failed; `failed` when nothing succeeded; `partial` otherwise. */
export function decideOutcome(reports: readonly ResourceReport[]): IngestOutcome {
  const failed = reports.filter((r) => r.status === 'failed').length;
  if (failed === 0) return 'ok';
  return reports.some((r) => r.status === 'ok') ? 'partial' : 'failed';
}

/** Runs `task` for every item, at most `limit` at once, in order of the list (runs from before the patch). */
async function runBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Runs tasks at most `limit` at once, in the order they ask for a slot (deterministic: workflow promises are). */
function limiter(limit: number): (task: () => Promise<void>) => Promise<void> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < limit) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      await task();
    } finally {
      // The slot passes to the next waiting task, or is freed.
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}

function describeFailure(error: unknown, deadlinePassed: boolean): { code: string; message: string } {
  if (deadlinePassed && isCancellation(error)) {
    return { code: ingestFailureTypes.timedOut, message: `the run's deadline of ${runDeadline} passed` };
  }
  // A child workflow's failure wraps its activity's, which wraps the typed failure: unwrap to it.
  let cause: unknown = error;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause) {
    cause = cause.cause;
  }
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'UNKNOWN', message: cause.message };
  return { code: 'UNKNOWN', message: error instanceof Error ? error.message : String(error) };
}

/** What the run input asks of one incremental resource (planning checked it against the plan). */
function windowOf(
  input: IngestSourceInput,
  resource: string,
): { window?: IncrementalWindowInput; reset?: true; allowDeletes?: true; acknowledgeSends?: true } {
  const window = input.window?.[resource];
  return {
    ...(window === undefined ? {} : { window }),
    ...(input.reset?.includes(resource) === true ? { reset: true as const } : {}),
    ...(input.allowDeletes?.includes(resource) === true ? { allowDeletes: true as const } : {}),
    ...(input.acknowledgeSends?.includes(resource) === true ? { acknowledgeSends: true as const } : {}),
  };
}

function checkInput(input: unknown): string {
  const source = (input as { source?: unknown } | null)?.source;
  if (typeof source !== 'string' || source.length === 0) {
    throw ApplicationFailure.create({
      type: 'INVALID_INPUT',
      message: 'ingestSource takes {"source": "<name>"} and optionally {"resources": ["<name>", …]}',
      nonRetryable: true,
    });
  }
  return source;
}
