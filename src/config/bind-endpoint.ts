/**
 * A resource's endpoint as the plan holds it: config values bound into its templates (path, params, JSON body,
 * headers), parent references left as `{ parentField }` and incremental placeholders as `{ incremental }` for run
 * time, and its auth, paginator, data selector (normalised), response actions and incremental config with their
 * defaults. Problems (a value that cannot be encoded into the path, a line break in a
 * header) are collected into the caller's list.
 */
import { isResolveParam, type AnalysedResource } from './analyse-resource.ts';
import type {
  JsonValue,
  ResolvedEndpoint,
  ResolvedHeaderValue,
  ResolvedJsonBody,
  ResolvedParamValue,
  ResolvedResponseAction,
  ResolvedTemplate,
  ResolvedTemplatePart,
} from '../shared/plan.ts';
import type { ConfigProblem } from './problems.ts';
import { normaliseDataSelector } from './data-selector.ts';
import { isIncrementalParam, resolveIncremental } from './incremental.ts';
import { encodePathValue } from './render.ts';
import { resolveAuth } from './resolve-auth.ts';
import { resolvePaginator } from './resolve-paginator.ts';
import { effectivePaginator } from './resource-rules.ts';
import type { ConfigValue, SourceConfig } from './schema.ts';
import { isSensitiveName } from './secrets.ts';
import { isSingleEntityPath, parseTemplate, type TemplateContext } from './templates.ts';

/** A config value that is set. */
export type BoundValue = Exclude<ConfigValue, null>;

/** What binding one resource needs: its analysis, the config values that are set, where problems go. */
export interface BindContext {
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

/** Binds config values into a templated string; parent references and the incremental window stay for run time. */
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
      case 'incremental':
        parts.push({ incremental: expression.value });
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
    if (value === null || isResolveParam(value) || isIncrementalParam(value)) continue;
    if (typeof value !== 'string') {
      out[name] = value;
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
    } else if (isSensitiveName(name) && text === value && text !== '') {
      // Written as is in the file: `collectInlineSecrets` holds it under this path (an empty value is not a secret).
      out[name] = { $inline: header.location };
    } else out[name] = text;
  }
  return out;
}

/** The data selector in the form the extractor reads (`$.data[*]` → `data`); `$` for a single entity. */
function dataSelectorOf(selector: string | undefined, singleEntity: boolean): string | null {
  if (selector === undefined) return singleEntity ? '$' : null;
  const checked = normaliseDataSelector(selector);
  // The schema refused a selector that does not normalise.
  return checked.ok ? checked.normalised : selector;
}

/** The endpoint of a resource that is not skipped (every required config value is set). */
export function resolveEndpoint(context: BindContext, config: SourceConfig): ResolvedEndpoint {
  const { analysed } = context;
  const { endpoint } = analysed.resource;
  const singleEntity = isSingleEntityPath(endpoint.path);
  const { paginator } = effectivePaginator(analysed, config);
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
    dataSelector: dataSelectorOf(endpoint.data_selector, singleEntity),
    responseActions,
    incremental: resolveIncremental(analysed),
  };
}
