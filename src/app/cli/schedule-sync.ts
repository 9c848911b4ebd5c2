/**
 * What `ingest schedule sync` does, as data: the schedules the source files declare (`desiredSchedules`), the ones
 * Temporal has (`existingSchedule`, from a description), and the steps that make the second match the first
 * (`planScheduleSync`, a pure function). The options sent to Temporal for a schedule are in `./schedule-options.ts`.
 *
 * A schedule made by sync has the id `ingest/<source>` and the schedule memo `{managedBy: 'ingest', source}` — the
 * marker: sync updates and deletes only schedules that carry it, so a schedule made by hand (even one whose id starts
 * with `ingest/`) is never touched. Its action starts `ingestSource` with the input `{source, resources?}` and the
 * workflow id `ingest/<source>/scheduled` (Temporal appends the scheduled time). Temporal keeps a cron expression
 * only compiled into calendars, so the action's memo keeps the expressions as written, and the file's `paused`, as
 * `ingestSchedule: {cron, paused}`: that is how sync compares cron expressions and knows whether the file's `paused`
 * changed (sync applies `paused` when it creates a schedule and when the file's value changes, so a pause by hand
 * survives a sync).
 */
import type { ScheduleDescription, ScheduleOverlapPolicy } from '@temporalio/client';
import { canonicalJson } from '../../config/plan-hash.ts';
import type { SourceScan } from '../../config/registry.ts';
import {
  formatDuration,
  scheduleOverlapPolicies,
  sourceSchedule,
  type ScheduleOverlap,
  type SourceSchedule,
} from '../../config/schedule.ts';
import type { IngestSourceInput } from '../../shared/ingest-types.ts';
import type { UndecodableSchedule } from './schedule-encryption.ts';

/** Schedule ids of sources: `ingest/<source>`. */
export const scheduleIdPrefix = 'ingest/';

/** The workflow every schedule starts. */
export const scheduledWorkflowType = 'ingestSource';

/** The schedule memo that marks a schedule as made by `ingest schedule sync`. */
export const scheduleMarker = { key: 'managedBy', value: 'ingest' } as const;

/** The action memo key that keeps what Temporal does not give back (cron as written, the file's `paused`). */
export const actionMemoKey = 'ingestSchedule';

/** The schedule id of a source. */
export function scheduleIdOf(source: string): string {
  return `${scheduleIdPrefix}${source}`;
}

/** The workflow id (prefix: Temporal appends the scheduled time) of the runs a source's schedule starts. */
export function scheduledWorkflowIdOf(source: string): string {
  return `ingest/${source}/scheduled`;
}

/** What sync compares: the spec and the policies (as the source file gives them) and the action of a schedule. */
export interface ScheduleDefinition extends Pick<
  SourceSchedule,
  'intervals' | 'cron' | 'timezone' | 'jitterMs' | 'overlap' | 'catchupWindowMs'
> {
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly workflowId: string;
  /** The workflow's arguments (one: the run input). */
  readonly args: readonly unknown[];
}

/** A schedule a source file declares. */
export interface DesiredSchedule {
  readonly scheduleId: string;
  readonly source: string;
  /** The source file. */
  readonly file: string;
  readonly schedule: SourceSchedule;
  readonly definition: ScheduleDefinition;
}

/** A schedule Temporal has. */
export interface ExistingSchedule {
  readonly scheduleId: string;
  /** Whether it carries the marker (made by `ingest schedule sync`). */
  readonly managed: boolean;
  /** The source (the marker's, else from the id). */
  readonly source: string | undefined;
  readonly definition: ScheduleDefinition;
  /** Whether it is paused now. */
  readonly paused: boolean;
  /** The file's `paused` at the last sync (undefined: not known). */
  readonly syncedPaused: boolean | undefined;
  /**
   * How its stored payloads differ from what the client would write now (`encryptionDrift`: in clear, or under
   * another key); undefined: they do not. Temporal keeps a schedule's memo as it was created: sync recreates it.
   */
  readonly encryptionDrift?: string | undefined;
}

