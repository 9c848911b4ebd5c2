/**
 * Whole-source validation: the input is copied as plain data, checked against the schema, merged with
 * `resource_defaults`, then checked across resources — duplicate names and tables, template bindings, unknown
 * parents, dependency cycles, and the combinations we refuse (deletion detection on parent- or parameter-dependent
 * resources, `merge` without a primary key). Every problem is collected before one error is thrown, secrets masked.
 * The analysis it returns is what `resolve.ts` turns into a plan.
 */
import {
  configInvalidError,
  didYouMean,
  joinPath,
  maskProblems,
  type ConfigProblem,
  type ConfigWarning,
} from './problems.ts';
import { mergeResourceDefaults, type MergedResource } from './defaults.ts';
import { problemsFromIssues } from './issues.ts';
import { toPlainData } from './plain-data.ts';
import {
  sourceConfigSchema,
  type ParamValueConfig,
  type ResolveParamConfig,
  type ResourceDefaultsConfig,
  type ResourceEntryConfig,
  type SourceConfig,
} from './schema.ts';
import { findLiteralSecrets, type LiteralSecret } from './secrets.ts';
import { parseTemplate, type TemplateContext } from './templates.ts';
import { collectConfigWarnings } from './warnings.ts';

/** Where the keys of one merged resource are written in the file (its own entry, the defaults or the client). */
export interface ResourceLocator {
  /** Where the name is written: `resources[2].name`, or `resources[2]` for a string resource. */
  name(): string;
  /** A resource-level key, e.g. `resources[2].primary_key` or `resource_defaults.primary_key`. */
  key(key: string): string;
  /** An endpoint key, e.g. `resources[2].endpoint.path`. */
  endpoint(key: string): string;
  /** One entry of `params`, `json` or `headers` (headers may come from `client.headers`). */
  endpointEntry(group: 'params' | 'json' | 'headers', name: string): string;
  /** The auth object the resource uses. */
  auth(): string;
}

/** A header as the resource sends it, before templates are bound. */
export interface MergedHeader {
  readonly name: string;
  readonly value: string | { readonly $env: string };
  readonly location: string;
  readonly context: TemplateContext;
}

/** What the analysis knows about one resource. */
export interface AnalysedResource {
  readonly index: number;
  /** `resources[i]`. */
  readonly path: string;
  readonly resource: MergedResource;
  readonly locate: ResourceLocator;
  /** Client headers merged with the endpoint's (case-insensitive names; the endpoint wins). */
  readonly headers: readonly MergedHeader[];
  /** Config values its requests use: key → required (false when every use has an `or` fallback). */
  readonly configKeys: ReadonlyMap<string, boolean>;
  /** The parent its requests depend on, and the parent fields they use. */
  readonly parent: { readonly name: string; readonly fields: readonly string[] } | null;
  /** Resolve params by name → parent field. */
  readonly resolveParams: ReadonlyMap<string, { readonly resource: string; readonly field: string }>;
  /** Its own request (path, params, body, endpoint headers) uses config values. */
  readonly parameterDependent: boolean;
  readonly writeDisposition: 'merge' | 'replace' | 'append';
  readonly primaryKey: readonly string[];
  readonly tableName: string;
}

export interface SourceAnalysis {
  readonly config: SourceConfig;
  readonly resources: readonly AnalysedResource[];
  readonly warnings: readonly ConfigWarning[];
  /** Credentials written inline (their values are masked in every message). */
  readonly literalSecrets: readonly LiteralSecret[];
}

/** True for `{ type: resolve, resource, field }`. */
export function isResolveParam(value: ParamValueConfig | undefined): value is ResolveParamConfig {
  return value !== null && typeof value === 'object' && 'type' in value && value.type === 'resolve';
}

function has(object: unknown, key: string): boolean {
  return object !== null && typeof object === 'object' && Object.hasOwn(object, key);
}

