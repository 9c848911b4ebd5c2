/**
 * What Temporal gets for a schedule `ingest schedule sync` writes: the spec, the action (with the action memo that
 * keeps the cron expressions as written and the file's `paused`), the policies, the marker memo and the state — for a
 * create, an update, and a re-creation (the rules are in `./schedule-sync.ts`).
 */
import type {
  ScheduleDescription,
  ScheduleOptions,
  ScheduleSpec,
  ScheduleUpdateOptions,
} from '@temporalio/client';
import { actionMemoKey, scheduleMarker, temporalOverlap, type DesiredSchedule } from './schedule-sync.ts';

/** The spec, action and policies sent to Temporal for a desired schedule. */
function scheduleParts(desired: DesiredSchedule, paused: boolean) {
  const { definition } = desired;
  const spec: ScheduleSpec = {
    intervals: definition.intervals.map((interval) => ({
      every: interval.everyMs,
      offset: interval.offsetMs,
    })),
    cronExpressions: [...definition.cron],
    timezone: definition.timezone,
    jitter: definition.jitterMs,
  };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: definition.workflowType,
    taskQueue: definition.taskQueue,
    workflowId: definition.workflowId,
    args: [...definition.args],
    memo: { [actionMemoKey]: { cron: [...definition.cron], paused } },
  };
  const policies = {
    overlap: temporalOverlap(definition.overlap),
    catchupWindow: definition.catchupWindowMs,
  };
  return { spec, action, policies };
}

const filePausedNote = 'paused by its source file (schedule.paused: true)';

/** What `client.schedule.create` gets for a desired schedule. */
export function createOptions(desired: DesiredSchedule): ScheduleOptions {
  const paused = desired.schedule.paused;
  return {
    scheduleId: desired.scheduleId,
    ...scheduleParts(desired, paused),
    memo: { [scheduleMarker.key]: scheduleMarker.value, source: desired.source },
    state: paused ? { paused: true, note: filePausedNote } : { paused: false },
  };
}

/** What a schedule's update returns, from its current description and the update step. */
export function updateOptions(
  desired: DesiredSchedule,
  previous: ScheduleDescription,
  setPaused: boolean | undefined,
): ScheduleUpdateOptions {
  const parts = scheduleParts(desired, desired.schedule.paused);
  const paused = setPaused ?? previous.state.paused;
  const note =
    setPaused === undefined
      ? previous.state.note
      : setPaused
        ? filePausedNote
        : 'unpaused by its source file (schedule.paused: false)';
  return {
    ...parts,
    policies: { ...parts.policies, pauseOnFailure: previous.policies.pauseOnFailure },
    state: {
      paused,
      ...(note === undefined ? {} : { note }),
      ...(previous.state.remainingActions === undefined
        ? {}
        : { remainingActions: previous.state.remainingActions }),
    },
  };
}

/**
 * What `client.schedule.create` gets to create a schedule again (`recreate`): the desired one, with the state and the
 * pause-on-failure policy of the schedule it replaces, as an update would keep them.
 */
export function recreateOptions(
  desired: DesiredSchedule,
  previous: ScheduleDescription,
  setPaused: boolean | undefined,
): ScheduleOptions {
  const created = createOptions(desired);
  const { state } = updateOptions(desired, previous, setPaused);
  return {
    ...created,
    policies: { ...created.policies, pauseOnFailure: previous.policies.pauseOnFailure },
    ...(state === undefined ? {} : { state }),
  };
}
