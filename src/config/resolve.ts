/**
 * Resolution: a validated source plus the environment (and optionally a resource selection) becomes the plan a run
 * executes (`ResolvedSource`, see `plan.ts`): the base URL and config values read, resources selected and ordered
 * parents first (`select.ts`), endpoints bound (`bind-endpoint.ts`), resources with missing config values skipped
 * with a reason, and the plan hashed.
 */
import { analyseSource, type SourceAnalysis } from './analyse.ts';
import type { AnalysedResource } from './analyse-resource.ts';
import { resolveEndpoint, type BoundValue } from './bind-endpoint.ts';
import { baseUrlEnvVar, configEnvVar, readEnv } from './env.ts';
import {
  type ResolvedColumn,
  type ResolvedDependency,
  type ResolvedResource,
  type ResolvedRetry,
  type ResolvedSource,
  type ResourceSkip,
} from '../shared/plan.ts';
import { planHash } from './plan-hash.ts';
import { configInvalidError, maskProblems, type ConfigProblem } from './problems.ts';
import type { SourceConfig } from './schema.ts';
import { pollOf } from './resource-rules.ts';
import { isRepeatable, orderResources, selectResources } from './select.ts';

export interface ResolveOptions {
  /** Where config values, the base URL and (later) credentials come from: usually `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Run only these resources (and their parents, unless a parent has side effects); default: every resource not
   * `selected: false`.
   */
  readonly only?: readonly string[];
  /** A base URL that wins over `<SOURCE>_BASE_URL` and `client.base_url` (the sandbox, tests). */
  readonly baseUrl?: string;
  /** Where the config came from, for messages (a file path). */
  readonly origin?: string;
}

function checkUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an absolute http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http(s) URL';
  if (url.username !== '' || url.password !== '') return 'credentials in a URL are not allowed: use auth';
  if (url.hash !== '') return 'a URL fragment (#…) is not allowed';
  return undefined;
}

function resolveBaseUrl(analysis: SourceAnalysis, options: ResolveOptions): string {
  const name = analysis.config.name;
  const variable = baseUrlEnvVar(name);
  const fromEnv = readEnv(options.env, variable);
  const candidates: [string | undefined, string][] = [
    [options.baseUrl, 'options.baseUrl'],
    [fromEnv, `environment ${variable}`],
    [analysis.config.client.base_url, 'client.base_url'],
  ];
  const found = candidates.find(([value]) => value !== undefined && value !== '');
  if (found === undefined || found[0] === undefined) {
    throw configInvalidError([{ path: 'client.base_url', message: `required (or set ${variable})` }], {
      origin: options.origin,
    });
  }
  const problem = checkUrl(found[0]);
  if (problem !== undefined)
    throw configInvalidError([{ path: found[1], message: problem }], { origin: options.origin });
  return found[0];
}

function configValues(analysis: SourceAnalysis, env: ResolveOptions['env']): Map<string, BoundValue> {
  const { config } = analysis;
  const keys = new Set<string>(Object.keys(config.config ?? {}));
  for (const analysed of analysis.resources) for (const key of analysed.configKeys.keys()) keys.add(key);
  const values = new Map<string, BoundValue>();
  for (const key of keys) {
    const fromEnv = readEnv(env, configEnvVar(config.name, key));
    const fromFile = config.config?.[key];
    const value = fromEnv ?? fromFile;
    if (value !== undefined && value !== null && value !== '') values.set(key, value);
  }
  return values;
}

function resolveColumns(analysed: AnalysedResource): Record<string, ResolvedColumn> {
  const out: Record<string, ResolvedColumn> = {};
  for (const [name, hints] of Object.entries(analysed.resource.columns ?? {})) {
    out[name] = {
      dataType: hints.data_type ?? null,
      nullable: hints.nullable ?? null,
      precision: hints.precision ?? null,
      scale: hints.scale ?? null,
      timezone: hints.timezone ?? null,
      description: hints.description ?? null,
    };
  }
  return out;
}

function skipFor(
  analysed: AnalysedResource,
  values: ReadonlyMap<string, BoundValue>,
  source: string,
): ResourceSkip | null {
  // Sorted, like every list the plan derives from object keys: the plan (and its hash) must not depend on key order.
  const missing = [...analysed.configKeys]
    .filter(([key, required]) => required && !values.has(key))
    .map(([key]) => key)
    .sort();
  if (missing.length === 0) return null;
  const variables = missing.map((key) => configEnvVar(source, key)).join(', ');
  return {
    reason: `config value${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set (set ${variables}, or the config block of the source file)`,
    missingConfig: missing,
  };
}

