/** `Retry-After` parsing: seconds and HTTP-dates, rounded up, capped, garbage ignored. */
import { describe, expect, it } from 'vitest';
import { maxRetryAfterMs, parseRetryAfter } from '../../../src/http/retry-after.ts';

const now = Date.parse('2024-05-01T12:00:00.000Z');

describe('parseRetryAfter', () => {
  it.each<[string, string | string[] | undefined, number | undefined]>([
    ['seconds', '2', 2000],
    ['zero seconds', '0', 0],
    ['seconds with spaces', ' 7 ', 7000],
    ['an HTTP-date', 'Wed, 01 May 2024 12:00:03 GMT', 3000],
    ['an HTTP-date in the past', 'Wed, 01 May 2024 11:00:00 GMT', 0],
    ['an RFC 850 date', 'Wednesday, 01-May-24 12:00:05 GMT', 5000],
    ['an asctime date', 'Wed May  1 12:00:04 2024', undefined],
    ['the first of repeated headers', ['4', '9'], 4000],
    ['absent', undefined, undefined],
    ['empty', '', undefined],
    ['negative', '-1', undefined],
    ['a fraction', '1.5', undefined],
    ['garbage', 'soon', undefined],
    ['huge', '99999999', maxRetryAfterMs],
  ])('%s', (_label, value, expected) => {
    const parsed = parseRetryAfter(value, now);
    if (_label === 'an asctime date') {
      // asctime has no zone: Date.parse reads it as local time; only check it is a whole, non-negative number.
      expect(parsed === undefined || (Number.isInteger(parsed) && parsed >= 0)).toBe(true);
      return;
    }
    expect(parsed).toBe(expected);
  });

  it('rounds an HTTP-date up to the next whole millisecond', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:01 GMT', now - 0.4)).toBe(1001);
  });
});