function makeLocator(
  entry: ResourceEntryConfig,
  index: number,
  defaults: ResourceDefaultsConfig | undefined,
  client: SourceConfig['client'],
): ResourceLocator {
  const own = `resources[${index}]`;
  const ownEndpoint = typeof entry === 'string' ? undefined : entry.endpoint;
  const defaultEndpoint = typeof defaults?.endpoint === 'object' ? defaults.endpoint : undefined;
  const endpoint = (key: string): string => {
    if (key === 'path') {
      // dlt: a string resource is its path, a string endpoint is a path, a missing path is the name.
      if (typeof entry === 'string') return own;
      if (typeof ownEndpoint === 'string') return joinPath(own, 'endpoint');
      return has(ownEndpoint, 'path') ? joinPath(own, 'endpoint', 'path') : joinPath(own, 'name');
    }
    if (typeof ownEndpoint === 'object' && has(ownEndpoint, key)) return joinPath(own, 'endpoint', key);
    if (has(defaultEndpoint, key)) return joinPath('resource_defaults', 'endpoint', key);
    return typeof entry === 'string' ? own : joinPath(own, 'endpoint', key);
  };
  return {
    name: () => (typeof entry === 'string' ? own : joinPath(own, 'name')),
    key: (key) =>
      (typeof entry !== 'string' && has(entry, key)) || !has(defaults, key)
        ? joinPath(own, key)
        : joinPath('resource_defaults', key),
    endpoint,
    endpointEntry: (group, name) => {
      if (typeof ownEndpoint === 'object' && has(ownEndpoint[group], name))
        return joinPath(own, 'endpoint', group, name);
      if (has(defaultEndpoint?.[group], name)) return joinPath('resource_defaults', 'endpoint', group, name);
      if (group === 'headers' && has(client.headers, name)) return joinPath('client', 'headers', name);
      return joinPath(endpoint(group), name);
    },
    auth: () => {
      if ((typeof ownEndpoint === 'object' && has(ownEndpoint, 'auth')) || has(defaultEndpoint, 'auth'))
        return endpoint('auth');
      return joinPath('client', 'auth');
    },
  };
}

function mergeHeaders(
  client: SourceConfig['client'],
  resource: MergedResource,
  locate: ResourceLocator,
): MergedHeader[] {
  const byName = new Map<string, MergedHeader>();
  for (const [name, value] of Object.entries(client.headers ?? {})) {
    byName.set(name.toLowerCase(), {
      name,
      value,
      location: joinPath('client', 'headers', name),
      context: 'client-header',
    });
  }
  for (const [name, value] of Object.entries(resource.endpoint.headers ?? {})) {
    byName.set(name.toLowerCase(), {
      name,
      value,
      location: locate.endpointEntry('headers', name),
      context: 'header',
    });
  }
  return [...byName.values()];
}

/** The disposition of a merged resource (dlt's default: append). */
export function writeDispositionOf(resource: MergedResource): 'merge' | 'replace' | 'append' {
  const value = resource.write_disposition;
  if (value === undefined) return 'append';
  return typeof value === 'string' ? value : value.disposition;
}

/** The primary key: `primary_key`, else the columns marked `primary_key: true`. */
export function primaryKeyOf(resource: MergedResource): readonly string[] {
  const key = resource.primary_key;
  if (typeof key === 'string') return [key];
  if (key !== undefined) return key;
  return Object.entries(resource.columns ?? {})
    .filter(([, hints]) => hints.primary_key === true)
    .map(([name]) => name);
}

