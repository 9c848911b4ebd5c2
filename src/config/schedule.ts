/**
 * `schedule` (ours): when Temporal starts runs of a source, declared in the source file and made real by
 * `ingest schedule sync` (`src/app/cli/commands/schedule.ts`). Validated when the file is loaded, with paths:
 * durations are strings such as `90s`, `15m`, `2h`, `1d` or `1h30m` (`parseDuration`), cron expressions have the
 * five standard fields (or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`), a time zone is an IANA name, and
 * `resources` must name resources of the source. A schedule is not part of what a run does: it stays out of the plan
 * and its hash (`resolve.ts` never reads it).
 */
import { z } from 'zod';
import { closestMatch, didYouMean, type ConfigProblem } from './problems.ts';
import { siteObject, type DeepReadonly } from './schema-site.ts';

/** Overlap policies, as written in a source file (Temporal's `ScheduleOverlapPolicy`, lower case). */
export const scheduleOverlapPolicies = [
  'skip',
  'buffer_one',
  'buffer_all',
  'cancel_other',
  'terminate_other',
  'allow_all',
] as const;

export type ScheduleOverlap = (typeof scheduleOverlapPolicies)[number];

/** What a schedule that leaves a key out gets. */
export const scheduleDefaults = {
  overlap: 'skip',
  timezone: 'UTC',
  jitterMs: 0,
  /** Temporal's own default: a run missed while the server was down is still taken within a year (once: `skip`). */
  catchupWindowMs: 365 * 86_400_000,
  paused: false,
} as const satisfies {
  overlap: ScheduleOverlap;
  timezone: string;
  jitterMs: number;
  catchupWindowMs: number;
  paused: boolean;
};

const durationUnits = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
] as const;

const durationPattern = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * A duration written as `<n>d<n>h<n>m<n>s`, each part optional but in that order (`90s`, `15m`, `2h`, `1d`,
 * `1h30m`), in milliseconds; undefined when the text is not one.
 */
export function parseDuration(text: string): number | undefined {
  const match = durationPattern.exec(text);
  if (match === null || text === '') return undefined;
  let ms = 0;
  durationUnits.forEach(([, unitMs], index) => {
    const digits = match[index + 1];
    if (digits !== undefined) ms += Number(digits) * unitMs;
  });
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** A duration in the notation `parseDuration` reads (`0s` for zero; milliseconds are rounded to seconds). */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000) * 1000;
  if (rest <= 0) return '0s';
  let text = '';
  for (const [unit, unitMs] of durationUnits) {
    const count = Math.floor(rest / unitMs);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * unitMs;
  }
  return text;
}

/** A duration string of at least `minMs` (`what` says what it is, for the message). */
function duration(minMs: number, minText: string) {
  return z
    .string({ error: 'expected a duration such as "90s", "15m", "2h" or "1d"' })
    .superRefine((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message:
            'expected a duration such as "90s", "15m", "2h", "1d" or "1h30m" (whole numbers of d, h, m, s, in that order)',
        });
      } else if (ms < minMs) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${minText}` });
      }
    });
}

const cronShorthands = ['@yearly', '@monthly', '@weekly', '@daily', '@hourly'] as const;

const monthNames = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names for the values from `min` on. */
  readonly names?: readonly string[];
}

const cronFields: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: monthNames },
  { name: 'day of week', min: 0, max: 6, names: dayNames },
];

function cronValue(text: string, field: CronField): number | undefined {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    return value >= field.min && value <= field.max ? value : undefined;
  }
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  return index < 0 ? undefined : field.min + index;
}

/** The problem of one cron field, or undefined when it is valid. */
function cronFieldProblem(text: string, field: CronField): string | undefined {
  const names = field.names === undefined ? '' : ` or ${field.names[0]}–${field.names.at(-1) ?? ''}`;
  const bad = `the ${field.name} field "${text}" is not valid: expected *, a value (${field.min}–${field.max}${names}), a range a-b, a list a,b, or a step */n or a-b/n`;
  for (const part of text.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(part);
    if (match === null) return bad;
    const [, range = '', step] = match;
    if (step !== undefined && Number(step) < 1) return bad;
    if (range === '*') continue;
    const [from = '', to] = range.split('-');
    const start = cronValue(from, field);
    const end = to === undefined ? start : cronValue(to, field);
    if (start === undefined || end === undefined || end < start) return bad;
  }
  return undefined;
}

/** What is wrong with a cron expression, or undefined when it is one Temporal reads the way we document. */
export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (text.startsWith('@')) {
    if ((cronShorthands as readonly string[]).includes(text)) return undefined;
    if (text.startsWith('@every')) return 'use `interval` (and `offset`) instead of @every';
    return `unknown shorthand; expected one of ${cronShorthands.join(', ')}${didYouMean(text, cronShorthands)}`;
  }
  if (/^(?:CRON_)?TZ=/.test(text)) return 'set the time zone with `timezone`, not in the expression';
  const fields = text.split(/\s+/);
  if (fields.length !== 5) {
    return `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  for (const [index, field] of cronFields.entries()) {
    const problem = cronFieldProblem(fields[index] ?? '', field);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

const cronExpression = z
  .string({ error: 'expected a cron expression such as "0 * * * *"' })
  .superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** What is wrong with a time zone name, or undefined for an IANA name (or `UTC`). */
export function timezoneProblem(name: string): string | undefined {
  const known = [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  if (name === 'UTC' || known.includes(name)) return undefined;
  const sameButCase = known.find((zone) => zone.toLowerCase() === name.toLowerCase());
  if (sameButCase !== undefined) return `time zone names are case-sensitive: did you mean "${sameButCase}"?`;
  try {
    // Accepts the aliases the list leaves out (`US/Pacific`, `Etc/GMT+5`), as Temporal's tz database does.
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return undefined;
  } catch {
    const hint = closestMatch(name, known);
    return `unknown time zone; expected an IANA name such as "UTC" or "Europe/Paris"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`;
  }
}

const timezone = z
  .string({ error: 'expected an IANA time zone name such as "UTC"' })
  .superRefine((value, ctx) => {
    const problem = timezoneProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** `schedule` (ours): when Temporal starts runs of the source. */
export const scheduleSchema = siteObject('schedule', {
  interval: duration(1000, '1s').optional(),
  offset: duration(0, '0s').optional(),
  cron: z
    .union(
      [cronExpression, z.array(cronExpression, { error: 'expected a list of cron expressions' }).min(1)],
      {
        error: 'expected a cron expression or a list of them',
      },
    )
    .optional(),
  timezone: timezone.optional(),
  jitter: duration(0, '0s').optional(),
  overlap: z.enum(scheduleOverlapPolicies).optional(),
  catchup_window: duration(10_000, '10s (Temporal\u2019s minimum)').optional(),
  paused: z.boolean().optional(),
  resources: z
    .array(z.string().min(1), { error: 'expected a list of resource names' })
    .min(1)
    .superRefine((names, ctx) => {
      names.forEach((name, index) => {
        if (names.indexOf(name) !== index) {
          ctx.addIssue({ code: 'custom', path: [index], message: `"${name}" is listed twice` });
        }
      });
    })
    .optional(),
}).superRefine((value, ctx) => {
  if (value.interval === undefined && value.cron === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'a schedule needs `interval` (e.g. "1h") or `cron` (e.g. "0 * * * *"), or both',
    });
  }
  if (value.offset !== undefined) {
    const every = value.interval === undefined ? undefined : parseDuration(value.interval);
    const offset = parseDuration(value.offset);
    if (value.interval === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['offset'],
        message: 'an offset shifts `interval`: set `interval` too',
      });
    } else if (every !== undefined && offset !== undefined && offset >= every) {
      ctx.addIssue({ code: 'custom', path: ['offset'], message: 'must be shorter than `interval`' });
    }
  }
});

