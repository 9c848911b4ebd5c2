/**
 * Turns zod issues into config problems: one per fault, with the full path and a message in our words that names the
 * valid values and never repeats the offending value (it may be a secret). Unions are unfolded: the branch that
 * matches the value's shape explains the fault (a paginator object with a bad `limit` says so, rather than "expected
 * a string or an object").
 */
import type { z } from 'zod';
import { didYouMean, formatPath, type ConfigProblem, type PathSegment } from './problems.ts';

type Issue = z.core.$ZodIssue;

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/** A value's kind in words, never the value. */
function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const expectedWords: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  array: 'a list',
  null: 'null',
  record: 'an object',
  never: 'nothing',
};

function list(values: readonly unknown[]): string {
  return values
    .filter((value) => value !== undefined && value !== null)
    .map((value) => (typeof value === 'string' ? value : JSON.stringify(value)))
    .join(', ');
}

/** A union branch whose issues say "wrong kind of value at the root": it is not the branch the author meant. */
function isShapeMismatch(issues: readonly Issue[], value: unknown): boolean {
  return issues.some((issue) => {
    if (issue.path.length !== 0) return false;
    if (issue.code === 'invalid_type') return true;
    if (issue.code === 'invalid_value') {
      if (value === null || typeof value === 'object') return true;
      return !issue.values.some((candidate) => typeof candidate === typeof value);
    }
    return false;
  });
}

function sizeMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const bound = small ? issue.minimum : issue.maximum;
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      if (small && Number(bound) === 1) return 'must not be empty';
      return `must have ${small ? 'at least' : 'at most'} ${String(bound)} characters`;
    case 'array':
      if (small && Number(bound) === 1) return 'must not be empty';
      return `must have ${small ? 'at least' : 'at most'} ${String(bound)} items`;
    default:
      if (small && Number(bound) === 0 && !inclusive) return 'must be greater than 0';
      if (small) return `must be ${inclusive ? 'at least' : 'greater than'} ${String(bound)}`;
      return `must be ${inclusive ? 'at most' : 'less than'} ${String(bound)}`;
  }
}

function convert(issue: Issue, base: readonly PathSegment[], root: unknown, out: ConfigProblem[]): void {
  const path = [...base, ...issue.path] as PathSegment[];
  const value = valueAt(root, path);
  const push = (message: string, at: readonly PathSegment[] = path): void => {
    out.push({ path: formatPath(at), message });
  };
  switch (issue.code) {
    case 'invalid_union': {
      const extra = issue as unknown as { note?: string; options?: readonly unknown[] };
      if (extra.note === 'No matching discriminator') {
        const options = (extra.options ?? []).filter(
          (option): option is string => typeof option === 'string',
        );
        if (value === undefined) push(`required: one of ${options.join(', ')}`);
        else {
          const hint = typeof value === 'string' ? didYouMean(value, options) : '';
          push(`expected one of: ${options.join(', ')}${hint}`);
        }
        return;
      }
      const branches = issue.errors.filter((branch) => !isShapeMismatch(branch, value));
      const [only] = branches;
      if (branches.length === 1 && only !== undefined) {
        for (const inner of only) convert(inner, path, root, out);
      } else if (value === undefined) {
        push('required');
      } else {
        push(issue.message);
      }
      return;
    }
    case 'invalid_type': {
      if (value === undefined) {
        push('required');
        return;
      }
      const expected = expectedWords[issue.expected] ?? issue.expected;
      push(`expected ${expected}, got ${describeKind(value)}`);
      return;
    }
    case 'invalid_value': {
      const hint = typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : '';
      if (value === undefined)
        push(`required: ${issue.values.length === 1 ? list(issue.values) : `one of ${list(issue.values)}`}`);
      else if (issue.values.length === 1) push(`expected ${JSON.stringify(issue.values[0])}${hint}`);
      else push(`expected one of: ${list(issue.values)}${hint}`);
      return;
    }
    case 'too_small':
    case 'too_big':
      push(sizeMessage(issue));
      return;
    case 'unrecognized_keys':
      for (const key of issue.keys) push('unknown key', [...path, key]);
      return;
    case 'invalid_key': {
      const inner: ConfigProblem[] = [];
      for (const sub of issue.issues) convert(sub, [], issue.path.at(-1), inner);
      push(`invalid key: ${inner.map((problem) => problem.message).join('; ') || 'not allowed'}`);
      return;
    }
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_element':
    case 'custom':
      push(issue.message);
      return;
  }
}

/**
 * One problem per fault. `root` is the validated value (the zod input), used to describe what was found instead.
 * Issues at or below `skipPaths` (already reported elsewhere) are dropped.
 */
export function problemsFromIssues(
  issues: readonly Issue[],
  root: unknown,
  skipPaths: readonly string[] = [],
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) convert(issue, [], root, out);
  const covered = (path: string): boolean =>
    skipPaths.some((skip) => path === skip || path.startsWith(`${skip}.`) || path.startsWith(`${skip}[`));
  const seen = new Set<string>();
  return out.filter((problem) => {
    const key = `${problem.path}\u0000${problem.message}`;
    if (covered(problem.path) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