function analyseResource(
  config: SourceConfig,
  entry: ResourceEntryConfig,
  index: number,
  problems: ConfigProblem[],
): AnalysedResource {
  const resource = mergeResourceDefaults(config.resource_defaults, entry);
  const locate = makeLocator(entry, index, config.resource_defaults, config.client);
  const { endpoint } = resource;
  const configKeys = new Map<string, boolean>();
  let parameterDependent = false;
  const parentRefs: { resource: string; field: string; location: string }[] = [];
  const resolveParams = new Map<string, { resource: string; field: string; location: string }>();
  const usedResolveParams = new Set<string>();
  const params = endpoint.params ?? {};
  for (const [name, value] of Object.entries(params)) {
    if (isResolveParam(value)) {
      resolveParams.set(name, {
        resource: value.resource,
        field: value.field,
        location: locate.endpointEntry('params', name),
      });
    }
  }

  const visit = (text: string, context: TemplateContext, location: string): void => {
    const parsed = parseTemplate(text);
    if (!parsed.ok) return; // reported by the schema
    for (const token of parsed.tokens) {
      if (token.kind !== 'expression') continue;
      const expression = token.expression;
      switch (expression.kind) {
        case 'config':
          configKeys.set(
            expression.key,
            (configKeys.get(expression.key) ?? false) || expression.fallback === undefined,
          );
          if (context !== 'client-header') parameterDependent = true;
          break;
        case 'resource_field':
          parentRefs.push({ resource: expression.resource, field: expression.field, location });
          break;
        case 'stream_slice':
        case 'resolve_param': {
          const binding = resolveParams.get(expression.name);
          if (binding !== undefined) {
            usedResolveParams.add(expression.name);
            parentRefs.push({
              resource: binding.resource,
              field: binding.field,
              location: joinPath(binding.location, 'resource'),
            });
          } else if (expression.kind === 'stream_slice') {
            problems.push({
              path: location,
              message: `${token.source} needs the parent binding params.${expression.name}: { type: resolve, resource: <parent>, field: <field of the parent record> }`,
            });
          } else if (Object.hasOwn(params, expression.name)) {
            problems.push({
              path: location,
              message: `${token.source}: binding the static param "${expression.name}" into the path is not supported (dlt deprecates it); write its value in the path`,
            });
          } else {
            problems.push({
              path: location,
              message: `${token.source} names no resolve param: add params.${expression.name}: { type: resolve, resource, field }, or write {resources.<parent>.<field>}`,
            });
          }
          break;
        }
      }
    }
  };

  visit(endpoint.path, 'path', locate.endpoint('path'));
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') visit(value, 'param', locate.endpointEntry('params', name));
  }
  const visitJson = (value: unknown, location: string): void => {
    if (typeof value === 'string') visit(value, 'json', location);
    else if (Array.isArray(value))
      value.forEach((item: unknown, position) => visitJson(item, joinPath(location, position)));
    else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visitJson(item, joinPath(location, key));
    }
  };
  for (const [key, value] of Object.entries(endpoint.json ?? {}))
    visitJson(value, locate.endpointEntry('json', key));
  const headers = mergeHeaders(config.client, resource, locate);
  for (const header of headers) {
    if (typeof header.value === 'string') visit(header.value, header.context, header.location);
  }

  for (const [name, binding] of resolveParams) {
    if (!usedResolveParams.has(name)) {
      problems.push({
        path: binding.location,
        message: `the resolve param "${name}" is not used: reference it as {${name}} in the path or as {{ stream_slice.${name} }}`,
      });
    }
  }
  const parents = [...new Set(parentRefs.map((ref) => ref.resource))];
  if (parents.length > 1) {
    problems.push({
      path: locate.endpoint('path'),
      message: `the requests of "${resource.name}" depend on several resources (${parents.join(', ')}); a resource has at most one parent`,
    });
  }
  const [parentName] = parents;
  return {
    index,
    path: `resources[${index}]`,
    resource,
    locate,
    headers,
    configKeys,
    parent:
      parentName === undefined
        ? null
        : { name: parentName, fields: [...new Set(parentRefs.map((ref) => ref.field))].sort() },
    resolveParams,
    parameterDependent,
    writeDisposition: writeDispositionOf(resource),
    primaryKey: primaryKeyOf(resource),
    tableName: resource.table_name ?? resource.name,
  };
}

