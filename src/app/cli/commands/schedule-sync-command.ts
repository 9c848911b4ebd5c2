/**
 * `ingest schedule sync`: makes Temporal's schedules match the source files — the plan of steps comes from
 * `../schedule-sync.ts` (pure), this applies it and says what it did.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { scanSources } from '../../../config/registry.ts';
import { CliError, type CliContext } from '../context.ts';
import {
  createOptions,
  describeTimes,
  desiredSchedules,
  existingSchedule,
  markerOf,
  planScheduleSync,
  updateOptions,
  type DesiredSchedule,
  type ExistingSchedule,
  type SyncStep,
} from '../schedule-sync.ts';
import { withClient } from '../schedule-client.ts';

/** `ingest schedule sync`: returns the steps it took (or, with `dryRun`, would take). */
export async function syncSchedules(
  context: CliContext,
  options: { readonly dryRun: boolean; readonly taskQueue: string },
): Promise<SyncStep[]> {
  const scan = await scanSources(context.sourcesDir);
  for (const broken of scan.broken) {
    context.warn(
      `warning: ${broken.file} is broken (${broken.code}): ${broken.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  }
  const desired = desiredSchedules(scan, options.taskQueue);
  const brokenSources = new Set(
    scan.broken.flatMap((broken) => (broken.name === undefined ? [] : [broken.name])),
  );
  const deletionsBlocked = scan.broken.some((broken) => broken.name === undefined)
    ? 'a broken file whose source name is unknown might declare it (fix the broken files first)'
    : scan.sources.size === 0
      ? `there is no source in ${scan.dir} (the wrong folder? "ingest schedule delete <source>" deletes one)`
      : undefined;

  return withClient(context, async (client) => {
    const existing = await existingSchedules(client, desired);
    const steps = planScheduleSync({ desired, existing, brokenSources, deletionsBlocked });
    for (const step of steps) {
      if (!options.dryRun) await applyStep(client, step);
      context.print(describeStep(step, options.dryRun));
    }
    const counts = new Map<string, number>();
    for (const step of steps) counts.set(step.kind, (counts.get(step.kind) ?? 0) + 1);
    const summary = ['create', 'update', 'delete', 'unchanged', 'kept', 'conflict']
      .filter((kind) => counts.has(kind))
      .map((kind) => `${counts.get(kind) ?? 0} ${pastTense(kind, options.dryRun)}`)
      .join(', ');
    context.print(`${options.dryRun ? 'dry run: ' : ''}${summary === '' ? 'no schedules' : summary}`);
    const conflicts = steps.filter((step) => step.kind === 'conflict').length;
    if (conflicts > 0 || scan.broken.length > 0) {
      const reasons = [
        ...(conflicts > 0
          ? [`${conflicts} schedule id${conflicts === 1 ? ' is' : 's are'} taken by hand-made schedules`]
          : []),
        ...(scan.broken.length > 0
          ? [`${scan.broken.length} source file${scan.broken.length === 1 ? ' is' : 's are'} broken`]
          : []),
      ];
      throw new CliError(`sync incomplete: ${reasons.join('; ')} (see above)`);
    }
    return steps;
  });
}

/** The schedules sync considers: every one with the marker, and any whose id a file wants. */
async function existingSchedules(
  client: Client,
  desired: readonly DesiredSchedule[],
): Promise<ExistingSchedule[]> {
  const ids = new Set(desired.map((schedule) => schedule.scheduleId));
  for await (const summary of client.schedule.list()) {
    if (markerOf(summary.scheduleId, summary.memo).managed) ids.add(summary.scheduleId);
  }
  const found: ExistingSchedule[] = [];
  // Described one by one (the list is eventually consistent; a description is not).
  for (const scheduleId of [...ids].sort()) {
    try {
      found.push(existingSchedule(await client.schedule.getHandle(scheduleId).describe()));
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
  }
  return found;
}

async function applyStep(client: Client, step: SyncStep): Promise<void> {
  switch (step.kind) {
    case 'create':
      await client.schedule.create(createOptions(step.desired));
      return;
    case 'update':
      await client.schedule
        .getHandle(step.scheduleId)
        .update((previous) => updateOptions(step.desired, previous, step.setPaused));
      return;
    case 'delete':
      await client.schedule.getHandle(step.scheduleId).delete();
      return;
    default:
      return;
  }
}

function pastTense(kind: string, dryRun: boolean): string {
  const words: Record<string, [string, string]> = {
    create: ['created', 'to create'],
    update: ['updated', 'to update'],
    delete: ['deleted', 'to delete'],
    unchanged: ['unchanged', 'unchanged'],
    kept: ['kept', 'kept'],
    conflict: ['conflicting', 'conflicting'],
  };
  const [done, planned] = words[kind] ?? [kind, kind];
  return dryRun ? planned : done;
}

/** One line per step: `created ingest/communications: every 1h; resources call_queues`. */
export function describeStep(step: SyncStep, dryRun = false): string {
  const verb = (done: string, planned: string) => (dryRun ? planned : done);
  switch (step.kind) {
    case 'create':
      return `${verb('created', 'would create')} ${step.scheduleId}: ${summarize(step.desired)}`;
    case 'update':
      return `${verb('updated', 'would update')} ${step.scheduleId} (${step.changes.join(', ')}): ${summarize(step.desired)}${
        step.setPaused === undefined ? '' : step.setPaused ? '; paused' : '; unpaused'
      }`;
    case 'unchanged':
      return `unchanged ${step.scheduleId}${step.pausedByHand ? ' (paused by hand: left paused; "ingest schedule unpause" resumes it)' : ''}`;
    case 'delete':
      return `${verb('deleted', 'would delete')} ${step.scheduleId}: ${
        step.source === undefined ? 'no source' : `the source "${step.source}"`
      } no longer declares a schedule`;
    case 'kept':
      return `kept ${step.scheduleId}: ${step.reason}`;
    case 'conflict':
      return `conflict ${step.scheduleId}: ${step.reason}`;
  }
}

function summarize(desired: DesiredSchedule): string {
  const { schedule } = desired;
  const parts = [describeTimes(desired.definition), `overlap ${schedule.overlap}`];
  if (schedule.resources !== undefined) parts.push(`resources ${schedule.resources.join(', ')}`);
  if (schedule.paused) parts.push('paused by the file');
  return parts.join('; ');
}
