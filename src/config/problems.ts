/**
 * How config problems and warnings are described: a path into the source file (`resources[3].endpoint.paginator`)
 * and a message that never contains a secret. Problems become one `IngestError` listing all of them; warnings are
 * returned as data for the caller to show.
 */
import { IngestError } from '../errors.ts';

/** A path segment: an object key or an array index. */
export type PathSegment = string | number;

/** Something wrong with a config, at a path. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** Something a config does that has no effect or is discouraged, at a path. */
export type { ConfigWarning } from '../shared/plan.ts';

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['resources', 3, 'endpoint']` → `resources[3].endpoint`; keys that are not identifiers are quoted. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (identifier.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** Joins a formatted path and more segments. */
export function joinPath(base: string, ...segments: readonly PathSegment[]): string {
  const tail = formatPath(segments);
  if (base === '(root)' || base === '') return tail;
  if (segments.length === 0) return base;
  return tail.startsWith('[') ? `${base}${tail}` : `${base}.${tail}`;
}

/** Replaces every occurrence of each secret in `text` with `***` (secrets shorter than 4 characters are left). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) out = out.replaceAll(secret, '***');
  }
  return out;
}

/** Masks every message of a list of problems or warnings. */
export function maskProblems<T extends ConfigProblem>(
  problems: readonly T[],
  secrets: readonly string[],
): T[] {
  return problems.map((problem) => ({
    ...problem,
    path: maskSecrets(problem.path, secrets),
    message: maskSecrets(problem.message, secrets),
  }));
}

/** The one error for an invalid config: code `CONFIG_INVALID`, every problem in the message and in `details`. */
export function configInvalidError(
  problems: readonly ConfigProblem[],
  context: { readonly origin?: string | undefined; readonly code?: string } = {},
): IngestError {
  const where = context.origin === undefined ? '' : ` (${context.origin})`;
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((problem) => `  - ${problem.path}: ${problem.message}`);
  return new IngestError(
    'config',
    context.code ?? 'CONFIG_INVALID',
    `Invalid source config${where}: ${count}\n${lines.join('\n')}`,
    {
      details: {
        problems: problems.map((problem) => ({ ...problem })),
        ...(context.origin === undefined ? {} : { origin: context.origin }),
      },
    },
  );
}

/** Damerau-free Levenshtein distance, small strings only. */
function distance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = previous[0] ?? 0;
    previous[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = previous[j] ?? 0;
      const left = previous[j - 1] ?? 0;
      previous[j] = Math.min(above + 1, left + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length] ?? 0;
}

/** The candidate closest to `input` when it is close enough to be a typo, for a "did you mean" hint. */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    const score = distance(lower, candidate.toLowerCase());
    if (best === undefined || score < best.score) best = { candidate, score };
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.min(3, Math.floor(Math.max(input.length, best.candidate.length) / 3)));
  return best.score <= allowed ? best.candidate : undefined;
}

/** `did you mean "x"?` or an empty string. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const match = closestMatch(input, candidates);
  return match === undefined ? '' : ` — did you mean "${match}"?`;
}