/** `schedule` as written. */
export type ScheduleConfig = DeepReadonly<z.input<typeof scheduleSchema>>;

/** A source's schedule with its defaults filled in and durations in milliseconds. */
export interface SourceSchedule {
  /** At most one: `interval` (and `offset`). */
  readonly intervals: readonly { readonly everyMs: number; readonly offsetMs: number }[];
  /** The cron expressions, as written. */
  readonly cron: readonly string[];
  readonly timezone: string;
  readonly jitterMs: number;
  readonly overlap: ScheduleOverlap;
  readonly catchupWindowMs: number;
  /** Whether the file asks for the schedule to be paused. */
  readonly paused: boolean;
  /** The run input's `resources`; undefined: the source's default selection. */
  readonly resources: readonly string[] | undefined;
}

/** The schedule of a validated source (`config.schedule`), or undefined when it declares none. */
export function sourceSchedule(config: {
  readonly schedule?: ScheduleConfig | undefined;
}): SourceSchedule | undefined {
  const schedule = config.schedule;
  if (schedule === undefined) return undefined;
  const ms = (text: string | undefined, fallback: number): number =>
    text === undefined ? fallback : (parseDuration(text) ?? fallback);
  const cron =
    schedule.cron === undefined ? [] : typeof schedule.cron === 'string' ? [schedule.cron] : schedule.cron;
  return {
    intervals:
      schedule.interval === undefined
        ? []
        : [{ everyMs: ms(schedule.interval, 0), offsetMs: ms(schedule.offset, 0) }],
    cron: cron.map((expression) => expression.trim()),
    timezone: schedule.timezone ?? scheduleDefaults.timezone,
    jitterMs: ms(schedule.jitter, scheduleDefaults.jitterMs),
    overlap: schedule.overlap ?? scheduleDefaults.overlap,
    catchupWindowMs: ms(schedule.catchup_window, scheduleDefaults.catchupWindowMs),
    paused: schedule.paused ?? scheduleDefaults.paused,
    resources: schedule.resources === undefined ? undefined : [...schedule.resources],
  };
}

/** Adds a problem for each `schedule.resources` name that is not a resource of the source. */
export function checkScheduleResources(
  config: { readonly schedule?: ScheduleConfig | undefined },
  resourceNames: readonly string[],
  problems: ConfigProblem[],
): void {
  config.schedule?.resources?.forEach((name, index) => {
    if (resourceNames.includes(name)) return;
    problems.push({
      path: `schedule.resources[${index}]`,
      message: `unknown resource "${name}" (the resources are: ${resourceNames.join(', ')})${didYouMean(name, resourceNames)}`,
    });
  });
}
