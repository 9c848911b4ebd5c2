/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Turned into whole milliseconds to wait, rounded
 * up, so a caller that honours it never comes back early.
 */

/** Longest wait we report (a day): a larger or absurd value is capped rather than trusted. */
export const maxRetryAfterMs = 24 * 60 * 60 * 1000;

/**
 * Milliseconds to wait from `now` (ms since the epoch), or undefined when the header is absent or unreadable.
 * Seconds are taken as given (`2` → 2000); an HTTP-date is the time left until it, rounded up to the next
 * millisecond, at least 0 (a date in the past means "now").
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const first: string | undefined = typeof value === 'string' ? value : value?.[0];
  const text = first?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Math.min(maxRetryAfterMs, Number(text) * 1000);
  // An IMF-fixdate, or the obsolete RFC 850 / asctime forms, all of which Date.parse reads.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(maxRetryAfterMs, Math.max(0, Math.ceil(at - now)));
}
