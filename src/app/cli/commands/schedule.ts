/**
 * `ingest schedule …`: Temporal schedules from the `schedule` key of the source files (docs/config.md, "Schedules").
 *
 * - `sync [--dry-run] [--task-queue <name>]` makes Temporal's schedules match the files: the schedule `ingest/<source>`
 *   of each source that declares one is created or updated; a schedule sync made whose source no longer declares one
 *   is deleted. Only schedules carrying sync's marker (the memo `managedBy: ingest`) are updated or deleted. With
 *   INGEST_CODEC_KEYS, a schedule stored in clear or under another key than the encrypting one is recreated under it
 *   (`../schedule-encryption.ts`); a schedule of our ids the CLI cannot decode is reported and never touched.
 * - `list`, `describe <source>`, `trigger <source>`, `backfill <source> --start <iso> --end <iso>`,
 *   `pause <source> [--note <text>]`, `unpause <source>`, `delete <source>` act on the schedule of one source.
 *
 * The rules of sync, and the ids and memos it writes, are in `../schedule-sync.ts`; the command that applies them in
 * `./schedule-sync-command.ts`; the Temporal access they share in `../schedule-client.ts`.
 */
import type { Client } from '@temporalio/client';
import { Command, Option } from 'commander';
import { formatDuration, scheduleOverlapPolicies, type ScheduleOverlap } from '../../../config/schedule.ts';
import { taskQueue as defaultTaskQueue } from '../../../shared/names.ts';
import { CliError, type CliContext, type RegisterCommand } from '../context.ts';
import {
  describeUndecodable,
  listDefensively,
  type ListedSchedule,
  type UndecodableSchedule,
} from '../schedule-encryption.ts';
import {
  definitionChanges,
  describeTimes,
  desiredSchedules,
  existingSchedule,
  markerOf,
  scheduleIdPrefix,
  temporalOverlap,
  type ExistingSchedule,
} from '../schedule-sync.ts';
import { describeOrFail, scanQuietly, withClient } from '../schedule-client.ts';
import { syncSchedules } from './schedule-sync-command.ts';

/** Adds `ingest schedule` and its sub-commands. */
export const registerSchedule: RegisterCommand = (program, context) => {
  const schedule = program
    .command('schedule')
    .description(
      'Temporal schedules declared by the `schedule` key of the source files (ids ingest/<source>)',
    );

  schedule
    .command('sync')
    .description(
      'create, update and delete schedules so that Temporal matches the source files (and INGEST_CODEC_KEYS: run it ' +
        'after turning encryption on and after a key rotation)',
    )
    .option('--dry-run', 'print what would change, change nothing')
    .option('--task-queue <name>', 'the task queue the scheduled runs go to', defaultTaskQueue)
    .action(async (options: { dryRun?: boolean; taskQueue: string }) => {
      await syncSchedules(context(), { dryRun: options.dryRun === true, taskQueue: options.taskQueue });
    });

  schedule
    .command('list')
    .description('the schedules made by sync, and the declared ones Temporal does not have yet')
    .action(async () => {
      await listSchedules(context());
    });

  schedule
    .command('describe')
    .description(
      "a source's schedule: spec, policies, state, next and recent runs, and whether it matches its file",
    )
    .argument('<source>', 'the source')
    .action(async (source: string) => {
      await describeSchedule(context(), source);
    });

  schedule
    .command('trigger')
    .description("start a run of the source's schedule now")
    .argument('<source>', 'the source')
    .addOption(overlapOption('the overlap policy for this run (default: the schedule\u2019s)'))
    .action(async (source: string, options: { overlap?: ScheduleOverlap }) => {
      await triggerSchedule(context(), source, options.overlap);
    });

  schedule
    .command('backfill')
    .description('take now the runs the schedule would have started between --start and --end')
    .argument('<source>', 'the source')
    .requiredOption('--start <iso>', 'start of the period (ISO 8601, e.g. 2026-01-01T00:00:00Z)')
    .requiredOption('--end <iso>', 'end of the period (ISO 8601)')
    .addOption(overlapOption('the overlap policy for these runs (default: the schedule\u2019s)'))
    .action(async (source: string, options: { start: string; end: string; overlap?: ScheduleOverlap }) => {
      await backfillSchedule(context(), source, options);
    });

  schedule
    .command('pause')
    .description("pause the source's schedule (a later sync keeps it paused)")
    .argument('<source>', 'the source')
    .option('--note <text>', 'why (shown by describe and in the Temporal UI)')
    .action(async (source: string, options: { note?: string }) => {
      await pauseSchedule(context(), source, true, options.note);
    });

  schedule
    .command('unpause')
    .description("unpause the source's schedule")
    .argument('<source>', 'the source')
    .option('--note <text>', 'why')
    .action(async (source: string, options: { note?: string }) => {
      await pauseSchedule(context(), source, false, options.note);
    });

  schedule
    .command('delete')
    .description("delete the source's schedule (one made by sync; runs it started are not touched)")
    .argument('<source>', 'the source')
    .action(async (source: string) => {
      await deleteSchedule(context(), source);
    });
};

