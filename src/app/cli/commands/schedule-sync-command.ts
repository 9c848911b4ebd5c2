/**
 * `ingest schedule sync`: makes Temporal's schedules match the source files — the plan of steps comes from
 * `../schedule-sync.ts` (pure), this applies it and says what it did.
 */
import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';
import { scanSources } from '../../../config/registry.ts';
import type { CodecKeyring } from '../../codec/keys.ts';
import { CliError, type CliContext } from '../context.ts';
import {
  describeDefensively,
  describeUndecodable,
  encryptionDrift,
  listDefensively,
  type UndecodableSchedule,
} from '../schedule-encryption.ts';
import { createOptions, recreateOptions, updateOptions } from '../schedule-options.ts';
import {
  describeTimes,
  desiredSchedules,
  existingSchedule,
  markerOf,
  planScheduleSync,
  scheduleIdPrefix,
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

  const keys = context.settings.codec;
  return withClient(context, async (client) => {
    const { existing, undecodable } = await existingSchedules(client, desired, keys);
    const steps = planScheduleSync({ desired, existing, brokenSources, deletionsBlocked, undecodable });
    for (const step of steps) {
      if (!options.dryRun) await applyStep(client, step);
      context.print(describeStep(step, options.dryRun));
    }
    const counts = new Map<string, number>();
    for (const step of steps) counts.set(step.kind, (counts.get(step.kind) ?? 0) + 1);
    const summary = ['create', 'update', 'delete', 'unchanged', 'kept', 'conflict', 'undecodable']
      .filter((kind) => counts.has(kind))
      .map((kind) => `${counts.get(kind) ?? 0} ${pastTense(kind, options.dryRun)}`)
      .join(', ');
    context.print(`${options.dryRun ? 'dry run: ' : ''}${summary === '' ? 'no schedules' : summary}`);
    const conflicts = steps.filter((step) => step.kind === 'conflict').length;
    const unreadable = steps.filter((step) => step.kind === 'undecodable').length;
    if (conflicts > 0 || unreadable > 0 || scan.broken.length > 0) {
      const reasons = [
        ...(conflicts > 0
          ? [`${conflicts} schedule id${conflicts === 1 ? ' is' : 's are'} taken by hand-made schedules`]
          : []),
        ...(unreadable > 0
          ? [`${unreadable} schedule${unreadable === 1 ? '' : 's'} cannot be decoded with INGEST_CODEC_KEYS`]
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

/**
 * The schedules sync considers: every one with the marker, and any whose id a file wants; and the ones of our id space
 * the client cannot decode (their marker unreadable), to report and leave alone.
 */
async function existingSchedules(
  client: Client,
  desired: readonly DesiredSchedule[],
  keys: CodecKeyring | undefined,
): Promise<{ existing: ExistingSchedule[]; undecodable: UndecodableSchedule[] }> {
  const ids = new Set(desired.map((schedule) => schedule.scheduleId));
  for await (const listed of listDefensively(client, keys)) {
    if ('undecodable' in listed) {
      if (listed.undecodable.scheduleId.startsWith(scheduleIdPrefix)) ids.add(listed.undecodable.scheduleId);
    } else if (markerOf(listed.scheduleId, listed.memo).managed) ids.add(listed.scheduleId);
  }
  const existing: ExistingSchedule[] = [];
  const undecodable: UndecodableSchedule[] = [];
  // Described one by one (the list is eventually consistent; a description is not).
  for (const scheduleId of [...ids].sort()) {
    const found = await describeDefensively(client, scheduleId, keys);
    if (found === undefined) continue;
    if ('undecodable' in found) undecodable.push(found.undecodable);
    else {
      existing.push({
        ...existingSchedule(found.description),
        encryptionDrift: encryptionDrift(found.stored, keys?.encryptWith),
      });
    }
  }
  return { existing, undecodable };
}

async function applyStep(client: Client, step: SyncStep): Promise<void> {
  switch (step.kind) {
    case 'create':
      await client.schedule.create(createOptions(step.desired));
      return;
    case 'update': {
      const handle = client.schedule.getHandle(step.scheduleId);
      if (!step.recreate) {
        await handle.update((previous) => updateOptions(step.desired, previous, step.setPaused));
        return;
      }
      // Temporal keeps a schedule's memo as created: rewriting it under today's key takes a new schedule. An
      // interruption between the two steps leaves none, which the next sync creates.
      const options = recreateOptions(step.desired, await handle.describe(), step.setPaused);
      await handle.delete();
      await createAgain(client, options);
      return;
    }
    case 'delete':
      await client.schedule.getHandle(step.scheduleId).delete();
      return;
    default:
      return;
  }
}

/** Creates a schedule just deleted: a server may take a moment to let its id go. */
async function createAgain(client: Client, options: ScheduleOptions): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.schedule.create(options);
      return;
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
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
    undecodable: ['cannot decode', 'cannot decode'],
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
    case 'update': {
      const done = step.recreate ? verb('recreated', 'would recreate') : verb('updated', 'would update');
      return `${done} ${step.scheduleId} (${step.changes.join(', ')}): ${summarize(step.desired)}${
        step.setPaused === undefined ? '' : step.setPaused ? '; paused' : '; unpaused'
      }`;
    }
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
    case 'undecodable':
      return (
        `${step.scheduleId}: ${describeUndecodable(step.schedule)}; left as it is (its runs fail until a worker has ` +
        `the key) — add the key to INGEST_CODEC_KEYS and sync again, or delete it (temporal schedule delete ` +
        `--schedule-id ${step.scheduleId}) and sync to create it anew`
      );
  }
}

function summarize(desired: DesiredSchedule): string {
  const { schedule } = desired;
  const parts = [describeTimes(desired.definition), `overlap ${schedule.overlap}`];
  if (schedule.resources !== undefined) parts.push(`resources ${schedule.resources.join(', ')}`);
  if (schedule.paused) parts.push('paused by the file');
  return parts.join('; ');
}
