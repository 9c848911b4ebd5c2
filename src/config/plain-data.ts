/**
 * A source config is data. This module copies a candidate config into fresh plain objects (so validation never
 * touches, freezes or mutates the caller's object) and reports, with its path, everything that is not JSON-like data:
 * functions (dlt's callables), class instances (dlt's paginator and auth objects), symbols, bigints, non-finite
 * numbers, cycles.
 */
import { formatPath, type ConfigProblem, type PathSegment } from './problems.ts';

export interface PlainDataResult {
  /** The copy; offending values are replaced by `null` (their problems say why). */
  readonly value: unknown;
  readonly problems: readonly ConfigProblem[];
  /** Paths (formatted) of the offending values, so later checks can leave them alone. */
  readonly offendingPaths: readonly string[];
}

function describeNonData(value: unknown): string | undefined {
  if (typeof value === 'function') {
    return 'a function: callables (dlt processing steps, custom paginators or auth classes) are not supported; a source file is data';
  }
  if (typeof value === 'symbol') return 'a symbol: only JSON-like data is allowed';
  if (typeof value === 'bigint') return 'a bigint: write the number as a string or a safe integer';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'not a finite number';
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      const label =
        typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object with a prototype';
      return `${label}: class instances (dlt paginator or auth objects, dates, maps) are not supported; use plain data`;
    }
  }
  return undefined;
}

/** Copies `input` as plain data and lists what is not plain data. `undefined` object values are dropped. */
export function toPlainData(input: unknown): PlainDataResult {
  const problems: ConfigProblem[] = [];
  const offendingPaths: string[] = [];
  const ancestors = new Set<object>();

  const report = (path: readonly PathSegment[], message: string): null => {
    const formatted = formatPath(path);
    problems.push({ path: formatted, message });
    offendingPaths.push(formatted);
    return null;
  };

  const copy = (value: unknown, path: readonly PathSegment[]): unknown => {
    const nonData = describeNonData(value);
    if (nonData !== undefined) return report(path, nonData);
    if (value === null || typeof value !== 'object') return value;
    if (ancestors.has(value)) return report(path, 'a reference cycle: a source file is a tree of data');
    ancestors.add(value);
    try {
      if (Array.isArray(value)) {
        return value.map((item: unknown, index) =>
          item === undefined ? report([...path, index], 'undefined in a list') : copy(item, [...path, index]),
        );
      }
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        const item: unknown = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        // defineProperty, not assignment: a key named "__proto__" must stay an ordinary key.
        Object.defineProperty(out, key, {
          value: copy(item, [...path, key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    } finally {
      ancestors.delete(value);
    }
  };

  const value = copy(input, []);
  return { value, problems, offendingPaths };
}
