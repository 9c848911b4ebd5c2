/**
 * Rendering a planned request: binds the parent record's fields and the run's incremental window into the endpoint's
 * templates, adds the window's `startParam`/`endParam` query parameters, and builds the URL.
 * Encoding is done here, once: a value placed in a path is one segment (`/` → `%2F`, `+` → `%2B`; a value `.` or `..`
 * is refused, it would climb the path), a query value is encoded so the server decodes exactly it (`+` stays `+`, a space is
 * `%20`), and text is UTF-8. Pagination parameters and credentials are added by the HTTP layer.
 */
import { IngestError } from '../errors.ts';
import type {
  CursorValue,
  JsonValue,
  ResolvedEndpoint,
  ResolvedHeaderValue,
  ResolvedJsonBody,
  ResolvedParamValue,
  ResolvedTemplate,
  ResolvedTemplatePart,
  SecretRef,
} from '../shared/plan.ts';
import { readField } from '../shared/record-fields.ts';

function encodeComponent(value: string, what: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    throw new IngestError(
      'response-shape',
      'VALUE_NOT_ENCODABLE',
      `${what} is not valid Unicode text (a lone surrogate)`,
    );
  }
}

/**
 * Encodes a value as one path segment (or part of one). `.` and `..` are refused: URL parsers treat them, encoded
 * or not, as "this" and "parent" segments, so they would move the request to another path.
 */
export function encodePathValue(value: string): string {
  if (value === '.' || value === '..') {
    throw new IngestError(
      'response-shape',
      'PATH_VALUE_UNSAFE',
      `a path value of "${value}" would change the path; it is refused`,
    );
  }
  return encodeComponent(value, 'a path value');
}

/** Encodes a query parameter name or value. */
export function encodeQueryValue(value: string): string {
  return encodeComponent(value, 'a query value');
}

/** A value bound into a request must be text, a number or a boolean. */
function scalarText(value: unknown, field: string, resource: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new IngestError(
    'response-shape',
    'PARENT_FIELD_INVALID',
    `the parent record's field "${field}" used by "${resource}" is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}, not a string or number`,
    { details: { resource, field } },
  );
}

function parentValue(parent: unknown, field: string, resource: string): unknown {
  if (parent === undefined) {
    throw new IngestError(
      'config',
      'PARENT_RECORD_REQUIRED',
      `"${resource}" is requested per parent record, but none was given`,
      {
        details: { resource },
      },
    );
  }
  const value = readField(parent, field);
  if (value === undefined) {
    throw new IngestError(
      'response-shape',
      'PARENT_FIELD_MISSING',
      `a parent record of "${resource}" has no field "${field}"`,
      {
        details: { resource, field },
      },
    );
  }
  return value;
}

/** The incremental window a request is rendered for: its start and end (null: none). */
export interface IncrementalWindow {
  readonly start: CursorValue | null;
  readonly end: CursorValue | null;
}

/** What a template is bound with. */
interface BindValues {
  readonly parent: unknown;
  readonly resource: string;
  readonly window: IncrementalWindow;
}

function windowValue(window: IncrementalWindow, which: 'start_value' | 'end_value'): CursorValue | null {
  return which === 'start_value' ? window.start : window.end;
}

/** The text of one non-literal part; null for an incremental placeholder the window has no value for. */
function partText(
  part: Exclude<ResolvedTemplatePart, string>,
  values: BindValues,
  encode: (value: string) => string,
): string | null {
  if ('parentField' in part) {
    const field = part.parentField;
    return encode(scalarText(parentValue(values.parent, field, values.resource), field, values.resource));
  }
  const value = windowValue(values.window, part.incremental);
  return value === null ? null : encode(String(value));
}

/**
 * Binds a template; `encode` is applied to bound values only (literal parts are final). Null when an incremental
 * placeholder has no value in this window (the caller decides: leave the parameter out, null, or an error).
 */
function renderTemplate(
  template: ResolvedTemplate,
  values: BindValues,
  encode: (value: string) => string,
): string | null {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const text = partText(part, values, encode);
    if (text === null) return null;
    out += text;
  }
  return out;
}

/** The first incremental placeholder of a template, as written (for messages). */
function placeholderOf(template: ResolvedTemplate): string {
  for (const part of template) {
    if (typeof part === 'object' && 'incremental' in part) return `{incremental.${part.incremental}}`;
  }
  return '{incremental.…}';
}

function missingWindowValue(template: ResolvedTemplate, where: string, resource: string): IngestError {
  const placeholder = placeholderOf(template);
  return new IngestError(
    'config',
    'INCREMENTAL_VALUE_MISSING',
    `${placeholder} in ${where} of "${resource}" has no value in this run's window (set initial_value or end_value, or give the run a window)`,
    { details: { resource, placeholder } },
  );
}

/** Joins a base URL and a path the way dlt does (`https://h/v2` + `/users` → `https://h/v2/users`); absolute paths win. */
export function joinUrl(baseUrl: string, path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  if (path === '') return baseUrl;
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** `name=value&…`, encoded. */
export function buildQueryString(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([name, value]) => `${encodeQueryValue(name)}=${encodeQueryValue(value)}`).join('&');
}

