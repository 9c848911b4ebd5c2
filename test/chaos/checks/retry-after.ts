/**
 * No request before its `Retry-After`: for every 429 or 503 the sandbox answered with `Retry-After`, the next
 * request of the same route (the same resource: its requests are sequential) arrived no earlier than the header
 * allowed — `seconds` after the refused request arrived, or at the HTTP date. Read from the sandbox's request log,
 * whose arrival times are this process's clock, as the worker's are (the same machine).
 */
import type { RequestLogEntry } from '../../../src/sandbox/request-log.ts';
import type { CheckResult } from './result.ts';

/** Timer slack allowed (ms): an arrival this much before the allowed instant still counts as on time. */
export const retryAfterSlackMs = 5;

/** Checks the log of one case (both origins, any order). */
export function checkRetryAfter(entries: readonly RequestLogEntry[]): CheckResult {
  const problems: string[] = [];
  const ordered = [...entries].filter((entry) => entry.origin === 'main').sort((a, b) => a.seq - b.seq);
  let waits = 0;
  let smallestMargin = Number.POSITIVE_INFINITY;
  ordered.forEach((entry, index) => {
    if ((entry.status !== 429 && entry.status !== 503) || entry.retryAfter === undefined) return;
    const next = ordered.slice(index + 1).find((later) => later.route === entry.route);
    if (next === undefined) return; // the run ended (or the resource failed) after it
    const allowedAt = retryAfterInstant(entry.retryAfter, entry.wallMs);
    if (allowedAt === undefined) {
      problems.push(`request ${entry.seq} got an unreadable Retry-After "${entry.retryAfter}"`);
      return;
    }
    waits += 1;
    const margin = next.wallMs - allowedAt;
    smallestMargin = Math.min(smallestMargin, margin);
    if (margin < -retryAfterSlackMs) {
      problems.push(
        `${entry.route ?? entry.path}: request ${next.seq} came ${-margin} ms before the Retry-After ` +
          `"${entry.retryAfter}" of request ${entry.seq} (${entry.status}) allowed`,
      );
    }
  });
  return {
    check: 'retry-after',
    problems,
    facts: waits === 0 ? 'no Retry-After' : `${waits} waits, min margin ${smallestMargin} ms`,
  };
}

/** When a request may come again after a reply with this `Retry-After`, received at `receivedAtMs`. */
export function retryAfterInstant(header: string, receivedAtMs: number): number | undefined {
  if (/^\d+$/.test(header.trim())) return receivedAtMs + Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : at;
}
