/**
 * Resolution: a validated source plus the environment (and optionally a resource selection) becomes the plan a run
 * executes (`ResolvedSource`, see `plan.ts`). Here config values are bound into the templates, defaults applied
 * (paginator, auth, data selector), resources selected and ordered parents first, resources with missing config
 * values skipped with a reason, and the plan hashed.
 *
 * Selection rule: asking for a child also runs its parent when the parent's request is repeatable — a GET that uses
 * no config value. Otherwise (e.g. `sms`, which sends a message built from config values) the parent is never run
 * implicitly: the child reads the parent's records from storage (`dependency.parentRecordsFrom: 'storage'`).
 */
import { analyseSource, isResolveParam, type AnalysedResource, type SourceAnalysis } from './analyse.ts';
import { baseUrlEnvVar, configEnvVar, credentialEnvVar, readEnv } from './env.ts';
import {
  defaultMaxPages,
  planHash,
  type JsonValue,
  type ResolvedAuth,
  type ResolvedColumn,
  type ResolvedDependency,
  type ResolvedEndpoint,
  type ResolvedHeaderValue,
  type ResolvedJsonBody,
  type ResolvedPaginator,
  type ResolvedParamValue,
  type ResolvedResource,
  type ResolvedResponseAction,
  type ResolvedRetry,
  type ResolvedSource,
  type ResolvedTemplate,
  type ResolvedTemplatePart,
  type ResourceSkip,
  type SecretOrText,
  type SecretRef,
} from './plan.ts';
import { configInvalidError, didYouMean, joinPath, maskProblems, type ConfigProblem } from './problems.ts';
import { encodePathValue } from './render.ts';
import type { AuthConfig, ConfigValue, PaginatorConfig, SecretStringConfig, SourceConfig } from './schema.ts';
import { isSensitiveName } from './secrets.ts';
import { isSingleEntityPath, parseTemplate, type TemplateContext } from './templates.ts';

export interface ResolveOptions {
  /** Where config values, the base URL and (later) credentials come from: usually `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Run only these resources (and their repeatable parents); default: every resource not `selected: false`. */
  readonly only?: readonly string[];
  /** A base URL that wins over `<SOURCE>_BASE_URL` and `client.base_url` (the sandbox, tests). */
  readonly baseUrl?: string;
  /** Where the config came from, for messages (a file path). */
  readonly origin?: string;
}

type BoundValue = Exclude<ConfigValue, null>;