/** The run input a schedule starts its runs with. */
export function scheduledRunInput(source: string, schedule: SourceSchedule): IngestSourceInput {
  return schedule.resources === undefined ? { source } : { source, resources: [...schedule.resources] };
}

/** The definition of a source's schedule. */
export function desiredDefinition(
  source: string,
  schedule: SourceSchedule,
  taskQueue: string,
): ScheduleDefinition {
  return {
    intervals: schedule.intervals,
    cron: schedule.cron,
    timezone: schedule.timezone,
    jitterMs: schedule.jitterMs,
    overlap: schedule.overlap,
    catchupWindowMs: schedule.catchupWindowMs,
    workflowType: scheduledWorkflowType,
    taskQueue,
    workflowId: scheduledWorkflowIdOf(source),
    args: [scheduledRunInput(source, schedule)],
  };
}

/** The schedules the sources of a scan declare, by schedule id. */
export function desiredSchedules(scan: SourceScan, taskQueue: string): DesiredSchedule[] {
  const desired: DesiredSchedule[] = [];
  for (const [source, registered] of scan.sources) {
    const schedule = sourceSchedule(registered.loaded.config);
    if (schedule === undefined) continue;
    desired.push({
      scheduleId: scheduleIdOf(source),
      source,
      file: registered.file,
      schedule,
      definition: desiredDefinition(source, schedule, taskQueue),
    });
  }
  return desired.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

function overlapOf(policy: ScheduleOverlapPolicy | undefined): ScheduleOverlap {
  const lower = (policy ?? 'SKIP').toLowerCase();
  return (scheduleOverlapPolicies as readonly string[]).includes(lower) ? (lower as ScheduleOverlap) : 'skip';
}

/** Temporal's name of an overlap policy. */
export function temporalOverlap(overlap: ScheduleOverlap): Exclude<ScheduleOverlapPolicy, undefined> {
  return overlap.toUpperCase() as Exclude<ScheduleOverlapPolicy, undefined>;
}

function recordOf(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** What sync kept in the action's memo. */
function actionMemo(description: ScheduleDescription): { cron?: string[]; paused?: boolean } {
  const kept = recordOf(description.action.memo?.[actionMemoKey]);
  const cron = kept?.['cron'];
  const paused = kept?.['paused'];
  return {
    ...(Array.isArray(cron) && cron.every((item) => typeof item === 'string') ? { cron: cron } : {}),
    ...(typeof paused === 'boolean' ? { paused } : {}),
  };
}

/** The source a schedule belongs to, by its marker (else by its id), and whether it carries the marker. */
export function markerOf(
  scheduleId: string,
  memo: Readonly<Record<string, unknown>> | undefined,
): { readonly managed: boolean; readonly source: string | undefined } {
  const managed = memo?.[scheduleMarker.key] === scheduleMarker.value;
  const fromMemo = memo?.['source'];
  if (managed && typeof fromMemo === 'string') return { managed, source: fromMemo };
  return {
    managed,
    source: scheduleId.startsWith(scheduleIdPrefix) ? scheduleId.slice(scheduleIdPrefix.length) : undefined,
  };
}

/** A schedule Temporal describes, in the terms sync compares. */
export function existingSchedule(description: ScheduleDescription): ExistingSchedule {
  const { spec, action, policies, state } = description;
  const kept = actionMemo(description);
  const calendars = spec.calendars?.length ?? 0;
  // Each cron expression is compiled into one calendar: a count that differs means calendars edited in Temporal.
  const cron =
    kept.cron !== undefined && kept.cron.length === calendars
      ? kept.cron
      : Array.from({ length: calendars }, (_, index) => `(calendar ${index + 1}, not from a source file)`);
  return {
    scheduleId: description.scheduleId,
    ...markerOf(description.scheduleId, description.memo),
    definition: {
      intervals: (spec.intervals ?? []).map((interval) => ({
        everyMs: interval.every,
        offsetMs: interval.offset ?? 0,
      })),
      cron,
      timezone: spec.timezone === undefined || spec.timezone === '' ? 'UTC' : spec.timezone,
      jitterMs: spec.jitter ?? 0,
      overlap: overlapOf(policies.overlap),
      catchupWindowMs: policies.catchupWindow,
      workflowType: action.workflowType,
      taskQueue: action.taskQueue,
      workflowId: action.workflowId,
      args: action.args ?? [],
    },
    paused: state.paused,
    syncedPaused: kept.paused,
  };
}

/** The parts of `existing` that differ from `desired`, by their name in the source file (`action`: ours). */
export function definitionChanges(desired: ScheduleDefinition, existing: ScheduleDefinition): string[] {
  const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
  const changes: string[] = [];
  const intervals = (definition: ScheduleDefinition) =>
    definition.intervals.map((interval) => [
      Math.round(interval.everyMs / 1000),
      Math.round(interval.offsetMs / 1000),
    ]);
  if (!same(intervals(desired), intervals(existing))) changes.push('interval');
  if (!same(desired.cron, existing.cron)) changes.push('cron');
  if (desired.timezone !== existing.timezone) changes.push('timezone');
  if (Math.round(desired.jitterMs / 1000) !== Math.round(existing.jitterMs / 1000)) changes.push('jitter');
  if (desired.overlap !== existing.overlap) changes.push('overlap');
  if (Math.round(desired.catchupWindowMs / 1000) !== Math.round(existing.catchupWindowMs / 1000)) {
    changes.push('catchup_window');
  }
  if (!same(desired.args, existing.args)) changes.push('resources');
  if (
    desired.workflowType !== existing.workflowType ||
    desired.taskQueue !== existing.taskQueue ||
    desired.workflowId !== existing.workflowId
  ) {
    changes.push('action');
  }
  return changes;
}

/** One step of a sync. */
export type SyncStep =
  | { readonly kind: 'create'; readonly scheduleId: string; readonly desired: DesiredSchedule }
  | {
      readonly kind: 'update';
      readonly scheduleId: string;
      readonly desired: DesiredSchedule;
      readonly changes: readonly string[];
      /** The state to set: the file's `paused` when it changed since the last sync; undefined: keep the state. */
      readonly setPaused: boolean | undefined;
      /** Deleted and created again, its state kept: the only way to rewrite its memo under today's key. */
      readonly recreate: boolean;
    }
  | {
      readonly kind: 'unchanged';
      readonly scheduleId: string;
      readonly desired: DesiredSchedule;
      /** Paused while the file does not ask for it (paused by hand: left so). */
      readonly pausedByHand: boolean;
    }
  | { readonly kind: 'delete'; readonly scheduleId: string; readonly source: string | undefined }
  | { readonly kind: 'conflict'; readonly scheduleId: string; readonly reason: string }
  | { readonly kind: 'kept'; readonly scheduleId: string; readonly reason: string }
  /** A schedule of our id space the client cannot decode: reported, never touched. */
  | { readonly kind: 'undecodable'; readonly scheduleId: string; readonly schedule: UndecodableSchedule };

export interface SyncInput {
  readonly desired: readonly DesiredSchedule[];
  /** Every schedule Temporal has that sync must consider: the marked ones, and any with a desired id. */
  readonly existing: readonly ExistingSchedule[];
  /** Sources whose files are broken: their schedules are kept as they are (a typo must not delete a schedule). */
  readonly brokenSources: ReadonlySet<string>;
  /**
   * Why nothing may be deleted this time (a broken file whose source name is unknown might declare any schedule; a
   * folder with no source at all is more likely the wrong folder than the end of every schedule); undefined: deletes
   * are allowed.
   */
  readonly deletionsBlocked: string | undefined;
  /** The schedules (of our id space) Temporal has but the client cannot decode: whether they are sync's is unknown. */
  readonly undecodable: readonly UndecodableSchedule[];
}

/** The steps that make Temporal's schedules match the files, in schedule-id order. */
export function planScheduleSync(input: SyncInput): SyncStep[] {
  const steps: SyncStep[] = [];
  const existingById = new Map(input.existing.map((schedule) => [schedule.scheduleId, schedule]));
  const desiredIds = new Set(input.desired.map((desired) => desired.scheduleId));
  const undecodableIds = new Set(input.undecodable.map((schedule) => schedule.scheduleId));
  for (const schedule of input.undecodable) {
    steps.push({ kind: 'undecodable', scheduleId: schedule.scheduleId, schedule });
  }
  for (const desired of input.desired) {
    const existing = existingById.get(desired.scheduleId);
    if (undecodableIds.has(desired.scheduleId)) continue;
    if (existing === undefined) {
      steps.push({ kind: 'create', scheduleId: desired.scheduleId, desired });
      continue;
    }
    if (!existing.managed) {
      steps.push({
        kind: 'conflict',
        scheduleId: desired.scheduleId,
        reason: `a schedule with this id exists but was not made by "ingest schedule sync" (its memo has no ${scheduleMarker.key}: ${scheduleMarker.value}); it is left alone: delete it (temporal schedule delete --schedule-id ${desired.scheduleId}) and sync again`,
      });
      continue;
    }
    const changes = definitionChanges(desired.definition, existing.definition);
    const pausedChanged = existing.syncedPaused !== desired.schedule.paused;
    const setPaused =
      pausedChanged && existing.paused !== desired.schedule.paused ? desired.schedule.paused : undefined;
    if (pausedChanged) changes.push('paused');
    if (existing.encryptionDrift !== undefined) changes.push(existing.encryptionDrift);
    if (changes.length > 0) {
      const recreate = existing.encryptionDrift !== undefined;
      steps.push({ kind: 'update', scheduleId: desired.scheduleId, desired, changes, setPaused, recreate });
    } else {
      steps.push({
        kind: 'unchanged',
        scheduleId: desired.scheduleId,
        desired,
        pausedByHand: existing.paused && !desired.schedule.paused,
      });
    }
  }
  for (const existing of input.existing) {
    if (!existing.managed || desiredIds.has(existing.scheduleId) || undecodableIds.has(existing.scheduleId)) {
      continue;
    }
    if (existing.source !== undefined && input.brokenSources.has(existing.source)) {
      steps.push({
        kind: 'kept',
        scheduleId: existing.scheduleId,
        reason: `the file of source "${existing.source}" is broken: its schedule is kept until the file is fixed`,
      });
    } else if (input.deletionsBlocked !== undefined) {
      steps.push({
        kind: 'kept',
        scheduleId: existing.scheduleId,
        reason: `no source file declares it, but nothing is deleted: ${input.deletionsBlocked}`,
      });
    } else {
      steps.push({ kind: 'delete', scheduleId: existing.scheduleId, source: existing.source });
    }
  }
  return steps.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** A schedule's times in words: `every 1h (offset 15m); cron "0 9 * * *"; in Europe/Paris; jitter 5m`. */
export function describeTimes(definition: ScheduleDefinition): string {
  const parts: string[] = [];
  for (const interval of definition.intervals) {
    parts.push(
      `every ${formatDuration(interval.everyMs)}${interval.offsetMs > 0 ? ` (offset ${formatDuration(interval.offsetMs)})` : ''}`,
    );
  }
  for (const cron of definition.cron) parts.push(`cron "${cron}"`);
  if (definition.cron.length > 0 || definition.timezone !== 'UTC') parts.push(`in ${definition.timezone}`);
  if (definition.jitterMs > 0) parts.push(`jitter ${formatDuration(definition.jitterMs)}`);
  return parts.join('; ');
}