/**
 * Runs `ingest schedule <argv…>` in this process with `context` (tests, and anything that embeds the CLI): the
 * command's output goes to the context, a usage error is a `CliError` (exit code 2).
 */
export async function runSchedule(argv: readonly string[], context: CliContext): Promise<void> {
  const program = new Command('ingest').exitOverride().configureOutput({
    writeOut: (text) => context.print(text.replace(/\n$/, '')),
    writeErr: (text) => context.warn(text.replace(/\n$/, '')),
    // A usage error becomes the CliError below: printed once, by whoever catches it.
    outputError: () => undefined,
  });
  registerSchedule(program, () => context);
  try {
    await program.parseAsync(['schedule', ...argv], { from: 'user' });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      if (code === 'commander.helpDisplayed' || code === 'commander.version') return;
      throw new CliError((error as Error).message.replace(/^error: /, ''), 2);
    }
    throw error;
  }
}

function overlapOption(description: string): Option {
  return new Option('--overlap <policy>', description).choices(scheduleOverlapPolicies);
}

// --- list, describe -------------------------------------------------------------------------------------------------

async function listSchedules(context: CliContext): Promise<void> {
  const scan = await scanQuietly(context);
  const desired = scan === undefined ? [] : desiredSchedules(scan, defaultTaskQueue);
  await withClient(context, async (client) => {
    const listed: ListedSchedule[] = [];
    // Of our id space, the ones whose memo (the marker) this client cannot decode: shown, with why.
    const undecodable: UndecodableSchedule[] = [];
    for await (const schedule of listDefensively(client, context.settings.codec)) {
      if ('undecodable' in schedule) {
        if (schedule.undecodable.scheduleId.startsWith(scheduleIdPrefix))
          undecodable.push(schedule.undecodable);
      } else if (markerOf(schedule.scheduleId, schedule.memo).managed) listed.push(schedule);
    }
    const lines = new Map<string, string>();
    for (const schedule of listed) {
      const source = markerOf(schedule.scheduleId, schedule.memo).source ?? '?';
      const declared = desired.some((wanted) => wanted.scheduleId === schedule.scheduleId);
      const next = schedule.nextActionTimes[0];
      const last = schedule.recentActions.at(-1);
      lines.set(
        schedule.scheduleId,
        [
          schedule.scheduleId,
          `source ${source}`,
          schedule.paused ? `paused${schedule.note ? ` (${schedule.note})` : ''}` : 'active',
          `next ${next === undefined ? '-' : next.toISOString()}`,
          `last ${last === undefined ? '-' : last.takenAt.toISOString()}`,
          ...(declared ? [] : ['not declared by any source file (sync deletes it)']),
        ].join('  '),
      );
    }
    for (const schedule of undecodable) {
      lines.set(schedule.scheduleId, `${schedule.scheduleId}  ${describeUndecodable(schedule)}`);
    }
    if (lines.size === 0 && desired.length === 0) {
      context.print('no schedules: no source file declares one, and Temporal has none made by sync');
      return;
    }
    for (const id of [...lines.keys()].sort()) context.print(lines.get(id) ?? id);
    for (const schedule of desired) {
      if (lines.has(schedule.scheduleId)) continue;
      context.print(
        `${schedule.scheduleId}  source ${schedule.source}  declared in ${schedule.file}, not in Temporal yet (run "ingest schedule sync")`,
      );
    }
  });
}

