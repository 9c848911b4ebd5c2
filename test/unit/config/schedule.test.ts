import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateSourceConfig } from '../../../src/config/analyse.ts';
import { scanSources } from '../../../src/config/registry.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import {
  cronProblem,
  formatDuration,
  parseDuration,
  scheduleDefaults,
  sourceSchedule,
  timezoneProblem,
} from '../../../src/config/schedule.ts';
import { minimalSource, problemsOf, sourceWith } from './helpers.ts';

const twoResources = [
  { name: 'items', endpoint: { path: '/items', paginator: 'single_page' } },
  { name: 'users', endpoint: { path: '/users', paginator: 'single_page' } },
];

function withSchedule(schedule: unknown) {
  return sourceWith(twoResources, { schedule });
}

function problemsOfSchedule(schedule: unknown): string[] {
  return problemsOf(() => validateSourceConfig(withSchedule(schedule)));
}

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s', 93_784_000],
    ['0s', 0],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '1', '1 h', '1H', '30m1h', '1.5h', '-1h', '1h1h', 'h', '1w', ' 1h', '1ms'])(
    '"%s" is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('formats back in the same notation', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(86_400_000 + 1000)).toBe('1d1s');
    expect(formatDuration(0)).toBe('0s');
    for (const text of ['90s', '15m', '2h', '1d', '1d2h3m4s']) {
      expect(parseDuration(formatDuration(parseDuration(text) ?? -1))).toBe(parseDuration(text));
    }
  });
});

describe('cron expressions', () => {
  it.each([
    '0 * * * *',
    '*/15 * * * *',
    '0 9 * * MON-FRI',
    '30 6,18 1-15/2 jan,JUL sun',
    '0 0 1 * *',
    '@hourly',
    '@daily',
  ])('"%s" is valid', (expression) => {
    expect(cronProblem(expression)).toBeUndefined();
  });

  it.each([
    ['0 * * *', /expected 5 fields/],
    ['0 0 * * * 2026', /expected 5 fields/],
    ['60 * * * *', /minute field "60"/],
    ['0 24 * * *', /hour field/],
    ['0 0 0 * *', /day of month field/],
    ['0 0 * 13 *', /month field/],
    ['0 0 * * 7', /day of week field/],
    ['0 0 * * FUNDAY', /day of week field/],
    ['*/0 * * * *', /minute field/],
    ['5-1 * * * *', /minute field/],
    ['@every 1h', /use `interval`/],
    ['@hourli', /did you mean "@hourly"/],
    ['CRON_TZ=Europe/Paris 0 * * * *', /`timezone`/],
  ])('"%s" is refused', (expression, message) => {
    expect(cronProblem(expression)).toMatch(message);
  });
});

describe('time zones', () => {
  it('accepts IANA names and their aliases', () => {
    expect(timezoneProblem('UTC')).toBeUndefined();
    expect(timezoneProblem('Europe/Paris')).toBeUndefined();
    expect(timezoneProblem('America/New_York')).toBeUndefined();
  });

  it('refuses unknown names, with a hint for the wrong case', () => {
    expect(timezoneProblem('europe/paris')).toBe(
      'time zone names are case-sensitive: did you mean "Europe/Paris"?',
    );
    expect(timezoneProblem('Mars/Olympus')).toMatch(/^unknown time zone/);
  });
});

