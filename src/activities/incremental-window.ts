/**
 * The window of an incremental run and what falls in it (dlt's `Incremental`, without callables): the start is the
 * stored cursor minus `lag`, else `initial_value`; the end is `end_value`, if any. A run input may name another
 * window for a resource (a backfill: the stored cursor then stays where it is) or reset its cursor (the run starts
 * from `initial_value` and its merge stores what it reached). Records before the start or past the end are left out
 * and counted; the stored cursor moves to the largest cursor value loaded, never backwards.
 *
 * Cursor values compare as numbers, as instants when both are ISO 8601 timestamps with a zone, else as text (ISO
 * dates and timestamps of one format sort as text). A number against a text is a response-shape error.
 */
import type { IncrementalWindow } from '../db/ledger/cursors.ts';
import { IngestError } from '../errors.ts';
import type { CursorValue, ResolvedIncremental } from '../shared/plan.ts';
import { readField } from '../shared/record-fields.ts';

/** What a run input asks of one resource's window. */
export interface WindowRequest {
  /** Another window for this run only: the stored cursor stays where it is. */
  readonly override?: { readonly start?: CursorValue; readonly end?: CursorValue };
  /** Start again from `initial_value`; the merge stores what this run reached. */
  readonly reset?: boolean;
}

const zonedTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const naiveTimestamp = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const isoDate = /^\d{4}-\d{2}-\d{2}$/;

/** The digits after the second's decimal point, to 9 places (what `Date.parse` drops beyond milliseconds). */
function fraction(timestamp: string): string {
  return (/\.(\d+)/.exec(timestamp)?.[1] ?? '').padEnd(9, '0').slice(0, 9);
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareCursors(a: CursorValue, b: CursorValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === 'string' && typeof b === 'string') {
    if (zonedTimestamp.test(a) && zonedTimestamp.test(b)) {
      const diff = Date.parse(a) - Date.parse(b);
      if (!Number.isNaN(diff)) {
        if (diff !== 0) return diff < 0 ? -1 : 1;
        // The same millisecond: microseconds (and beyond) decide.
        const [fa, fb] = [fraction(a), fraction(b)];
        return fa === fb ? 0 : fa < fb ? -1 : 1;
      }
    }
    return a === b ? 0 : a < b ? -1 : 1;
  }
  throw new IngestError(
    'response-shape',
    'CURSOR_TYPE_MISMATCH',
    `cursor values of different types cannot be compared: ${JSON.stringify(a)} and ${JSON.stringify(b)}`,
    { retryable: false },
  );
}

/**
 * `value` moved back by `lag`, as dlt does: seconds for a timestamp (one without a zone is read as UTC and keeps
 * its style), days for a date, units for a number.
 */
export function subtractLag(value: CursorValue, lag: number): CursorValue {
  if (typeof value === 'number') return value - lag;
  if (zonedTimestamp.test(value)) {
    const iso = new Date(Date.parse(value) - lag * 1000).toISOString();
    return value.includes('.') ? iso : iso.replace(/\.\d{3}Z$/, 'Z');
  }
  if (naiveTimestamp.test(value)) {
    const iso = new Date(Date.parse(`${value.replace(' ', 'T')}Z`) - lag * 1000).toISOString().slice(0, -1);
    const styled = value.includes('.') ? iso : iso.replace(/\.\d{3}$/, '');
    return value.includes(' ') ? styled.replace('T', ' ') : styled;
  }
  if (isoDate.test(value)) {
    return new Date(Date.parse(`${value}T00:00:00Z`) - lag * 86_400_000).toISOString().slice(0, 10);
  }
  throw new IngestError(
    'config',
    'LAG_NOT_APPLICABLE',
    `lag needs a numeric cursor, an ISO 8601 date or timestamp; the stored cursor is ${JSON.stringify(value)}`,
    { retryable: false },
  );
}

