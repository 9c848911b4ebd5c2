/**
 * Building each page's request from the resource's first request and the paginator's `NextRequest`: query
 * parameters set without re-encoding the others (render.ts' encoding stays byte for byte), a next URL used as is,
 * a cursor, an offset, limit or page put at a path of the JSON body (the other members of the body kept).
 */
import type { JsonValue } from '../../shared/plan.ts';
import { appendQuery } from '../../config/render.ts';
import { parseDataSelector } from '../extract/data-selector.ts';
import type { PageRequest } from './send-page.ts';
import type { NextRequest } from './types.ts';

/** The first request of a resource, rendered from its endpoint (credentials are added by `SendPage`). */
export interface FirstPageRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly json?: JsonValue | undefined;
}

function decodedName(pair: string): string {
  const name = pair.split('=', 1)[0] ?? '';
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/** `url` with these query parameters set: same-named ones are replaced, the others kept as they were. */
export function withQueryParams(url: string, params: Readonly<Record<string, string>>): string {
  const names = Object.keys(params);
  if (names.length === 0) return url;
  const hashAt = url.indexOf('#');
  const withoutHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const queryAt = withoutHash.indexOf('?');
  const base = queryAt === -1 ? withoutHash : withoutHash.slice(0, queryAt);
  const kept =
    queryAt === -1
      ? []
      : withoutHash
          .slice(queryAt + 1)
          .split('&')
          .filter((pair) => pair !== '' && !names.includes(decodedName(pair)));
  const prefix = kept.length === 0 ? base : `${base}?${kept.join('&')}`;
  return appendQuery(prefix, Object.entries(params));
}

function setAtPath(target: JsonValue | undefined, keys: readonly string[], value: JsonValue): JsonValue {
  const [head, ...rest] = keys;
  if (head === undefined) return value;
  const object =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? (target as Readonly<Record<string, JsonValue>>)
      : {};
  return { ...object, [head]: setAtPath(object[head], rest, value) };
}

/** The request for a page: the first request changed as `next` says. */
export function pageRequest(first: FirstPageRequest, next: NextRequest): PageRequest {
  let url = first.url;
  let json = first.json;
  if (next.type === 'params') url = withQueryParams(first.url, next.params);
  else if (next.type === 'url') url = next.url;
  else if (next.type === 'body') json = setAtPath(json, parseDataSelector(next.path), next.value);
  else {
    url = withQueryParams(first.url, next.params);
    for (const field of next.body) json = setAtPath(json, parseDataSelector(field.path), field.value);
  }
  if (json === undefined) return { method: first.method, url, headers: first.headers };
  const hasType = Object.keys(first.headers).some((name) => name.toLowerCase() === 'content-type');
  return {
    method: first.method,
    url,
    headers: hasType ? first.headers : { ...first.headers, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  };
}