function checkAcrossResources(resources: readonly AnalysedResource[], problems: ConfigProblem[]): void {
  const byName = new Map<string, AnalysedResource>();
  for (const analysed of resources) {
    const first = byName.get(analysed.resource.name);
    if (first === undefined) byName.set(analysed.resource.name, analysed);
    else {
      problems.push({
        path: analysed.locate.name(),
        message: `duplicate resource name "${analysed.resource.name}" (first defined at ${first.path})`,
      });
    }
  }
  const names = [...byName.keys()];

  const tables = new Map<string, AnalysedResource>();
  for (const analysed of resources) {
    const bytes = Buffer.byteLength(analysed.tableName, 'utf8');
    if (bytes > 63) {
      problems.push({
        path:
          analysed.resource.table_name === undefined
            ? analysed.locate.name()
            : analysed.locate.key('table_name'),
        message: `the table name is ${bytes} bytes long; Postgres allows 63 (set a shorter table_name)`,
      });
    }
    const other = tables.get(analysed.tableName);
    if (other !== undefined && other.resource.name !== analysed.resource.name) {
      problems.push({
        path: analysed.locate.key('table_name'),
        message: `resources "${other.resource.name}" and "${analysed.resource.name}" both write the table "${analysed.tableName}"`,
      });
    } else tables.set(analysed.tableName, analysed);
  }

  for (const analysed of resources) {
    const parent = analysed.parent;
    if (parent !== null && !byName.has(parent.name)) {
      problems.push({
        path: analysed.locate.endpoint('path'),
        message: `unknown parent resource "${parent.name}"${didYouMean(parent.name, names)}; the resources are: ${names.join(', ')}`,
      });
    }
  }

  const reported = new Set<string>();
  for (const start of resources) {
    const chain: string[] = [];
    let current: AnalysedResource | undefined = start;
    while (current !== undefined && !chain.includes(current.resource.name)) {
      chain.push(current.resource.name);
      current = current.parent === null ? undefined : byName.get(current.parent.name);
    }
    if (current === undefined) continue;
    const cycle = chain.slice(chain.indexOf(current.resource.name));
    const key = [...cycle].sort().join('\u0000');
    if (reported.has(key)) continue;
    reported.add(key);
    const first = resources.find((candidate) => cycle.includes(candidate.resource.name)) ?? start;
    const from = cycle.indexOf(first.resource.name);
    const ordered = [...cycle.slice(from), ...cycle.slice(0, from), first.resource.name];
    problems.push({
      path: first.locate.endpoint('path'),
      message: `dependency cycle: ${ordered.join(' → ')} (each resource's requests need records of the next)`,
    });
  }

  for (const analysed of resources) {
    const { resource } = analysed;
    if (analysed.writeDisposition === 'merge' && analysed.primaryKey.length === 0) {
      problems.push({
        path: analysed.locate.key('write_disposition'),
        message: `merge needs a primary key: set primary_key on "${resource.name}" (or in resource_defaults)`,
      });
    }
    if (resource.deletion_detection !== true) continue;
    const at = analysed.locate.key('deletion_detection');
    const inherited = at.startsWith('resource_defaults')
      ? ' (set in resource_defaults; set it to false on this resource)'
      : '';
    if (analysed.parent !== null) {
      problems.push({
        path: at,
        message: `deletion detection is refused for "${resource.name}": its requests depend on the parent resource "${analysed.parent.name}", so no fetch sees the whole table${inherited}`,
      });
    } else if (analysed.parameterDependent) {
      problems.push({
        path: at,
        message: `deletion detection is refused for "${resource.name}": its request depends on config values (${[...analysed.configKeys.keys()].join(', ')}), so a fetch does not see the whole table${inherited}`,
      });
    } else if (analysed.writeDisposition !== 'merge') {
      problems.push({
        path: at,
        message: `deletion detection needs write_disposition merge ("${resource.name}" uses ${analysed.writeDisposition})${inherited}`,
      });
    }
  }
}

/** A validated source file and its warnings. */
export interface ValidatedSource {
  readonly config: SourceConfig;
  readonly warnings: readonly ConfigWarning[];
}

/**
 * Validates a source config (parsed YAML/JSON or a TS object; never mutated: the result is a copy). Throws one
 * `IngestError` (`config`/`CONFIG_INVALID`) listing every problem with its path; secrets are masked.
 */
export function validateSourceConfig(
  input: unknown,
  options: { readonly origin?: string } = {},
): ValidatedSource {
  const { config, warnings } = analyseSource(input, options);
  return { config, warnings };
}

/**
 * Validates a source config (any value: parsed YAML/JSON or a TS object, never mutated) and analyses it. Throws one
 * `IngestError` (`config`/`CONFIG_INVALID`) listing every problem with its path; secrets are masked.
 */
export function analyseSource(input: unknown, options: { readonly origin?: string } = {}): SourceAnalysis {
  const plain = toPlainData(input);
  const literalSecrets = findLiteralSecrets(plain.value);
  const secretValues = literalSecrets.map((secret) => secret.value);
  const fail = (problems: readonly ConfigProblem[]): never => {
    throw configInvalidError(maskProblems(problems, secretValues), { origin: options.origin });
  };

  const parsed = sourceConfigSchema.safeParse(plain.value);
  const schemaProblems = [
    ...plain.problems,
    ...(parsed.success ? [] : problemsFromIssues(parsed.error.issues, plain.value, plain.offendingPaths)),
  ];
  if (!parsed.success || schemaProblems.length > 0) return fail(schemaProblems);
  const config = parsed.data as SourceConfig;

  const problems: ConfigProblem[] = [];
  const resources = config.resources.map((entry, index) => analyseResource(config, entry, index, problems));
  checkAcrossResources(resources, problems);
  if (problems.length > 0) return fail(problems);

  const warnings = maskProblems(collectConfigWarnings(config, resources, literalSecrets), secretValues);
  return { config, resources, warnings, literalSecrets };
}
