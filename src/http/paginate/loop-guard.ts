/**
 * The repeated link/cursor guard. A paginator that is handed a reference (a next URL or a cursor) it already
 * followed would loop forever (dlt #3358): each reference is fingerprinted (sha256, first 16 hex digits — the state
 * holds no URL or cursor, so nothing secret), compared with the last 16 and with Brent's saved fingerprint, which
 * catches a longer cycle within about twice its length. Constant space, so the state stays small for a heartbeat.
 */
import { createHash } from 'node:crypto';
import { paginationError, excerpt } from './pagination-errors.ts';
import type { LoopGuardState } from './types.ts';

const recentKept = 16;

/** A guard that has seen nothing. */
export const emptyLoopGuard: LoopGuardState = { recent: [], saved: null, power: 1, steps: 0 };

/** The fingerprint of a reference: `kind` (`url`, `cursor`) and its value. */
export function fingerprint(kind: string, value: string): string {
  return createHash('sha256').update(`${kind}\0${value}`).digest('hex').slice(0, 16);
}

/** Records a reference that is about to be followed (the first request's URL included). */
export function rememberReference(guard: LoopGuardState, print: string): LoopGuardState {
  const recent = [...guard.recent, print].slice(-recentKept);
  const steps = guard.steps + 1;
  if (guard.saved === null || steps >= guard.power) {
    return { recent, saved: print, power: guard.saved === null ? 1 : guard.power * 2, steps: 0 };
  }
  return { recent, saved: guard.saved, power: guard.power, steps };
}

/** True when this reference was followed before (as far as the guard can tell). */
export function isRepeated(guard: LoopGuardState, print: string): boolean {
  return guard.saved === print || guard.recent.includes(print);
}

/**
 * Checks a reference before it is followed and remembers it; a repeat is a `PAGINATION_LOOP` error naming the
 * page and the (redacted) reference.
 */
export function followReference(
  guard: LoopGuardState,
  kind: 'url' | 'cursor',
  value: string,
  page: number,
): LoopGuardState {
  const print = fingerprint(kind, value);
  if (isRepeated(guard, print)) {
    throw paginationError(
      'response-shape',
      'PAGINATION_LOOP',
      `page ${page} points to a ${kind === 'url' ? 'next URL' : 'cursor'} that was already followed (${excerpt(value)}): the API repeats itself, stopping instead of looping`,
      { page, kind },
    );
  }
  return rememberReference(guard, print);
}