/** A resource whose request may be run implicitly (as a parent): a GET that uses no config value. */
function isRepeatable(analysed: AnalysedResource): boolean {
  return (analysed.resource.endpoint.method ?? 'GET') === 'GET' && !analysed.parameterDependent;
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

function selectResources(
  analysis: SourceAnalysis,
  options: ResolveOptions,
): Map<string, ResolvedResource['selection']> {
  const byName = new Map(analysis.resources.map((analysed) => [analysed.resource.name, analysed]));
  const names = [...byName.keys()];
  const selection = new Map<string, ResolvedResource['selection']>();
  if (options.only !== undefined) {
    const problems: ConfigProblem[] = options.only.flatMap((name, index) =>
      byName.has(name)
        ? []
        : [
            {
              path: `only[${index}]`,
              message: `unknown resource "${name}"${didYouMean(name, names)}; source ${analysis.config.name} has: ${names.join(', ')}`,
            },
          ],
    );
    if (options.only.length === 0) {
      problems.push({ path: 'only', message: `empty: name at least one of ${names.join(', ')}` });
    }
    if (problems.length > 0)
      throw configInvalidError(problems, { origin: options.origin, code: 'SELECTION_INVALID' });
    for (const name of options.only) selection.set(name, 'requested');
  } else {
    for (const analysed of analysis.resources) {
      if (analysed.resource.selected !== false) selection.set(analysed.resource.name, 'default');
    }
  }
  for (const name of [...selection.keys()]) {
    let current = byName.get(name);
    while (current?.parent != null) {
      const parent = byName.get(current.parent.name);
      if (parent === undefined || selection.has(parent.resource.name) || !isRepeatable(parent)) break;
      selection.set(parent.resource.name, 'parent');
      current = parent;
    }
  }
  return selection;
}

/** Selected resources, parents before children, otherwise in file order. */
function orderResources(
  analysis: SourceAnalysis,
  selection: ReadonlyMap<string, unknown>,
): AnalysedResource[] {
  const byName = new Map(analysis.resources.map((analysed) => [analysed.resource.name, analysed]));
  const ordered: AnalysedResource[] = [];
  const visit = (analysed: AnalysedResource): void => {
    if (ordered.includes(analysed)) return;
    const parent = analysed.parent === null ? undefined : byName.get(analysed.parent.name);
    if (parent !== undefined && selection.has(parent.resource.name)) visit(parent);
    ordered.push(analysed);
  };
  for (const analysed of analysis.resources) if (selection.has(analysed.resource.name)) visit(analysed);
  return ordered;
}

interface BindContext {
  readonly analysed: AnalysedResource;
  readonly values: ReadonlyMap<string, BoundValue>;
  readonly problems: ConfigProblem[];
}

/** Python's truthiness, which `or` in `{{ config['x'] or 'y' }}` follows. */
function isTruthy(value: BoundValue | undefined): value is BoundValue {
  return value !== undefined && value !== '' && value !== 0 && value !== false;
}

function configValue(key: string, fallback: string | undefined, context: BindContext): BoundValue {
  const value = context.values.get(key);
  if (fallback !== undefined) return isTruthy(value) ? value : fallback;
  // A required value is present: resources missing one are skipped before binding.
  return value ?? '';
}

/** Binds config values into a templated string; parent references stay as `{ parentField }`. */
function bindTemplate(
  text: string,
  templateContext: TemplateContext,
  context: BindContext,
): ResolvedTemplate {
  const parsed = parseTemplate(text);
  if (!parsed.ok) return [text];
  const parts: ResolvedTemplatePart[] = [];
  const pushText = (value: string): void => {
    const last = parts.at(-1);
    if (typeof last === 'string') parts[parts.length - 1] = last + value;
    else parts.push(value);
  };
  for (const token of parsed.tokens) {
    if (token.kind === 'text') {
      pushText(token.text);
      continue;
    }
    const expression = token.expression;
    switch (expression.kind) {
      case 'config': {
        const value = String(configValue(expression.key, expression.fallback, context));
        if (templateContext !== 'path') pushText(value);
        else {
          try {
            pushText(encodePathValue(value));
          } catch (error) {
            const reason = error instanceof Error ? error.message : 'cannot be encoded';
            context.problems.push({
              path: context.analysed.locate.endpoint('path'),
              message: `config value ${expression.key}: ${reason}`,
            });
          }
        }
        break;
      }
      case 'resource_field':
        parts.push({ parentField: expression.field });
        break;
      case 'stream_slice':
      case 'resolve_param':
        parts.push({
          parentField: context.analysed.resolveParams.get(expression.name)?.field ?? expression.name,
        });
        break;
    }
  }
  return parts;
}

function isFinal(template: ResolvedTemplate): template is readonly string[] {
  return template.every((part) => typeof part === 'string');
}

function bindParams(context: BindContext): Record<string, ResolvedParamValue> {
  const out: Record<string, ResolvedParamValue> = {};
  for (const [name, value] of Object.entries(context.analysed.resource.endpoint.params ?? {})) {
    if (value === null || isResolveParam(value)) continue;
    if (typeof value !== 'string') {
      out[name] = value as Exclude<ResolvedParamValue, string | { template: ResolvedTemplate }>;
      continue;
    }
    const parsed = parseTemplate(value);
    const templated = parsed.ok && parsed.tokens.some((token) => token.kind === 'expression');
    const template = bindTemplate(value, 'param', context);
    if (!isFinal(template)) out[name] = { template };
    else {
      const text = template.join('');
      // A parameter emptied by a template (`config['x'] or ''`) is left out rather than sent empty.
      if (!(templated && text === '')) out[name] = text;
    }
  }
  return out;
}

function bindJson(context: BindContext): ResolvedJsonBody | null {
  const json = context.analysed.resource.endpoint.json;
  if (json === undefined) return null;
  const bindings: { pointer: (string | number)[]; template: ResolvedTemplate; whole: boolean }[] = [];
  const visit = (value: unknown, pointer: (string | number)[]): JsonValue => {
    if (typeof value === 'string') {
      const parsed = parseTemplate(value);
      if (!parsed.ok || parsed.tokens.every((token) => token.kind === 'text')) return value;
      const [single] = parsed.tokens;
      if (
        parsed.tokens.length === 1 &&
        single?.kind === 'expression' &&
        single.expression.kind === 'config'
      ) {
        // A whole-string config value keeps its type (a number stays a number), as dlt does for placeholders.
        return configValue(single.expression.key, single.expression.fallback, context);
      }
      const template = bindTemplate(value, 'json', context);
      if (isFinal(template)) return template.join('');
      bindings.push({ pointer, template, whole: template.length === 1 });
      return null;
    }
    if (Array.isArray(value)) return value.map((item: unknown, index) => visit(item, [...pointer, index]));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(value)) {
        Object.defineProperty(out, key, {
          value: visit(item, [...pointer, key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return value as JsonValue;
  };
  const value = visit(json, []);
  // In pointer order, not key order: the plan must not depend on how the file orders keys.
  bindings.sort((a, b) => (JSON.stringify(a.pointer) < JSON.stringify(b.pointer) ? -1 : 1));
  return { value, bindings };
}

function bindHeaders(context: BindContext): Record<string, ResolvedHeaderValue> {
  const out: Record<string, ResolvedHeaderValue> = {};
  for (const header of context.analysed.headers) {
    const { name, value } = header;
    if (typeof value !== 'string') {
      out[name] = { $env: value.$env };
      continue;
    }
    const template = bindTemplate(value, header.context, context);
    if (!isFinal(template)) {
      out[name] = { template };
      continue;
    }
    const text = template.join('');
    if (/[\r\n\0]/.test(text)) {
      context.problems.push({
        path: header.location,
        message: 'the header value contains a line break (from a config value)',
      });
    } else if (isSensitiveName(name) && text === value) {
      out[name] = { $inline: header.location };
    } else out[name] = text;
  }
  return out;
}

function secretOrText(value: SecretStringConfig, location: string, secret: boolean): SecretOrText {
  if (typeof value !== 'string') return { $env: value.$env };
  return secret ? { $inline: location } : value;
}

function resolveAuth(auth: AuthConfig | undefined, location: string, source: string): ResolvedAuth | null {
  if (auth === undefined) return null;
  if (typeof auth === 'string') {
    switch (auth) {
      case 'bearer':
        return { type: 'bearer', token: { $env: credentialEnvVar(source, 'token') } };
      case 'api_key':
        return {
          type: 'api_key',
          name: 'Authorization',
          location: 'header',
          apiKey: { $env: credentialEnvVar(source, 'api_key') },
        };
      case 'http_basic':
        return {
          type: 'http_basic',
          username: { $env: credentialEnvVar(source, 'username') },
          password: { $env: credentialEnvVar(source, 'password') },
        };
      case 'oauth2_client_credentials':
        return null; // rejected by the schema
    }
  }
  const at = (field: string): string => joinPath(location, field);
  switch (auth.type) {
    case 'api_key':
      return {
        type: 'api_key',
        name: auth.name ?? 'Authorization',
        location: auth.location === 'param' ? 'query' : (auth.location ?? 'header'),
        apiKey: secretOrText(auth.api_key, at('api_key'), true),
      };
    case undefined:
    case 'bearer':
      return { type: 'bearer', token: secretOrText(auth.token, at('token'), true) };
    case 'http_basic':
      return {
        type: 'http_basic',
        username: secretOrText(auth.username, at('username'), false),
        password: secretOrText(auth.password, at('password'), true),
      };
    case 'oauth2_client_credentials': {
      const data: Record<string, string | number | boolean | SecretRef> = {};
      for (const [key, value] of Object.entries(auth.access_token_request_data ?? {})) {
        const where = joinPath(at('access_token_request_data'), key);
        data[key] =
          typeof value === 'object'
            ? { $env: value.$env }
            : typeof value === 'string' && isSensitiveName(key)
              ? { $inline: where }
              : value;
      }
      return {
        type: 'oauth2_client_credentials',
        accessTokenUrl: auth.access_token_url,
        clientId: secretOrText(auth.client_id, at('client_id'), false),
        clientSecret: secretOrText(auth.client_secret, at('client_secret'), true),
        accessTokenRequestData: data,
        defaultTokenExpiration: auth.default_token_expiration ?? 3600,
      };
    }
  }
}

/** A paginator with dlt's defaults filled in (`json_response` runs as `json_link`). */
export function resolvePaginator(paginator: PaginatorConfig | undefined): ResolvedPaginator {
  if (paginator === undefined) return { type: 'auto', maxPages: defaultMaxPages };
  if (typeof paginator === 'string') {
    // The schema rejects a bare `offset` (it needs a limit).
    return paginator === 'offset'
      ? { type: 'auto', maxPages: defaultMaxPages }
      : resolvePaginator({ type: paginator });
  }
  const maxPages = 'max_pages' in paginator ? (paginator.max_pages ?? defaultMaxPages) : defaultMaxPages;
  switch (paginator.type) {
    case undefined:
    case 'auto':
      return { type: 'auto', maxPages };
    case 'single_page':
      return { type: 'single_page' };
    case 'json_link':
    case 'json_response':
      return { type: 'json_link', nextUrlPath: paginator.next_url_path ?? 'next', maxPages };
    case 'header_link':
      return { type: 'header_link', linksNextKey: paginator.links_next_key ?? 'next', maxPages };
    case 'header_cursor':
      return {
        type: 'header_cursor',
        cursorKey: paginator.cursor_key ?? 'next',
        cursorParam: paginator.cursor_param ?? 'cursor',
        maxPages,
      };
    case 'offset':
      return {
        type: 'offset',
        limit: paginator.limit,
        offset: paginator.offset ?? 0,
        offsetParam: paginator.offset_param ?? 'offset',
        limitParam: paginator.limit_param ?? 'limit',
        totalPath: paginator.total_path === undefined ? 'total' : paginator.total_path,
        maximumOffset: paginator.maximum_offset ?? null,
        stopAfterEmptyPage: paginator.stop_after_empty_page ?? true,
        maxPages,
      };
    case 'page_number': {
      const basePage = paginator.base_page ?? 0;
      return {
        type: 'page_number',
        basePage,
        page: paginator.page ?? basePage,
        pageParam: paginator.page_param ?? 'page',
        totalPath: paginator.total_path === undefined ? 'total' : paginator.total_path,
        maximumPage: paginator.maximum_page ?? null,
        stopAfterEmptyPage: paginator.stop_after_empty_page ?? true,
        maxPages,
      };
    }
    case 'cursor': {
      const cursorBodyPath = paginator.cursor_body_path ?? null;
      return {
        type: 'cursor',
        cursorPath: paginator.cursor_path ?? 'cursors.next',
        cursorParam: paginator.cursor_param ?? (cursorBodyPath === null ? 'cursor' : null),
        cursorBodyPath,
        maxPages,
      };
    }
  }
}

function resolveEndpoint(context: BindContext, config: SourceConfig): ResolvedEndpoint {
  const { analysed } = context;
  const { endpoint } = analysed.resource;
  const singleEntity = isSingleEntityPath(endpoint.path);
  const paginator = endpoint.paginator ?? (singleEntity ? 'single_page' : config.client.paginator);
  const responseActions: ResolvedResponseAction[] = (endpoint.response_actions ?? []).map((action) => ({
    statusCode: action.status_code === undefined ? null : Number(action.status_code),
    content: action.content ?? null,
    action: action.action,
  }));
  return {
    method: endpoint.method ?? 'GET',
    path: bindTemplate(endpoint.path, 'path', context),
    params: bindParams(context),
    json: bindJson(context),
    headers: bindHeaders(context),
    auth: resolveAuth(endpoint.auth ?? config.client.auth, analysed.locate.auth(), config.name),
    paginator: resolvePaginator(paginator),
    dataSelector: endpoint.data_selector ?? (singleEntity ? '$' : null),
    responseActions,
  };
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
  const base = { parent: parentName, fields: analysed.parent.fields };
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
      ? `; it is never run implicitly because its request is not repeatable (it uses config values or is not a GET)`
      : '';
  return {
    ...base,
    parentRecordsFrom: 'storage',
    note: `the parent "${parentName}" is not in this run${why}; its stored records are used`,
  };
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

  const resources = [...planned.values()];
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