async function describeSchedule(context: CliContext, source: string): Promise<void> {
  await withClient(context, async (client) => {
    const { description } = await describeOrFail(client, context, source);
    const existing = existingSchedule(description);
    const { info, state, policies, action } = description;
    const lines: [string, string][] = [
      [
        'schedule',
        `${description.scheduleId}${existing.managed ? ' (made by ingest schedule sync)' : ' (not made by sync: sync never changes it)'}`,
      ],
      ['source', existing.source ?? '?'],
      ['times', describeTimes(existing.definition) || '(none)'],
      [
        'policies',
        `overlap ${existing.definition.overlap}; catch-up window ${formatDuration(policies.catchupWindow)}${policies.pauseOnFailure ? '; pause on failure' : ''}`,
      ],
      ['state', state.paused ? `paused${state.note ? `: ${state.note}` : ''}` : 'active'],
      [
        'action',
        `${action.workflowType} on task queue ${action.taskQueue}, workflow id ${action.workflowId}-<time>, input ${JSON.stringify(action.args?.[0] ?? null)}`,
      ],
      [
        'counts',
        `${info.numActionsTaken} run(s) started, ${info.numActionsSkippedOverlap} skipped (overlap), ${info.numActionsMissedCatchupWindow} missed (catch-up window)`,
      ],
      ['file', await fileStatus(context, existing)],
    ];
    for (const [label, text] of lines) context.print(`${label.padEnd(10)}${text}`);
    context.print('next runs');
    if (info.nextActionTimes.length === 0) context.print('  (none)');
    for (const time of info.nextActionTimes.slice(0, 5)) context.print(`  ${time.toISOString()}`);
    context.print('recent runs');
    if (info.recentActions.length === 0) context.print('  (none)');
    for (const recent of info.recentActions.slice(-10)) {
      const status = await workflowStatus(client, recent.action.workflow);
      context.print(`  ${recent.takenAt.toISOString()}  ${recent.action.workflow.workflowId}  ${status}`);
    }
  });
}

/** Whether a schedule matches what its source file declares. */
async function fileStatus(context: CliContext, existing: ExistingSchedule): Promise<string> {
  const scan = await scanQuietly(context);
  if (scan === undefined || existing.source === undefined)
    return 'unknown (the sources folder cannot be read)';
  const desired = desiredSchedules(scan, existing.definition.taskQueue).find(
    (schedule) => schedule.scheduleId === existing.scheduleId,
  );
  if (desired === undefined) return 'no source file declares it (sync deletes it)';
  const changes = definitionChanges(desired.definition, existing.definition);
  return changes.length === 0
    ? `matches ${desired.file}`
    : `differs from ${desired.file} in ${changes.join(', ')} (run "ingest schedule sync")`;
}

async function workflowStatus(
  client: Client,
  workflow: { readonly workflowId: string; readonly firstExecutionRunId: string },
): Promise<string> {
  try {
    const described = await client.workflow
      .getHandle(workflow.workflowId, undefined, { firstExecutionRunId: workflow.firstExecutionRunId })
      .describe();
    return described.status.name;
  } catch {
    return 'status unknown';
  }
}

// --- trigger, backfill, pause, delete -------------------------------------------------------------------------------

