/**
 * The analysis of one resource: `resource_defaults` merged in, its templates walked for the config values, parent
 * fields and incremental placeholders its requests use, its resolve params and incremental config checked, its
 * headers merged with the client's, and its disposition, primary key and table name settled. Problems are collected
 * into the caller's list.
 */
import type { ResolvedParentField } from '../shared/plan.ts';
import { mergeResourceDefaults, type MergedResource } from './defaults.ts';
import { analyseIncremental, type AnalysedIncremental, type IncrementalPlaceholder } from './incremental.ts';
import { makeLocator, type ResourceLocator } from './locate.ts';
import { joinPath, type ConfigProblem } from './problems.ts';
import type { ParamValueConfig, ResolveParamConfig, ResourceEntryConfig, SourceConfig } from './schema.ts';
import { parseTemplate, type TemplateContext } from './templates.ts';

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
  /**
   * The parent its requests depend on, and the parent fields they use: the resolve params' fields in the order
   * written, then those of `{resources.<parent>.<field>}` placeholders; each field once.
   */
  readonly parent: { readonly name: string; readonly fields: readonly string[] } | null;
  /** `include_from_parent` with dlt's names (empty without a parent: that is a problem, see `resource-rules.ts`). */
  readonly includeFromParent: readonly ResolvedParentField[];
  /** Resolve params by name → parent field. */
  readonly resolveParams: ReadonlyMap<string, { readonly resource: string; readonly field: string }>;
  /** Its own request (path, params, body, endpoint headers) uses config values. */
  readonly parameterDependent: boolean;
  readonly writeDisposition: 'merge' | 'replace' | 'append';
  readonly primaryKey: readonly string[];
  readonly tableName: string;
  /** Its incremental config (`endpoint.incremental` or an incremental param), or null. */
  readonly incremental: AnalysedIncremental | null;
}

/** One reference to a parent resource, and where it is written. */
interface ParentRef {
  readonly resource: string;
  readonly field: string;
  readonly location: string;
  /** The reference in words, for messages. */
  readonly what: string;
}

/**
 * The one parent of a resource's references. dlt allows several resolve params as long as they name the same
 * parent; each reference naming another is a problem at its own path.
 */
function parentOf(
  name: string,
  refs: readonly ParentRef[],
  problems: ConfigProblem[],
): AnalysedResource['parent'] {
  const [first] = refs;
  if (first === undefined) return null;
  const reported = new Set<string>();
  for (const ref of refs) {
    if (ref.resource === first.resource || reported.has(ref.location)) continue;
    reported.add(ref.location);
    problems.push({
      path: ref.location,
      message: `${ref.what} names the parent "${ref.resource}", but ${first.what} (${first.location}) names "${first.resource}": a resource has one parent, so every resolve param of "${name}" (and every {resources.<parent>.<field>}) must name the same one`,
    });
  }
  const fields = refs.filter((ref) => ref.resource === first.resource).map((ref) => ref.field);
  return { name: first.resource, fields: [...new Set(fields)] };
}

/** The stored name of a parent field copied into a child record: dlt's `_<parent>_<field>`, dots made `__`. */
export function parentFieldName(parent: string, field: string): string {
  return `_${parent}_${field.replaceAll('.', '__')}`;
}

function parentFieldsOf(resource: MergedResource, parent: AnalysedResource['parent']): ResolvedParentField[] {
  if (parent === null) return [];
  return (resource.include_from_parent ?? []).map((field) => ({
    field,
    as: parentFieldName(parent.name, field),
  }));
}

/** True for `{ type: resolve, resource, field }`. */
export function isResolveParam(value: ParamValueConfig | undefined): value is ResolveParamConfig {
  return value !== null && typeof value === 'object' && 'type' in value && value.type === 'resolve';
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

/** Analyses `resources[index]`; its problems are added to `problems`. */
export function analyseResource(
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
  // Every reference to a parent: the resolve params first, in the order written, then `{resources.<p>.<f>}`.
  const parentRefs: ParentRef[] = [];
  const placeholders: IncrementalPlaceholder[] = [];
  const resolveParams = new Map<string, { resource: string; field: string; location: string }>();
  const usedResolveParams = new Set<string>();
  const params = endpoint.params ?? {};
  for (const [name, value] of Object.entries(params)) {
    if (isResolveParam(value)) {
      const location = locate.endpointEntry('params', name);
      resolveParams.set(name, { resource: value.resource, field: value.field, location });
      parentRefs.push({
        resource: value.resource,
        field: value.field,
        location,
        what: `the resolve param "${name}"`,
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
          parentRefs.push({
            resource: expression.resource,
            field: expression.field,
            location,
            what: token.source,
          });
          break;
        case 'incremental':
          placeholders.push({ location, source: token.source });
          break;
        case 'stream_slice':
        case 'resolve_param': {
          const binding = resolveParams.get(expression.name);
          if (binding !== undefined) usedResolveParams.add(expression.name);
          else if (expression.kind === 'stream_slice') {
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
  const parent = parentOf(resource.name, parentRefs, problems);
  return {
    index,
    path: `resources[${index}]`,
    resource,
    locate,
    headers,
    configKeys,
    parent,
    includeFromParent: parentFieldsOf(resource, parent),
    resolveParams,
    parameterDependent,
    writeDisposition: writeDispositionOf(resource),
    primaryKey: primaryKeyOf(resource),
    tableName: resource.table_name ?? resource.name,
    incremental: analyseIncremental(resource, locate, placeholders, problems),
  };
}
