/**
 * Rendering a planned request: binds the parent record's fields into the endpoint's templates and builds the URL.
 * Encoding is done here, once: a value placed in a path is one segment (`/` → `%2F`, `+` → `%2B`; a value `.` or `..`
 * is refused, it would climb the path), a query value is encoded so the server decodes exactly it (`+` stays `+`, a space is
 * `%20`), and text is UTF-8. Pagination parameters and credentials are added by the HTTP layer.
 */
import { IngestError } from '../errors.ts';
import type {
  JsonValue,
  ResolvedEndpoint,
  ResolvedHeaderValue,
  ResolvedParamValue,
  ResolvedTemplate,
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

/** Binds a template; `encode` is applied to parent values only (literal parts are final). */
function renderTemplate(
  template: ResolvedTemplate,
  parent: unknown,
  resource: string,
  encode: (value: string) => string,
): string {
  return template
    .map((part) =>
      typeof part === 'string'
        ? part
        : encode(scalarText(parentValue(parent, part.parentField, resource), part.parentField, resource)),
    )
    .join('');
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

function queryPairs(
  name: string,
  value: ResolvedParamValue,
  parent: unknown,
  resource: string,
): [string, string][] {
  if (typeof value !== 'object') return [[name, String(value)]];
  if ('template' in value) return [[name, renderTemplate(value.template, parent, resource, (text) => text)]];
  return value.map((item) => [name, String(item)]);
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

/**
 * Renders one request of a planned endpoint. `parent` is the parent record for a child resource (required when the
 * endpoint uses parent fields); a missing or non-scalar field is a `response-shape` error naming it.
 */
export function renderRequest(
  baseUrl: string,
  endpoint: ResolvedEndpoint,
  options: { readonly parent?: unknown; readonly resource?: string } = {},
): RenderedRequest {
  const resource = options.resource ?? 'resource';
  const parent = options.parent;
  const path = renderTemplate(endpoint.path, parent, resource, encodePathValue);
  const pairs = Object.entries(endpoint.params).flatMap(([name, value]) =>
    queryPairs(name, value, parent, resource),
  );
  const headers: Record<string, string | SecretRef> = {};
  for (const [name, value] of Object.entries<ResolvedHeaderValue>(endpoint.headers)) {
    if (typeof value === 'object' && 'template' in value) {
      const text = renderTemplate(value.template, parent, resource, (part) => part);
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
    for (const binding of endpoint.json.bindings) {
      const [only] = binding.template;
      const value =
        binding.whole && typeof only === 'object'
          ? asJson(parentValue(parent, only.parentField, resource), only.parentField, resource)
          : renderTemplate(binding.template, parent, resource, (text) => text);
      json = setAt(json, binding.pointer, value);
    }
  }
  return { method: endpoint.method, url: appendQuery(joinUrl(baseUrl, path), pairs), headers, json };
}
