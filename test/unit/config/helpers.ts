/**
 * Helpers for the config tests: a minimal valid source to vary, and the problems of a rejected config.
 */
import type { IngestError } from '../../../src/errors.ts';
import type { ConfigProblem } from '../../../src/config/problems.ts';
import type { SourceConfig } from '../../../src/config/schema.ts';
import { errorOf } from '../../helpers/ingest-errors.ts';

/**
 * A valid source with one resource; `extra` replaces top-level keys. Typed as a `SourceConfig` for convenience only:
 * tests vary it into invalid configs, which is fine since the validator never trusts the type.
 */
export function minimalSource(extra: Record<string, unknown> = {}): SourceConfig {
  return {
    name: 'demo',
    client: { base_url: 'https://api.test' },
    resources: [{ name: 'items', endpoint: { path: '/items', paginator: 'single_page' } }],
    ...extra,
  } as unknown as SourceConfig;
}

/** A valid source whose resources are `resources`. */
export function sourceWith(resources: readonly unknown[], extra: Record<string, unknown> = {}): SourceConfig {
  return minimalSource({ resources, ...extra });
}

export { asyncErrorOf, errorOf } from '../../helpers/ingest-errors.ts';

/** The problems of a config error, as `path: message` lines. */
export function problemLines(error: IngestError): string[] {
  const problems = error.details['problems'] as readonly ConfigProblem[];
  return problems.map((problem) => `${problem.path}: ${problem.message}`);
}

/** The problems `run` reports, as `path: message` lines. */
export function problemsOf(run: () => unknown): string[] {
  return problemLines(errorOf(run));
}
