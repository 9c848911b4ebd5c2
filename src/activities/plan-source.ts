/**
 * `planSource`: the first step of every run. Loads the named source from the sources folder (rescanned: the file
 * as it is now), validates it and resolves it into a plan — resources in dependency order, config values bound,
 * credentials as references only — so the workflow works from that plan and a later edit of the file changes no
 * running or replayed run. A bad source name, file or selection is a non-retryable `config` error; a credential
 * variable of the plan that is not set is a non-retryable `auth` error (`SECRET_NOT_SET`, the same code and category
 * as the HTTP layer's own check) for this source only — a worker serves its other sources whatever this one lacks.
 */
import { readEnv } from '../config/env.ts';
import type { LoadedSource } from '../config/load.ts';
import { loadSourceByName, shippedSourcesDir } from '../config/registry.ts';
import { resolveSource } from '../config/resolve.ts';
import { IngestError } from '../errors.ts';
import { checkRunInput } from './run-input.ts';
import type { IngestSourceInput, PlanSourceResult } from '../shared/ingest-types.ts';
import type { ResolvedSource } from '../shared/plan.ts';

export interface PlanSourceDeps {
  /** Config values, base URLs (`<SOURCE>_BASE_URL`) and credentials come from here. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base URLs that win over the environment, per source (the sandbox in `npm start`). */
  readonly baseUrls?: Readonly<Record<string, string>>;
  /** The sources folder (`INGEST_SOURCES_DIR`, `--sources`); default: the repository's `sources/`. */
  readonly sourcesDir?: string;
}

/** Resolves `input.source` (and `input.resources`) into a secret-free plan with its hash. */
export async function planSource(input: IngestSourceInput, deps: PlanSourceDeps): Promise<PlanSourceResult> {
  const loaded = await loadSourceByName(deps.sourcesDir ?? shippedSourcesDir, input.source);
  const plan = resolvePlan(loaded, input, deps);
  checkRunInput(input, plan);
  const missing = missingSecretVariables(plan, deps.env);
  if (missing.length > 0) {
    const variables = missing.join(', ');
    throw new IngestError(
      'auth',
      'SECRET_NOT_SET',
      `source ${plan.source}: ${missing.length === 1 ? 'the credential variable' : 'the credential variables'} ` +
        `${variables} ${missing.length === 1 ? 'is' : 'are'} not set in the worker's environment; set ` +
        `${missing.length === 1 ? 'it' : 'them'} and start the run again`,
      { details: { source: plan.source, variables: missing } },
    );
  }
  return { plan };
}

/** The plan of a loaded source, without checking its credentials (what a worker lists at start-up). */
export function resolvePlan(
  loaded: LoadedSource,
  input: IngestSourceInput,
  deps: Pick<PlanSourceDeps, 'env' | 'baseUrls'>,
): ResolvedSource {
  const baseUrl = deps.baseUrls?.[loaded.config.name];
  return resolveSource(loaded.config, {
    env: deps.env,
    origin: loaded.origin,
    ...(input.resources === undefined ? {} : { only: input.resources }),
    ...(baseUrl === undefined ? {} : { baseUrl }),
  });
}

/** The credential variables of `plan` that are unset or empty in `env` (names only). */
export function missingSecretVariables(
  plan: Pick<ResolvedSource, 'secretVariables'>,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  return plan.secretVariables.filter((variable) => readEnv(env, variable) === undefined);
}
