/**
 * `planSource`: the first step of every run. Loads the named source's config (the shipped file, as it is now),
 * validates it and resolves it into a plan — resources in dependency order, config values bound, credentials as
 * references only — so the workflow works from that plan and a later edit of the file changes no running or
 * replayed run. A bad source name, file or selection is a non-retryable `config` error.
 */
import { resolveSource } from '../config/resolve.ts';
import type { IngestSourceInput, PlanSourceResult } from '../shared/ingest-types.ts';
import { loadSource } from '../sources/index.ts';

export interface PlanSourceDeps {
  /** Config values, base URLs (`<SOURCE>_BASE_URL`) and credential variable names come from here. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base URLs that win over the environment, per source (the sandbox in `npm start`). */
  readonly baseUrls?: Readonly<Record<string, string>>;
}

/** Resolves `input.source` (and `input.resources`) into a secret-free plan with its hash. */
export async function planSource(input: IngestSourceInput, deps: PlanSourceDeps): Promise<PlanSourceResult> {
  const loaded = await loadSource(input.source);
  const baseUrl = deps.baseUrls?.[input.source];
  const plan = resolveSource(loaded.config, {
    env: deps.env,
    origin: loaded.origin,
    ...(input.resources === undefined ? {} : { only: input.resources }),
    ...(baseUrl === undefined ? {} : { baseUrl }),
  });
  return { plan };
}