/** Adds encoded query pairs to a URL (after any query it already has). */
export function appendQuery(url: string, pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${buildQueryString(pairs)}`;
}

function queryPairs(name: string, value: ResolvedParamValue, values: BindValues): [string, string][] {
  if (typeof value !== 'object') return [[name, String(value)]];
  if ('template' in value) {
    // A parameter whose incremental placeholder has no value is left out, as an unset config value's is.
    const text = renderTemplate(value.template, values, (part) => part);
    return text === null ? [] : [[name, text]];
  }
  return value.map((item) => [name, String(item)]);
}

/** The window's `startParam`/`endParam` query parameters, for the values the window has. */
function windowPairs(endpoint: ResolvedEndpoint, window: IncrementalWindow): [string, string][] {
  const incremental = endpoint.incremental;
  // `== null`: plans recorded before incremental existed have no such field.
  if (incremental == null) return [];
  const pairs: [string, string][] = [];
  if (incremental.startParam !== null && window.start !== null)
    pairs.push([incremental.startParam, String(window.start)]);
  if (incremental.endParam !== null && window.end !== null)
    pairs.push([incremental.endParam, String(window.end)]);
  return pairs;
}

function setAt(target: JsonValue, pointer: readonly (string | number)[], value: JsonValue): JsonValue {
  const [head, ...rest] = pointer;
  if (head === undefined) return value;
  if (Array.isArray(target)) {
    const copy = [...(target as readonly JsonValue[])];
    copy[Number(head)] = setAt(copy[Number(head)] ?? null, rest, value);
    return copy;
  }
  const object = (target ?? {}) as Readonly<Record<string, JsonValue>>;
  return { ...object, [head]: setAt(object[head] ?? null, rest, value) };
}

function asJson(value: unknown, field: string, resource: string): JsonValue {
  if (value === null || ['string', 'number', 'boolean', 'object'].includes(typeof value))
    return value as JsonValue;
  return scalarText(value, field, resource);
}

/** A request ready for the HTTP layer (which adds pagination and credentials). */
export interface RenderedRequest {
  readonly method: 'GET' | 'POST';
  /** Absolute URL with the endpoint's query parameters, encoded. */
  readonly url: string;
  /** Header values; references are resolved with `resolveHeaderSecrets` right before sending. */
  readonly headers: Readonly<Record<string, string | SecretRef>>;
  readonly json: JsonValue | undefined;
}

/** The value of one JSON body binding. */
function bindingValue(binding: ResolvedJsonBody['bindings'][number], values: BindValues): JsonValue {
  const [only] = binding.template;
  if (binding.whole && typeof only === 'object') {
    // One placeholder alone keeps the value's JSON type (a number stays a number), as dlt does.
    if ('incremental' in only) return windowValue(values.window, only.incremental);
    const field = only.parentField;
    return asJson(parentValue(values.parent, field, values.resource), field, values.resource);
  }
  return renderTemplate(binding.template, values, (text) => text);
}

/**
 * Renders one request of a planned endpoint. `parent` is the parent record for a child resource (required when the
 * endpoint uses parent fields); a missing or non-scalar field is a `response-shape` error naming it. `incremental`
 * is the run's window (absent: the first window, `initialValue` to `endValue`): its start and end go to
 * `startParam`/`endParam` and the `{incremental.…}` placeholders; a value the window lacks leaves a query
 * parameter out, is `null` in the JSON body, and is a `config` error in a path.
 */
export function renderRequest(
  baseUrl: string,
  endpoint: ResolvedEndpoint,
  options: {
    readonly parent?: unknown;
    readonly resource?: string;
    readonly incremental?: IncrementalWindow;
  } = {},
): RenderedRequest {
  const resource = options.resource ?? 'resource';
  const window: IncrementalWindow = options.incremental ?? {
    start: endpoint.incremental?.initialValue ?? null,
    end: endpoint.incremental?.endValue ?? null,
  };
  const values: BindValues = { parent: options.parent, resource, window };
  const path = renderTemplate(endpoint.path, values, encodePathValue);
  if (path === null) throw missingWindowValue(endpoint.path, 'the path', resource);
  const pairs = [
    ...Object.entries(endpoint.params).flatMap(([name, value]) => queryPairs(name, value, values)),
    ...windowPairs(endpoint, window),
  ];
  const headers: Record<string, string | SecretRef> = {};
  for (const [name, value] of Object.entries<ResolvedHeaderValue>(endpoint.headers)) {
    if (typeof value === 'object' && 'template' in value) {
      const text = renderTemplate(value.template, values, (part) => part);
      if (text === null) throw missingWindowValue(value.template, `the header ${name}`, resource);
      if (/[\r\n\0]/.test(text)) {
        throw new IngestError(
          'response-shape',
          'HEADER_VALUE_INVALID',
          `the value of header ${name} of "${resource}" contains a line break`,
        );
      }
      headers[name] = text;
    } else headers[name] = value;
  }
  let json: JsonValue | undefined;
  if (endpoint.json !== null) {
    json = endpoint.json.value;
    for (const binding of endpoint.json.bindings)
      json = setAt(json, binding.pointer, bindingValue(binding, values));
  }
  return { method: endpoint.method, url: appendQuery(joinUrl(baseUrl, path), pairs), headers, json };
}
