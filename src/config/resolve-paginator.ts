/** A resource's paginator as the plan holds it: dlt's shorthands expanded and its defaults filled in. */
import { defaultMaxPages, type ResolvedPaginator } from '../shared/plan.ts';
import type { PaginatorConfig } from './schema.ts';

/** A JSON body path as the plan holds it: dotted keys, without the `$.` a file may write. */
function bodyPathOf(path: string | null | undefined): string | null {
  if (path === undefined || path === null) return null;
  return path.startsWith('$.') ? path.slice(2) : path;
}

/**
 * dlt's rule for a value sent as a query parameter or at a JSON body path: the body path wins the default, so the
 * param is null when only a body path is set (the schema refuses both).
 */
function paramOf(param: string | null | undefined, body: string | null, fallback: string): string | null {
  if (typeof param === 'string') return param;
  return body === null ? fallback : null;
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
    case 'offset': {
      const offsetBodyPath = bodyPathOf(paginator.offset_body_path);
      const limitBodyPath = bodyPathOf(paginator.limit_body_path);
      return {
        type: 'offset',
        limit: paginator.limit,
        offset: paginator.offset ?? 0,
        offsetParam: paramOf(paginator.offset_param, offsetBodyPath, 'offset'),
        limitParam: paramOf(paginator.limit_param, limitBodyPath, 'limit'),
        offsetBodyPath,
        limitBodyPath,
        totalPath: paginator.total_path === undefined ? 'total' : paginator.total_path,
        maximumOffset: paginator.maximum_offset ?? null,
        hasMorePath: paginator.has_more_path ?? null,
        stopAfterEmptyPage: paginator.stop_after_empty_page ?? true,
        maxPages,
      };
    }
    case 'page_number': {
      const basePage = paginator.base_page ?? 0;
      const pageBodyPath = bodyPathOf(paginator.page_body_path);
      return {
        type: 'page_number',
        basePage,
        page: paginator.page ?? basePage,
        pageParam: paramOf(paginator.page_param, pageBodyPath, 'page'),
        pageBodyPath,
        totalPath: paginator.total_path === undefined ? 'total' : paginator.total_path,
        maximumPage: paginator.maximum_page ?? null,
        hasMorePath: paginator.has_more_path ?? null,
        stopAfterEmptyPage: paginator.stop_after_empty_page ?? true,
        maxPages,
      };
    }
    case 'cursor': {
      const cursorBodyPath = bodyPathOf(paginator.cursor_body_path);
      return {
        type: 'cursor',
        cursorPath: paginator.cursor_path ?? 'cursors.next',
        cursorParam: paramOf(paginator.cursor_param, cursorBodyPath, 'cursor'),
        cursorBodyPath,
        maxPages,
      };
    }
  }
}

/** The JSON body paths a paginator writes to, as `[key, path]` (empty for query-only paginators). */
export function paginatorBodyPaths(
  paginator: PaginatorConfig | undefined,
): readonly (readonly [string, string])[] {
  if (paginator === undefined || typeof paginator === 'string') return [];
  const out: [string, string][] = [];
  const add = (key: string, value: string | null | undefined): void => {
    if (typeof value === 'string') out.push([key, value]);
  };
  if (paginator.type === 'offset') {
    add('offset_body_path', paginator.offset_body_path);
    add('limit_body_path', paginator.limit_body_path);
  } else if (paginator.type === 'page_number') add('page_body_path', paginator.page_body_path);
  else if (paginator.type === 'cursor') add('cursor_body_path', paginator.cursor_body_path);
  return out;
}