function dependencyFor(
  analysed: AnalysedResource,
  selection: ReadonlyMap<string, unknown>,
  planned: ReadonlyMap<string, ResolvedResource>,
  byName: ReadonlyMap<string, AnalysedResource>,
): ResolvedDependency | null {
  if (analysed.parent === null) return null;
  const parentName = analysed.parent.name;
  const base = {
    parent: parentName,
    fields: analysed.parent.fields,
    includeFromParent: analysed.includeFromParent,
  };
  const parentPlan = planned.get(parentName);
  if (selection.has(parentName) && parentPlan !== undefined) {
    if (parentPlan.skip === null) return { ...base, parentRecordsFrom: 'run', note: null };
    return {
      ...base,
      parentRecordsFrom: 'storage',
      note: `the parent "${parentName}" is skipped (${parentPlan.skip.reason}); its stored records are used`,
    };
  }
  const parent = byName.get(parentName);
  const why =
    parent !== undefined && !isRepeatable(parent)
      ? '; it is never run implicitly because it has side effects (side_effects: true)'
      : '';
  return {
    ...base,
    parentRecordsFrom: 'storage',
    note: `the parent "${parentName}" is not in this run${why}; its stored records are used`,
  };
}

/**
 * Each resource with `childFields`: the sorted union of the resolve and `include_from_parent` fields of the
 * resources of this plan whose parent it is.
 */
function withChildFields(resources: readonly ResolvedResource[]): ResolvedResource[] {
  const needed = new Map<string, Set<string>>();
  for (const resource of resources) {
    const dependency = resource.dependency;
    if (dependency === null) continue;
    const fields = needed.get(dependency.parent) ?? new Set<string>();
    for (const field of dependency.fields) fields.add(field);
    for (const included of dependency.includeFromParent) fields.add(included.field);
    needed.set(dependency.parent, fields);
  }
  return resources.map((resource) => ({
    ...resource,
    childFields: [...(needed.get(resource.name) ?? [])].sort(),
  }));
}

function collectEnvVariables(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) for (const item of value) collectEnvVariables(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$env' && typeof item === 'string') into.add(item);
      else collectEnvVariables(item, into);
    }
  }
}

/**
 * Resolves a source into the plan of one run. The config is validated again (a TS object is never trusted); problems
 * throw `CONFIG_INVALID`, an unknown name in `only` throws `SELECTION_INVALID` listing the valid names. A resource
 * whose required config values are missing is skipped with a reason, never requested with an empty parameter.
 */
export function resolveSource(config: SourceConfig, options: ResolveOptions): ResolvedSource {
  const analysis = analyseSource(config, options.origin === undefined ? {} : { origin: options.origin });
  const secretValues = analysis.literalSecrets.map((secret) => secret.value);
  const name = analysis.config.name;
  const baseUrl = resolveBaseUrl(analysis, options);
  const values = configValues(analysis, options.env);
  const selection = selectResources(analysis, options);
  const byName = new Map(analysis.resources.map((analysed) => [analysed.resource.name, analysed]));
  const problems: ConfigProblem[] = [];
  const planned = new Map<string, ResolvedResource>();

  for (const analysed of orderResources(analysis, selection)) {
    const resourceName = analysed.resource.name;
    const common = {
      name: resourceName,
      tableName: analysed.tableName,
      primaryKey: analysed.primaryKey,
      writeDisposition: analysed.writeDisposition,
      deletionDetection: analysed.resource.deletion_detection === true,
      columns: resolveColumns(analysed),
      dependency: dependencyFor(analysed, selection, planned, byName),
      parameterDependent: analysed.parameterDependent,
      repeatable: isRepeatable(analysed),
      childFields: [],
      poll: pollOf(analysed),
      configKeys: [...analysed.configKeys.keys()].sort(),
      selection: selection.get(resourceName) ?? 'default',
    };
    const skip = skipFor(analysed, values, name);
    const resource: ResolvedResource =
      skip === null
        ? {
            ...common,
            skip: null,
            endpoint: resolveEndpoint({ analysed, values, problems }, analysis.config),
          }
        : { ...common, skip, endpoint: null };
    planned.set(resourceName, resource);
  }
  if (problems.length > 0) {
    throw configInvalidError(maskProblems(problems, secretValues), { origin: options.origin });
  }

  const resources = withChildFields([...planned.values()]);
  const variables = new Set<string>();
  collectEnvVariables(resources, variables);
  const plan = {
    planVersion: 1 as const,
    source: name,
    baseUrl,
    resources,
    secretVariables: [...variables].sort(),
    ...(analysis.config.retry === undefined ? {} : { retry: resolveRetry(analysis.config.retry) }),
    ...(analysis.config.rejected_records?.retention_days === undefined
      ? {}
      : { rejectedRetentionDays: analysis.config.rejected_records.retention_days }),
  };
  return { ...plan, warnings: analysis.warnings, hash: planHash(plan) };
}

/** The `retry` block in milliseconds, keeping only what is set. */
function resolveRetry(retry: NonNullable<SourceConfig['retry']>): ResolvedRetry {
  const ms = (seconds: number | undefined) =>
    seconds === undefined ? undefined : Math.round(seconds * 1000);
  const entries = Object.entries({
    maxAttempts: retry.max_attempts,
    initialDelayMs: ms(retry.initial_delay_seconds),
    maxDelayMs: ms(retry.max_delay_seconds),
    retryAfterFloorMs: ms(retry.retry_after_floor_seconds),
    retryAfterCeilingMs: ms(retry.retry_after_ceiling_seconds),
  }).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries);
}
