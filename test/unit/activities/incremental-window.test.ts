/**
 * The incremental window and its filter (pure logic): where a run starts (stored cursor − lag, else initial value,
 * or what the run input asks), which records fall in it (dlt's closed/open bounds, missing cursors), and what the
 * merge stores (never backwards; not for a backfill window or a fixed end).
 */
import { describe, expect, it } from 'vitest';
import {
  compareCursors,
  decideWindow,
  nextCursor,
  subtractLag,
  WindowFilter,
} from '../../../src/activities/incremental-window.ts';
import type { ResolvedIncremental } from '../../../src/shared/plan.ts';

const base: ResolvedIncremental = {
  cursorPath: 'updatedAt',
  startParam: 'updated_since',
  endParam: null,
  initialValue: '2026-01-01T00:00:00Z',
  endValue: null,
  lag: null,
  rangeStart: 'closed',
  rangeEnd: 'open',
  onCursorValueMissing: 'raise',
};
const rec = (updatedAt?: unknown) => ({ value: updatedAt === undefined ? { id: 1 } : { id: 1, updatedAt } });

describe('cursor values', () => {
  it('compare as numbers, as instants for zoned timestamps, else as text', () => {
    expect(compareCursors(9, 10)).toBeLessThan(0);
    expect(compareCursors('2026-01-01T01:00:00+01:00', '2026-01-01T00:00:00Z')).toBe(0);
    expect(compareCursors('2026-01-01T00:00:01Z', '2026-01-01T00:00:00.999Z')).toBeGreaterThan(0);
    expect(compareCursors('b', 'a')).toBeGreaterThan(0);
    // Beyond milliseconds, which Date.parse drops.
    expect(compareCursors('2026-01-01T00:00:00.123999Z', '2026-01-01T00:00:00.123456Z')).toBeGreaterThan(0);
    expect(compareCursors('2026-01-01T00:00:00.1Z', '2026-01-01T00:00:00.100000Z')).toBe(0);
    expect(() => compareCursors(1, '1')).toThrow(expect.objectContaining({ code: 'CURSOR_TYPE_MISMATCH' }));
  });

  it('move back by a lag, keeping the timestamp’s style', () => {
    expect(subtractLag(100, 10)).toBe(90);
    expect(subtractLag('2026-01-01T00:00:00Z', 3600)).toBe('2025-12-31T23:00:00Z');
    expect(subtractLag('2026-01-01T00:00:00.500Z', 1)).toBe('2025-12-31T23:59:59.500Z');
    expect(subtractLag('2026-01-01T00:00:00', 60)).toBe('2025-12-31T23:59:00');
    expect(subtractLag('2026-01-01 00:00:00.250', 1)).toBe('2025-12-31 23:59:59.250');
    expect(subtractLag('2026-03-01', 1)).toBe('2026-02-28'); // a date: the lag is in days, as in dlt
    expect(() => subtractLag('v7', 1)).toThrow(expect.objectContaining({ code: 'LAG_NOT_APPLICABLE' }));
  });
});

describe('the window of a run', () => {
  it('starts at the initial value, then at the stored cursor minus the lag, and advances', () => {
    expect(decideWindow(base, null)).toEqual({ start: '2026-01-01T00:00:00Z', end: null, advances: true });
    expect(decideWindow({ ...base, lag: 60 }, '2026-02-01T00:01:00Z')).toEqual({
      start: '2026-02-01T00:00:00Z',
      end: null,
      advances: true,
    });
  });

  it('with a fixed end_value never advances', () => {
    expect(decideWindow({ ...base, endValue: '2026-03-01T00:00:00Z' }, null).advances).toBe(false);
  });

  it('is what the run input asks for a backfill (not advancing), or starts again on reset', () => {
    expect(
      decideWindow(base, '2026-05-01T00:00:00Z', { override: { start: '2026-02-01T00:00:00Z', end: 'x' } }),
    ).toEqual({ start: '2026-02-01T00:00:00Z', end: 'x', advances: false });
    expect(
      decideWindow(base, '2026-05-01T00:00:00Z', { override: { end: '2026-06-01T00:00:00Z' } }).start,
    ).toBe('2026-05-01T00:00:00Z');
    expect(decideWindow(base, '2026-05-01T00:00:00Z', { reset: true })).toEqual({
      start: '2026-01-01T00:00:00Z',
      end: null,
      advances: true,
    });
  });
});

describe('the window filter', () => {
  const window = { start: 10, end: 20, advances: true };
  const numeric = { ...base, initialValue: 0 };

  it('keeps [start, end) by default and counts the rest, tracking the largest cursor kept', () => {
    const filter = new WindowFilter(numeric, window, { max: null, outside: 0 });
    const kept = filter.keep([rec(9), rec(10), rec(15), rec(20), rec(19.5)], 'page 1');
    expect(kept.map((r) => (r.value as { updatedAt: number }).updatedAt)).toEqual([10, 15, 19.5]);
    expect(filter.progress).toEqual({ max: 19.5, outside: 2 });
  });

  it('follows range_start: open and range_end: closed', () => {
    const filter = new WindowFilter({ ...numeric, rangeStart: 'open', rangeEnd: 'closed' }, window, {
      max: null,
      outside: 0,
    });
    expect(
      filter.keep([rec(10), rec(20)], 'page 1').map((r) => (r.value as { updatedAt: number }).updatedAt),
    ).toEqual([20]);
  });

  it('resumes from the progress of the last checkpoint', () => {
    const filter = new WindowFilter(numeric, window, { max: 18, outside: 3 });
    filter.keep([rec(12)], 'page 4');
    expect(filter.progress).toEqual({ max: 18, outside: 3 });
  });

  it('raises, includes or excludes a record without a cursor, as configured', () => {
    const at = (onCursorValueMissing: ResolvedIncremental['onCursorValueMissing']) =>
      new WindowFilter({ ...numeric, onCursorValueMissing }, window, { max: null, outside: 0 });
    expect(() => at('raise').keep([rec(12), rec()], 'page 2')).toThrow(
      expect.objectContaining({ code: 'CURSOR_VALUE_MISSING', retryable: false }),
    );
    expect(at('include').keep([rec(null)], 'page 1')).toHaveLength(1);
    const excluding = at('exclude');
    expect(excluding.keep([rec()], 'page 1')).toHaveLength(0);
    expect(excluding.progress.outside).toBe(1);
    expect(() => at('include').keep([rec({ nested: 1 })], 'page 1')).toThrow(
      expect.objectContaining({ code: 'CURSOR_VALUE_INVALID' }),
    );
  });
});

describe('the cursor the merge stores', () => {
  const advancing = { start: null, end: null, advances: true };
  it('moves forward only, and not without records', () => {
    expect(nextCursor(null, 5, advancing, false)).toBe(5);
    expect(nextCursor(7, 5, advancing, false)).toBe(7);
    expect(nextCursor(7, 9, advancing, false)).toBe(9);
    expect(nextCursor(7, null, advancing, false)).toBeUndefined();
  });
  it('is what a reset run reached (nothing: forgotten), and untouched by a window that does not advance', () => {
    expect(nextCursor(7, 3, advancing, true)).toBe(3);
    expect(nextCursor(7, null, advancing, true)).toBeNull();
    expect(nextCursor(7, 9, { ...advancing, advances: false }, false)).toBeUndefined();
  });
});
