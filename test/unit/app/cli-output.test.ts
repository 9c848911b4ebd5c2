/** The pure parts of the `ingest` CLI: argument parsing, the plan as shown (redaction), progress lines, help. */
import { describe, expect, it } from 'vitest';
import { resolvePlan } from '../../../src/activities/plan-source.ts';
import { describePlan, list, planLines } from '../../../src/app/cli/commands/plan.ts';
import {
  changeLines,
  parseWindow,
  progressLines,
  type PendingActivity,
} from '../../../src/app/cli/commands/run.ts';
import { CliError } from '../../../src/app/cli/context.ts';
import { formatDuration, redactUrl, table } from '../../../src/app/cli/format.ts';
import { buildProgram } from '../../../src/app/cli/program.ts';
import { readSettings } from '../../../src/app/settings.ts';
import { loadSourceByName, shippedSourcesDir } from '../../../src/config/registry.ts';
import type { IngestProgress, ResourceCounts } from '../../../src/shared/ingest-types.ts';

const counts = (fetched: number): ResourceCounts => ({
  fetched,
  inserted: fetched,
  updated: 0,
  unchanged: 0,
  deleted: 0,
  rejected: 0,
  pages: 1,
});

describe('arguments', () => {
  it('parses --window resource=start..end, numbers as numbers, either end optional', () => {
    let windows = parseWindow('orders=2026-01-01T00:00:00Z..2026-02-01T00:00:00Z');
    windows = parseWindow('events=100..', windows);
    expect(windows).toEqual({
      orders: { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' },
      events: { start: 100 },
    });
    expect(() => parseWindow('orders')).toThrow(CliError);
    expect(() => parseWindow('orders=..')).toThrow(CliError);
  });

  it('splits comma-separated lists and adds repeated ones', () => {
    expect(list(' a, b ,,c', ['z'])).toEqual(['z', 'a', 'b', 'c']);
  });
});

describe('the plan as shown', () => {
  it('shows the URL with the API key as ***, never the key', async () => {
    const key = 'sk-very-secret-123';
    const env = { COMMUNICATIONS_API_KEY: key, COMMUNICATIONS_BASE_URL: 'https://api.test/' };
    const loaded = await loadSourceByName(shippedSourcesDir, 'communications');
    const plan = resolvePlan(loaded, { source: 'communications', resources: ['call_queues'] }, { env });
    const shown = describePlan(plan, env);
    expect(shown.credentials.missing).toEqual([]);
    expect(shown.resources[0]?.requests[0]?.url).toBe('https://api.test/v1/call_queues?api_key=***');
    const text = [JSON.stringify(shown), ...planLines(shown)].join('\n');
    expect(text).not.toContain(key);
  });

  it('shows a child with its parent-field template and a skipped resource with its reason', async () => {
    const env = { MESSAGING_BASE_URL: 'https://msg.test' };
    const loaded = await loadSourceByName(shippedSourcesDir, 'messaging');
    const shown = describePlan(resolvePlan(loaded, { source: 'messaging' }, { env }), env);
    const messages = shown.resources.find((r) => r.name === 'messages');
    expect(messages?.requests[0]?.url).toBe('https://msg.test/messaging/v1/messages/{sms.requestId}');
    expect(shown.resources.find((r) => r.name === 'sms')?.skipped).toMatch(/MESSAGING_CONFIG_/);
    expect(shown.credentials.missing).toEqual(['MESSAGING_API_KEY']);
  });
});

describe('progress', () => {
  const progress = (status: 'running' | 'ok', fetched: number): IngestProgress => ({
    source: 'shop',
    loadId: 'L1',
    planHash: 'h',
    phase: 'loading',
    resources: [{ resource: 'orders', status, counts: counts(fetched) }],
  });
  const pending = (attempt: number, lastFailure?: string): PendingActivity => ({
    id: '3',
    type: 'ingestResource',
    attempt,
    state: 'PENDING_ACTIVITY_STATE_STARTED',
    heartbeat: { phase: 'fetching', page: 2 },
    lastFailure,
  });

  it('prints a line per change only (for logs)', () => {
    const seen = new Map<string, string>();
    const first = changeLines(progress('running', 10), [pending(1)], seen);
    expect(first).toHaveLength(3);
    expect(changeLines(progress('running', 10), [pending(1)], seen)).toEqual([]);
    const retried = changeLines(progress('running', 10), [pending(2, 'HTTP 503')], seen);
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatch(/attempt 2.*page 2.*HTTP 503/);
    expect(changeLines(progress('ok', 20), [], seen)).toEqual([expect.stringMatching(/orders: ok/)]);
  });

  it('draws a table of the resources and the pending activities (for terminals)', () => {
    const lines = progressLines(progress('running', 10), [pending(2, 'HTTP 503')]);
    expect(lines[0]).toBe('shop: loading (load L1)');
    expect(lines.some((line) => /orders\s+running\s+10/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/ingestResource #3, attempt 2/);
    expect(progressLines(undefined, [])).toHaveLength(1);
  });
});

describe('formatting', () => {
  it('aligns columns, numbers to the right', () => {
    expect(
      table(
        ['a', 'n'],
        [
          ['xx', '5'],
          ['y', '10'],
        ],
        { numeric: [1], indent: '' },
      ),
    ).toEqual(['a    n', 'xx   5', 'y   10']);
  });

  it('writes durations for people and hides passwords in URLs', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(192_000)).toBe('3m 12s');
    expect(formatDuration(3_900_000)).toBe('1h 5m');
    expect(redactUrl('postgres://u:secret@h/db')).toBe('postgres://u:***@h/db');
  });
});

describe('the program', () => {
  it('has every command, each with examples in its help', () => {
    const program = buildProgram(() => readSettings({}));
    const names = program.commands.map((command) => command.name());
    for (const name of [
      'validate',
      'plan',
      'run',
      'status',
      'schedule',
      'worker',
      'dev',
      'replay',
      'migrate',
      'sandbox',
    ]) {
      expect(names).toContain(name);
    }
    for (const name of ['validate', 'plan', 'run', 'status']) {
      let help = '';
      const command = program.commands.find((c) => c.name() === name);
      command?.configureOutput({ writeOut: (text) => (help += text) });
      command?.outputHelp();
      expect(help).toContain('Examples:');
    }
  });
});