describe('the schedule key', () => {
  it('accepts every key, and keeps the config as written', () => {
    const schedule = {
      interval: '1h',
      offset: '15m',
      cron: ['0 9 * * MON-FRI', '@daily'],
      timezone: 'Europe/Paris',
      jitter: '5m',
      overlap: 'buffer_one',
      catchup_window: '2h',
      paused: true,
      resources: ['users'],
    };
    const { config, warnings } = validateSourceConfig(withSchedule(schedule));
    expect(config.schedule).toEqual(schedule);
    expect(warnings).toEqual([]);
    expect(sourceSchedule(config)).toEqual({
      intervals: [{ everyMs: 3_600_000, offsetMs: 900_000 }],
      cron: ['0 9 * * MON-FRI', '@daily'],
      timezone: 'Europe/Paris',
      jitterMs: 300_000,
      overlap: 'buffer_one',
      catchupWindowMs: 7_200_000,
      paused: true,
      resources: ['users'],
    });
  });

  it('fills in the defaults', () => {
    const { config } = validateSourceConfig(withSchedule({ cron: '0 * * * *' }));
    expect(sourceSchedule(config)).toEqual({
      intervals: [],
      cron: ['0 * * * *'],
      timezone: 'UTC',
      jitterMs: 0,
      overlap: 'skip',
      catchupWindowMs: scheduleDefaults.catchupWindowMs,
      paused: false,
      resources: undefined,
    });
    expect(sourceSchedule(validateSourceConfig(minimalSource()).config)).toBeUndefined();
  });

  it.each<[string, unknown, string[]]>([
    [
      'neither interval nor cron',
      { overlap: 'skip' },
      ['schedule: a schedule needs `interval` (e.g. "1h") or `cron` (e.g. "0 * * * *"), or both'],
    ],
    [
      'a bad duration',
      { interval: '1 hour' },
      [
        'schedule.interval: expected a duration such as "90s", "15m", "2h", "1d" or "1h30m" (whole numbers of d, h, m, s, in that order)',
      ],
    ],
    [
      'a number instead of a duration',
      { interval: 3600 },
      ['schedule.interval: expected a string, got a number'],
    ],
    ['a zero interval', { interval: '0s' }, ['schedule.interval: must be at least 1s']],
    [
      'a short catch-up window',
      { interval: '1h', catchup_window: '5s' },
      ['schedule.catchup_window: must be at least 10s (Temporal\u2019s minimum)'],
    ],
    [
      'an offset without interval',
      { cron: '@daily', offset: '5m' },
      ['schedule.offset: an offset shifts `interval`: set `interval` too'],
    ],
    [
      'an offset as long as the interval',
      { interval: '1h', offset: '60m' },
      ['schedule.offset: must be shorter than `interval`'],
    ],
    [
      'a bad cron in a list',
      { cron: ['0 * * * *', '0 25 * * *'] },
      [
        'schedule.cron[1]: the hour field "25" is not valid: expected *, a value (0–23), a range a-b, a list a,b, or a step */n or a-b/n',
      ],
    ],
    [
      'an unknown overlap policy',
      { interval: '1h', overlap: 'skipp' },
      [
        'schedule.overlap: expected one of: skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all — did you mean "skip"?',
      ],
    ],
    [
      'an unknown key',
      { interval: '1h', intervall: '2h' },
      ['schedule.intervall: unknown key — did you mean "interval"?'],
    ],
    [
      'paused as text',
      { interval: '1h', paused: 'yes' },
      ['schedule.paused: expected a boolean, got a string'],
    ],
    ['an empty resources list', { interval: '1h', resources: [] }, ['schedule.resources: must not be empty']],
    [
      'a resource listed twice',
      { interval: '1h', resources: ['items', 'items'] },
      ['schedule.resources[1]: "items" is listed twice'],
    ],
    [
      'an unknown resource',
      { interval: '1h', resources: ['items', 'userz'] },
      [
        'schedule.resources[1]: unknown resource "userz" (the resources are: items, users) — did you mean "users"?',
      ],
    ],
    [
      'a bad time zone',
      { cron: '@daily', timezone: 'utc' },
      ['schedule.timezone: time zone names are case-sensitive: did you mean "UTC"?'],
    ],
    ['not an object', '1h', ['schedule: expected an object, got a string']],
  ])('refuses %s, with its path', (_label, schedule, expected) => {
    expect(problemsOfSchedule(schedule)).toEqual(expected);
  });

  it('is not part of the plan: its hash is the same with or without a schedule', () => {
    const env = {};
    const without = resolveSource(sourceWith(twoResources), { env });
    const withOne = resolveSource(withSchedule({ interval: '1h', resources: ['users'] }), { env });
    expect(withOne.hash).toBe(without.hash);
    expect(JSON.stringify(withOne)).not.toContain('schedule');
  });
});

describe('the registry', () => {
  it("exposes each source's schedule", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'schedule-registry-'));
    try {
      await writeFile(
        join(dir, 'a.json'),
        JSON.stringify({ ...withSchedule({ interval: '30m' }), name: 'alpha' }),
      );
      await writeFile(join(dir, 'b.json'), JSON.stringify({ ...sourceWith(twoResources), name: 'beta' }));
      await writeFile(
        join(dir, 'c.json'),
        JSON.stringify({ ...withSchedule({ interval: 'often' }), name: 'gamma' }),
      );
      const scan = await scanSources(dir);
      expect(scan.sources.get('alpha')?.loaded.config.schedule).toEqual({ interval: '30m' });
      expect(scan.sources.get('beta')?.loaded.config.schedule).toBeUndefined();
      expect(scan.broken.map((broken) => [broken.name, broken.problems[0]?.path])).toEqual([
        ['gamma', 'schedule.interval'],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
