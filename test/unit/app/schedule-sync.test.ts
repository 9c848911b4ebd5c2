import type { ScheduleDescription } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { encryptionDrift } from '../../../src/app/cli/schedule-encryption.ts';
import { createOptions, recreateOptions, updateOptions } from '../../../src/app/cli/schedule-options.ts';
import {
  definitionChanges,
  desiredDefinition,
  existingSchedule,
  planScheduleSync,
  scheduleIdOf,
  type DesiredSchedule,
  type ExistingSchedule,
  type SyncInput,
} from '../../../src/app/cli/schedule-sync.ts';
import { sourceSchedule, type ScheduleConfig, type SourceSchedule } from '../../../src/config/schedule.ts';

function scheduleOf(config: ScheduleConfig): SourceSchedule {
  const schedule = sourceSchedule({ schedule: config });
  if (schedule === undefined) throw new Error('no schedule');
  return schedule;
}

function desired(source: string, config: ScheduleConfig, taskQueue = 'ingest'): DesiredSchedule {
  const schedule = scheduleOf(config);
  return {
    scheduleId: scheduleIdOf(source),
    source,
    file: `/sources/${source}.yaml`,
    schedule,
    definition: desiredDefinition(source, schedule, taskQueue),
  };
}

/** What Temporal would hold after sync created `from` (and, by default, nothing changed since). */
function existing(from: DesiredSchedule, overrides: Partial<ExistingSchedule> = {}): ExistingSchedule {
  return {
    scheduleId: from.scheduleId,
    managed: true,
    source: from.source,
    definition: from.definition,
    paused: from.schedule.paused,
    syncedPaused: from.schedule.paused,
    ...overrides,
  };
}

function plan(input: Partial<SyncInput>) {
  return planScheduleSync({
    desired: [],
    existing: [],
    brokenSources: new Set(),
    deletionsBlocked: undefined,
    undecodable: [],
    ...input,
  }).map((step) => {
    const { desired: _desired, ...rest } = step as typeof step & { desired?: unknown };
    return rest;
  });
}

