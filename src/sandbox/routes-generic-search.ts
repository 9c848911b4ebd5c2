/**
 * `POST /generic/search`: a search endpoint that pages by its JSON request body, for the paginators' body
 * placements (dlt's `offset_body_path`, `limit_body_path`, `page_body_path`). Over the generic `items`, filtered by
 * `query` (a case-insensitive substring of `name`); the generic api key in the `X-API-Key` header.
 *
 * Body, offset style: `{"query"?: string, "page"?: {"offset"?: O, "limit"?: L}}` →
 * `{"data", "total", "offset", "limit", "has_more"}`.
 * Body, page-number style: `{"query"?: string, "page_number": N (from 1), "page_size"?: K}` →
 * `{"data", "total", "page_number", "page_size", "total_pages", "has_more"}`.
 */
import type { AuthOutcome } from './auth.ts';
import { headerValue } from './auth.ts';
import { jsonReply, type Reply } from './reply.ts';
import { badRequest, checkGenericAuth, maxPageSize, unauthorizedReply } from './routes-generic.ts';
import { authorize, type Route, type RouteContext } from './routing.ts';
import type { SandboxServices } from './services.ts';

export const searchPath = '/generic/search';

/** Largest request body the search route reads. */
const maxBodyBytes = 64 * 1024;

/** The route. */
export function genericSearchRoutes(services: SandboxServices): Route[] {
  return [{ method: 'POST', template: searchPath, handle: (ctx) => serveSearch(services, ctx) }];
}

/** The items a `query` selects, in id order (all of them for an absent or empty query). */
export function searchItems(
  services: Pick<SandboxServices, 'dataset'>,
  query: string | undefined,
): unknown[] {
  const needle = (query ?? '').toLowerCase();
  const all = [...services.dataset.records('items')];
  if (needle === '') return all;
  return all.filter((item) => {
    const name = (item as { name?: unknown }).name;
    return typeof name === 'string' && name.toLowerCase().includes(needle);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An integer ≥ `min` (≤ `max`), the fallback when absent, undefined when invalid. */
function intField(
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined || value === null) return fallback;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
    ? value
    : undefined;
}

async function serveSearch(services: SandboxServices, ctx: RouteContext): Promise<Reply> {
  const outcome: AuthOutcome = ctx.enforceAuth
    ? checkGenericAuth(services, 'api-key-header', ctx)
    : 'not-required';
  let text: string;
  try {
    text = await ctx.readBody(maxBodyBytes);
  } catch {
    return jsonReply(413, { error: 'too_large', message: `The body is over ${maxBodyBytes} bytes.` });
  }
  ctx.recordBody(text);
  if (!authorize(ctx, () => outcome)) return unauthorizedReply('api-key-header', outcome);
  const contentType = headerValue(ctx.req, 'content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('application/json'))
    return badRequest('The search request must be application/json.');
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    return badRequest('The body is not JSON.');
  }
  if (!isObject(body)) return badRequest('The body must be a JSON object.');
  const query = body['query'];
  if (query !== undefined && query !== null && typeof query !== 'string')
    return badRequest('query must be a string.');
  const { pageSize } = services.settings;
  const matches = searchItems(services, typeof query === 'string' ? query : undefined);
  const total = matches.length;

  if (body['page_number'] !== undefined) {
    if (body['page'] !== undefined) return badRequest('Send either page_number or page, not both.');
    const pageNumber = intField(body['page_number'], 1, 1);
    if (pageNumber === undefined) return badRequest('page_number must be an integer ≥ 1.');
    const size = intField(body['page_size'], pageSize, 1, maxPageSize);
    if (size === undefined) return badRequest(`page_size must be an integer from 1 to ${maxPageSize}.`);
    const start = Math.min((pageNumber - 1) * size, total);
    const end = Math.min(start + size, total);
    return jsonReply(200, {
      data: matches.slice(start, end),
      total,
      page_number: pageNumber,
      page_size: size,
      total_pages: Math.ceil(total / size),
      has_more: end < total,
    });
  }

  const page = body['page'] ?? {};
  if (!isObject(page)) return badRequest('page must be an object {offset, limit}.');
  const offset = intField(page['offset'], 0, 0);
  if (offset === undefined) return badRequest('page.offset must be an integer ≥ 0.');
  const limit = intField(page['limit'], pageSize, 1, maxPageSize);
  if (limit === undefined) return badRequest(`page.limit must be an integer from 1 to ${maxPageSize}.`);
  const start = Math.min(offset, total);
  const end = Math.min(start + limit, total);
  return jsonReply(200, {
    data: matches.slice(start, end),
    total,
    offset,
    limit,
    has_more: end < total,
  });
}