/** The window of this run, from the plan, the stored cursor and what the run input asks. */
export function decideWindow(
  incremental: ResolvedIncremental,
  stored: CursorValue | null,
  request: WindowRequest = {},
): IncrementalWindow {
  const fromStored =
    stored === null
      ? incremental.initialValue
      : incremental.lag === null
        ? stored
        : subtractLag(stored, incremental.lag);
  if (request.override !== undefined) {
    return {
      start: request.override.start ?? (request.reset === true ? incremental.initialValue : fromStored),
      end: request.override.end ?? incremental.endValue,
      advances: false,
    };
  }
  return {
    start: request.reset === true ? incremental.initialValue : fromStored,
    end: incremental.endValue,
    advances: incremental.endValue === null,
  };
}

/** Keeps a fetch's records that fall in the window, counting the others and the largest cursor value kept. */
export class WindowFilter {
  #max: CursorValue | null;
  #outside: number;

  constructor(
    private readonly incremental: ResolvedIncremental,
    private readonly window: IncrementalWindow,
    from: { readonly max: CursorValue | null; readonly outside: number },
  ) {
    this.#max = from.max;
    this.#outside = from.outside;
  }

  /** The largest cursor value of the records kept so far, and how many were left out. */
  get progress(): { readonly max: CursorValue | null; readonly outside: number } {
    return { max: this.#max, outside: this.#outside };
  }

  /** The records of `batch` to load; throws for a record without a cursor when the config says `raise`. */
  keep<T extends { readonly value: unknown }>(batch: readonly T[], where: string): T[] {
    const kept: T[] = [];
    for (const [index, record] of batch.entries()) {
      const cursor = readField(record.value, this.incremental.cursorPath);
      if (cursor === undefined || cursor === null) {
        if (this.incremental.onCursorValueMissing === 'include') kept.push(record);
        else if (this.incremental.onCursorValueMissing === 'exclude') this.#outside += 1;
        else throw missingCursor(this.incremental.cursorPath, where, index);
        continue;
      }
      if (typeof cursor !== 'string' && typeof cursor !== 'number') {
        throw new IngestError(
          'response-shape',
          'CURSOR_VALUE_INVALID',
          `${where}, record ${index + 1}: the cursor at ${this.incremental.cursorPath} is ${Array.isArray(cursor) ? 'a list' : typeof cursor}, not a string or number`,
          { retryable: false },
        );
      }
      if (!this.#inWindow(cursor)) {
        this.#outside += 1;
        continue;
      }
      kept.push(record);
      if (this.#max === null || compareCursors(cursor, this.#max) > 0) this.#max = cursor;
    }
    return kept;
  }

  #inWindow(cursor: CursorValue): boolean {
    const { start, end } = this.window;
    if (start !== null) {
      const order = compareCursors(cursor, start);
      if (order < 0 || (order === 0 && this.incremental.rangeStart === 'open')) return false;
    }
    if (end !== null) {
      const order = compareCursors(cursor, end);
      if (order > 0 || (order === 0 && this.incremental.rangeEnd === 'open')) return false;
    }
    return true;
  }
}

/**
 * The cursor the merge stores: `undefined` leaves the stored one (a window that does not advance, or nothing
 * loaded), `null` forgets it (a reset run that loaded nothing), otherwise the larger of the stored one and the run's
 * largest (a reset run stores its own).
 */
export function nextCursor(
  stored: CursorValue | null,
  loadedMax: CursorValue | null,
  window: IncrementalWindow,
  reset: boolean,
): CursorValue | null | undefined {
  if (!window.advances) return undefined;
  if (reset) return loadedMax;
  if (loadedMax === null) return undefined;
  if (stored === null) return loadedMax;
  return compareCursors(loadedMax, stored) > 0 ? loadedMax : stored;
}

function missingCursor(path: string, where: string, index: number): IngestError {
  return new IngestError(
    'response-shape',
    'CURSOR_VALUE_MISSING',
    `${where}, record ${index + 1}: no cursor value at ${path} (set on_cursor_value_missing: include or exclude to load or leave out such records)`,
    { retryable: false },
  );
}
