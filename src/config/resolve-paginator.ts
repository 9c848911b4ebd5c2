/** A resource's paginator as the plan holds it: dlt's shorthands expanded and its defaults filled in. */
import { defaultMaxPages, type ResolvedPaginator } from '../shared/plan.ts';
import type { PaginatorConfig } from './schema.ts';

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