describe('planScheduleSync', () => {
  const hourly = desired('communications', { interval: '1h', resources: ['call_queues'] });

  it('creates what Temporal lacks, leaves what matches', () => {
    const daily = desired('messaging', { cron: '0 6 * * *' });
    expect(plan({ desired: [hourly, daily], existing: [existing(daily)] })).toEqual([
      { kind: 'create', scheduleId: 'ingest/communications' },
      { kind: 'unchanged', scheduleId: 'ingest/messaging', pausedByHand: false },
    ]);
  });

  it('updates what differs, naming each difference', () => {
    const before = desired('communications', { interval: '1h' }, 'other-queue');
    const after = desired('communications', {
      interval: '30m',
      cron: '@daily',
      timezone: 'Europe/Paris',
      jitter: '1m',
      overlap: 'buffer_one',
      catchup_window: '1h',
      resources: ['call_queues'],
    });
    expect(plan({ desired: [after], existing: [existing(before)] })).toEqual([
      {
        kind: 'update',
        scheduleId: 'ingest/communications',
        changes: [
          'interval',
          'cron',
          'timezone',
          'jitter',
          'overlap',
          'catchup_window',
          'resources',
          'action',
        ],
        setPaused: undefined,
        recreate: false,
      },
    ]);
  });

  it('recreates a schedule stored in clear or under another key, naming the change', () => {
    const drift = 'encryption (key 2026-06 → key 2026-12)';
    expect(plan({ desired: [hourly], existing: [existing(hourly, { encryptionDrift: drift })] })).toEqual([
      {
        kind: 'update',
        scheduleId: 'ingest/communications',
        changes: [drift],
        setPaused: undefined,
        recreate: true,
      },
    ]);
  });

  it('reports a schedule it cannot decode, and neither creates, updates nor deletes it', () => {
    const daily = desired('messaging', { cron: '0 6 * * *' });
    const unreadable = (scheduleId: string) => ({
      scheduleId,
      keyIds: ['2026-06'],
      reason: 'lacks that key',
    });
    const steps = plan({
      desired: [hourly, daily],
      // Its marker unreadable, its id declared (communications) or not (old).
      existing: [existing(daily)],
      undecodable: [unreadable('ingest/communications'), unreadable('ingest/old')],
    });
    expect(steps.map((step) => [step.kind, step.scheduleId])).toEqual([
      ['undecodable', 'ingest/communications'],
      ['unchanged', 'ingest/messaging'],
      ['undecodable', 'ingest/old'],
    ]);
  });

  it('deletes only the schedules it made, and only when no file declares them', () => {
    const gone = existing(desired('old', { interval: '1h' }));
    const handMade = existing(desired('manual', { interval: '1h' }), { managed: false });
    expect(plan({ desired: [hourly], existing: [existing(hourly), gone, handMade] })).toEqual([
      { kind: 'unchanged', scheduleId: 'ingest/communications', pausedByHand: false },
      { kind: 'delete', scheduleId: 'ingest/old', source: 'old' },
    ]);
  });

  it('never takes over a hand-made schedule with the id it wants', () => {
    const steps = plan({ desired: [hourly], existing: [existing(hourly, { managed: false })] });
    expect(steps).toEqual([
      {
        kind: 'conflict',
        scheduleId: 'ingest/communications',
        reason: expect.stringContaining('was not made by "ingest schedule sync"') as unknown,
      },
    ]);
  });

  it('keeps the schedule of a broken file, and deletes nothing when deletions are blocked', () => {
    const broken = existing(desired('broken', { interval: '1h' }));
    const other = existing(desired('other', { interval: '1h' }));
    expect(plan({ existing: [broken, other], brokenSources: new Set(['broken']) })).toEqual([
      {
        kind: 'kept',
        scheduleId: 'ingest/broken',
        reason: 'the file of source "broken" is broken: its schedule is kept until the file is fixed',
      },
      { kind: 'delete', scheduleId: 'ingest/other', source: 'other' },
    ]);
    expect(plan({ existing: [other], deletionsBlocked: 'the folder is empty' })).toEqual([
      {
        kind: 'kept',
        scheduleId: 'ingest/other',
        reason: 'no source file declares it, but nothing is deleted: the folder is empty',
      },
    ]);
  });

  describe('paused', () => {
    const paused = desired('communications', { interval: '1h', paused: true });

    it('is applied when the file changes it', () => {
      expect(plan({ desired: [paused], existing: [existing(hourly)] })[0]).toMatchObject({
        kind: 'update',
        changes: ['resources', 'paused'],
        setPaused: true,
      });
      const unpaused = desired('communications', { interval: '1h' });
      expect(plan({ desired: [unpaused], existing: [existing(paused)] })[0]).toMatchObject({
        kind: 'update',
        changes: ['paused'],
        setPaused: false,
      });
    });

    it('is left alone when the file did not change it (a pause by hand survives a sync)', () => {
      expect(plan({ desired: [hourly], existing: [existing(hourly, { paused: true })] })).toEqual([
        { kind: 'unchanged', scheduleId: 'ingest/communications', pausedByHand: true },
      ]);
      expect(plan({ desired: [paused], existing: [existing(paused, { paused: false })] })).toEqual([
        { kind: 'unchanged', scheduleId: 'ingest/communications', pausedByHand: false },
      ]);
    });

    it('records the file value without touching the state when the state already matches', () => {
      expect(
        plan({ desired: [paused], existing: [existing(paused, { syncedPaused: false, paused: true })] })[0],
      ).toMatchObject({ kind: 'update', changes: ['paused'], setPaused: undefined });
    });
  });
});

/** A description as Temporal returns it for a schedule sync created from `from`. */
function description(from: DesiredSchedule, edit: (d: ScheduleDescription) => void = () => undefined) {
  const options = createOptions(from);
  const { definition } = from;
  const described = {
    scheduleId: from.scheduleId,
    spec: {
      // Temporal compiles each cron expression into a calendar, and leaves a zero jitter out.
      calendars: definition.cron.map(() => ({})),
      intervals: definition.intervals.map((interval) => ({
        every: interval.everyMs,
        offset: interval.offsetMs,
      })),
      timezone: definition.timezone,
      ...(definition.jitterMs === 0 ? {} : { jitter: definition.jitterMs }),
    },
    action: { ...options.action },
    policies: { ...options.policies, pauseOnFailure: false },
    memo: options.memo,
    state: { paused: options.state?.paused ?? false, note: options.state?.note },
    info: {},
  } as unknown as ScheduleDescription;
  edit(described);
  return described;
}