async function triggerSchedule(
  context: CliContext,
  source: string,
  overlap: ScheduleOverlap | undefined,
): Promise<void> {
  await withClient(context, async (client) => {
    const { handle, description } = await describeOrFail(client, context, source);
    const policy = overlap ?? existingSchedule(description).definition.overlap;
    await handle.trigger(temporalOverlap(policy));
    const before = description.info;
    // Temporal takes the action asynchronously: wait a little for it, to say what became of it.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const { info } = await handle.describe();
      if (info.numActionsTaken > before.numActionsTaken) {
        const started = info.recentActions.at(-1)?.action.workflow.workflowId;
        context.print(`triggered ${handle.scheduleId}: started ${started ?? 'a run'}`);
        return;
      }
      if (info.numActionsSkippedOverlap > before.numActionsSkippedOverlap) {
        context.print(
          `triggered ${handle.scheduleId}: skipped, a run it started is still running (overlap ${policy}; --overlap allow_all starts one anyway, which fails with SOURCE_BUSY while the other runs)`,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    context.print(
      `triggered ${handle.scheduleId}: Temporal has not reported the run yet ("ingest schedule describe ${source}" shows it)`,
    );
  });
}

function parseInstant(text: string, option: string): Date {
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new CliError(`${option} "${text}" is not an ISO 8601 time (e.g. 2026-01-01T00:00:00Z)`, 2);
  }
  return date;
}

async function backfillSchedule(
  context: CliContext,
  source: string,
  options: { readonly start: string; readonly end: string; readonly overlap?: ScheduleOverlap | undefined },
): Promise<void> {
  const start = parseInstant(options.start, '--start');
  const end = parseInstant(options.end, '--end');
  if (start.getTime() >= end.getTime()) throw new CliError('--start must be before --end', 2);
  await withClient(context, async (client) => {
    const { handle, description } = await describeOrFail(client, context, source);
    const policy = options.overlap ?? existingSchedule(description).definition.overlap;
    await handle.backfill({ start, end, overlap: temporalOverlap(policy) });
    context.print(
      `backfill of ${handle.scheduleId} from ${start.toISOString()} to ${end.toISOString()} requested: Temporal starts the runs due in that period now (overlap ${policy})`,
    );
  });
}

async function pauseSchedule(
  context: CliContext,
  source: string,
  pause: boolean,
  note: string | undefined,
): Promise<void> {
  await withClient(context, async (client) => {
    const { handle, description } = await describeOrFail(client, context, source);
    if (description.state.paused === pause) {
      context.print(`${handle.scheduleId} is already ${pause ? 'paused' : 'active'}`);
      return;
    }
    if (pause) await handle.pause(note ?? 'paused with "ingest schedule pause"');
    else await handle.unpause(note ?? 'unpaused with "ingest schedule unpause"');
    context.print(
      pause
        ? `paused ${handle.scheduleId} (a sync keeps it paused; "ingest schedule unpause ${source}" resumes it)`
        : `unpaused ${handle.scheduleId}`,
    );
  });
}

async function deleteSchedule(context: CliContext, source: string): Promise<void> {
  await withClient(context, async (client) => {
    const { handle, description } = await describeOrFail(client, context, source);
    if (!markerOf(description.scheduleId, description.memo).managed) {
      throw new CliError(
        `${handle.scheduleId} was not made by "ingest schedule sync" (its memo has no managedBy: ingest): delete it with "temporal schedule delete --schedule-id ${handle.scheduleId}"`,
      );
    }
    await handle.delete();
    context.print(`deleted ${handle.scheduleId} (runs it started are not touched)`);
    const scan = await scanQuietly(context);
    if (scan?.sources.get(source)?.loaded.config.schedule !== undefined) {
      context.warn(
        `note: the source "${source}" still declares a schedule: the next "ingest schedule sync" creates it again (remove the key, or set paused: true)`,
      );
    }
  });
}