describe('existingSchedule', () => {
  const full = desired('communications', {
    interval: '1h',
    offset: '5m',
    cron: ['0 9 * * MON-FRI', '@daily'],
    timezone: 'Europe/Paris',
    jitter: '30s',
    overlap: 'allow_all',
    catchup_window: '10m',
    paused: true,
    resources: ['call_queues'],
  });

  it('reads back what sync created as unchanged', () => {
    const read = existingSchedule(description(full));
    expect(read).toEqual(existing(full));
    expect(definitionChanges(full.definition, read.definition)).toEqual([]);
    const plain = desired('communications', { interval: '1h' });
    expect(definitionChanges(plain.definition, existingSchedule(description(plain)).definition)).toEqual([]);
  });

  it('sees calendars edited in Temporal as a cron change', () => {
    const edited = existingSchedule(
      description(full, (d) => {
        d.spec.calendars = [...(d.spec.calendars ?? []), ...(d.spec.calendars ?? [])];
      }),
    );
    expect(definitionChanges(full.definition, edited.definition)).toEqual(['cron']);
  });

  it('reads the marker: a schedule without it is not managed', () => {
    const handMade = existingSchedule(
      description(full, (d) => {
        d.memo = {};
        d.action.memo = {};
      }),
    );
    expect(handMade).toMatchObject({ managed: false, source: 'communications', syncedPaused: undefined });
  });
});

describe('what Temporal gets', () => {
  it('create: the spec, the action with its memo, the policies, the marker and the state', () => {
    const options = createOptions(
      desired(
        'communications',
        { interval: '1h', cron: '@daily', paused: true, resources: ['call_queues'] },
        'q',
      ),
    );
    expect(options).toEqual({
      scheduleId: 'ingest/communications',
      spec: {
        intervals: [{ every: 3_600_000, offset: 0 }],
        cronExpressions: ['@daily'],
        timezone: 'UTC',
        jitter: 0,
      },
      action: {
        type: 'startWorkflow',
        workflowType: 'ingestSource',
        taskQueue: 'q',
        workflowId: 'ingest/communications/scheduled',
        args: [{ source: 'communications', resources: ['call_queues'] }],
        memo: { ingestSchedule: { cron: ['@daily'], paused: true } },
      },
      policies: { overlap: 'SKIP', catchupWindow: 365 * 86_400_000 },
      memo: { managedBy: 'ingest', source: 'communications' },
      state: { paused: true, note: 'paused by its source file (schedule.paused: true)' },
    });
  });

  it('update: keeps the state unless the file changed paused', () => {
    const wanted = desired('communications', { interval: '2h' });
    const previous = description(desired('communications', { interval: '1h' }), (d) => {
      d.state = { paused: true, note: 'by hand', remainingActions: 3 };
      d.policies.pauseOnFailure = true;
    });
    expect(updateOptions(wanted, previous, undefined)).toMatchObject({
      spec: { intervals: [{ every: 7_200_000, offset: 0 }] },
      policies: { overlap: 'SKIP', pauseOnFailure: true },
      state: { paused: true, note: 'by hand', remainingActions: 3 },
    });
    expect(updateOptions(wanted, previous, false).state).toEqual({
      paused: false,
      note: 'unpaused by its source file (schedule.paused: false)',
      remainingActions: 3,
    });
  });
});

describe('encryptionDrift', () => {
  it('names payloads stored in clear or under another key than the one the client encrypts with', () => {
    expect(encryptionDrift({ keyIds: [], clear: 4 }, '2026-12')).toBe('encryption (in clear → key 2026-12)');
    expect(encryptionDrift({ keyIds: ['2026-06'], clear: 0 }, '2026-12')).toBe(
      'encryption (key 2026-06 → key 2026-12)',
    );
    expect(encryptionDrift({ keyIds: ['2026-06', '2026-12'], clear: 1 }, '2026-12')).toBe(
      'encryption (in clear, key 2026-06 → key 2026-12)',
    );
    expect(encryptionDrift({ keyIds: ['2026-12'], clear: 0 }, '2026-12')).toBeUndefined();
    // A client without keys could only describe a schedule with nothing encrypted in it.
    expect(encryptionDrift({ keyIds: [], clear: 4 }, undefined)).toBeUndefined();
  });
});

describe('a schedule created again (recreate)', () => {
  it('keeps the state and the pause-on-failure policy of the one it replaces', () => {
    const wanted = desired('communications', { interval: '1h' });
    const previous = description(wanted, (d) => {
      d.state = { paused: true, note: 'by hand', remainingActions: 3 };
      d.policies.pauseOnFailure = true;
    });
    expect(recreateOptions(wanted, previous, undefined)).toEqual({
      ...createOptions(wanted),
      policies: { ...createOptions(wanted).policies, pauseOnFailure: true },
      state: { paused: true, note: 'by hand', remainingActions: 3 },
    });
  });
});
