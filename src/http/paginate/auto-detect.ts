/**
 * `auto`: the paginator is chosen from the first response, after dlt's `PaginatorFactory`
 * (`dlt/sources/helpers/rest_client/detector.py`), first match wins:
 *
 * 1. `header_link` — a `Link` header with `rel="next"`;
 * 2. `header_cursor` (ours) — a header named `next-cursor`, `next-token` or `next-page-token` (optionally `x-`,
 *    `-`/`_` or nothing between words), e.g. `X-Next-Cursor`, sent back as `cursor`;
 * 3. `json_link` — dlt's `find_next_page_path`: depth-first in document order through the objects of the body
 *    (not into lists), the first key starting with `next` (case-insensitive) whose value is a string or number, or
 *    an object with a member starting with `href`/`url` that is; used when that value starts with `http` or `/`;
 * 4. `page_number` — dlt's `find_total_pages_path`: the first key `total_pages`, `pages` or `totalpages`
 *    (case-insensitive) with an integer value becomes `total_path`. dlt then starts at page 0; we read the current
 *    page from a sibling key `page`, `current_page`, `currentpage`, `page_number` or `pagenumber` when there is one
 *    (so a 1-based API is not asked for its first page twice); base page 1 unless that page is 0;
 * 5. `offset` (ours) — an object with integer `offset`, `limit` (> 0) and `total` members: `limit` and the next
 *    offset from the body, `total_path` that `total`;
 * 6. `cursor` — a `next…` value found by rule 3 that is not a link becomes `cursor_path` (`cursor` parameter);
 * 7. `single_page` otherwise.
 *
 * Everything is read from headers and values captured in the same pass over the body (`autoCapture`), never from
 * a second read. The detected paginator replaces `auto` in the state, so the following pages — and a resume — use it.
 */
import { formatDataSelector } from '../extract/data-selector.ts';
import type { CaptureOptions, CapturedValue } from '../extract/capture.ts';
import { findLink, headerValues } from './link-header.ts';
import { totalAsInteger } from './range.ts';
import type { ConcretePaginator, PageFacts } from './types.ts';

const nextKey = /^next/;
const linkKey = /^(href|url)/;
const totalPagesKey = /^(total_pages|pages|totalpages)$/;
const currentPageKey = /^(page|current_page|currentpage|page_number|pagenumber)$/;
const offsetKeys = /^(offset|limit|total)$/;
const cursorHeader = /^(x-)?next[-_]?(cursor|token|page[-_]?token)$/i;

/** What the first response of an `auto` pagination must capture. */
export const autoCapture: CaptureOptions = {
  keys: [nextKey, linkKey, totalPagesKey, currentPageKey, offsetKeys],
};

type Scalar = string | number;
/** An object of the body: only the captured members, in document order. */
class Tree extends Map<string, Tree | Scalar | null | boolean> {}

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function setValue(tree: Tree, key: string, value: unknown): void {
  if (value !== null && typeof value === 'object') {
    if (Array.isArray(value)) return;
    let child = tree.get(key);
    if (!(child instanceof Tree)) {
      child = new Tree();
      tree.set(key, child);
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) setValue(child, k, v);
  } else if (!(tree.get(key) instanceof Tree)) {
    tree.set(key, value as Scalar | null | boolean);
  }
}

/** The captured values as a sparse copy of the body's objects, in document order. */
function sparseTree(captured: readonly CapturedValue[]): Tree {
  const root = new Tree();
  for (const { path, value } of captured) {
    let node = root;
    for (const key of path.slice(0, -1)) {
      let child = node.get(key);
      if (!(child instanceof Tree)) {
        child = new Tree();
        node.set(key, child);
      }
      node = child;
    }
    const last = path[path.length - 1];
    if (last !== undefined) setValue(node, last, value);
  }
  return root;
}

type Found = { readonly path: readonly string[]; readonly value: Scalar; readonly parent: Tree };

/** dlt's `find_next_page_path`. */
function findNextPagePath(tree: Tree, path: readonly string[] = []): Found | undefined {
  for (const [key, value] of tree) {
    if (nextKey.test(key.toLowerCase())) {
      if (value instanceof Tree) {
        for (const [innerKey, inner] of value) {
          if (linkKey.test(innerKey.toLowerCase()) && isScalar(inner)) {
            return { path: [...path, key, innerKey], value: inner, parent: value };
          }
        }
      } else if (isScalar(value)) {
        return { path: [...path, key], value, parent: tree };
      }
    }
    if (value instanceof Tree) {
      const found = findNextPagePath(value, [...path, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** dlt's `find_total_pages_path`. */
function findTotalPagesPath(tree: Tree, path: readonly string[] = []): Found | undefined {
  for (const [key, value] of tree) {
    if (totalPagesKey.test(key.toLowerCase()) && isScalar(value))
      return { path: [...path, key], value, parent: tree };
    if (value instanceof Tree) {
      const found = findTotalPagesPath(value, [...path, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function member(tree: Tree, pattern: RegExp): [string, number] | undefined {
  for (const [key, value] of tree) {
    if (!pattern.test(key.toLowerCase())) continue;
    const number = totalAsInteger(value);
    if (typeof value !== 'boolean' && number !== undefined) return [key, number];
  }
  return undefined;
}

/** An object with integer `offset`, `limit` > 0 and `total` members (ours). */
function findOffsetObject(
  tree: Tree,
  path: readonly string[] = [],
): { offset: number; limit: number; totalPath: readonly string[] } | undefined {
  const offset = member(tree, /^offset$/);
  const limit = member(tree, /^limit$/);
  const total = member(tree, /^total$/);
  if (offset !== undefined && limit !== undefined && total !== undefined && limit[1] > 0 && offset[1] >= 0) {
    return { offset: offset[1], limit: limit[1], totalPath: [...path, total[0]] };
  }
  for (const [key, value] of tree) {
    if (value instanceof Tree) {
      const found = findOffsetObject(value, [...path, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The detected paginator and the position (offset or page) of the response just read, when it has one. */
export interface Detection {
  readonly paginator: ConcretePaginator;
  readonly position: number | null;
}

/** Detects the paginator from the first response of an `auto` pagination. */
export function detectPaginator(facts: PageFacts, maxPages: number): Detection {
  if (findLink(facts.headers, 'next') !== undefined) {
    return { paginator: { type: 'header_link', linksNextKey: 'next', maxPages }, position: null };
  }
  const header = Object.keys(facts.headers).find(
    (name) => cursorHeader.test(name) && (headerValues(facts.headers, name)[0] ?? '') !== '',
  );
  if (header !== undefined) {
    return {
      paginator: { type: 'header_cursor', cursorKey: header, cursorParam: 'cursor', maxPages },
      position: null,
    };
  }
  const tree = sparseTree(facts.captured);
  const next = findNextPagePath(tree);
  if (next !== undefined && typeof next.value === 'string' && /^(http|\/)/.test(next.value)) {
    return {
      paginator: { type: 'json_link', nextUrlPath: formatDataSelector(next.path), maxPages },
      position: null,
    };
  }
  const totalPages = findTotalPagesPath(tree);
  if (totalPages !== undefined && totalAsInteger(totalPages.value) !== undefined) {
    const current = member(totalPages.parent, currentPageKey);
    const page = current === undefined ? 0 : current[1];
    const basePage = current === undefined || page === 0 ? 0 : 1;
    return {
      paginator: {
        type: 'page_number',
        basePage,
        page,
        pageParam: 'page',
        pageBodyPath: null,
        totalPath: formatDataSelector(totalPages.path),
        maximumPage: null,
        hasMorePath: null,
        stopAfterEmptyPage: true,
        maxPages,
      },
      position: page,
    };
  }
  const offset = findOffsetObject(tree);
  if (offset !== undefined) {
    return {
      paginator: {
        type: 'offset',
        limit: offset.limit,
        offset: offset.offset,
        offsetParam: 'offset',
        limitParam: 'limit',
        offsetBodyPath: null,
        limitBodyPath: null,
        totalPath: formatDataSelector(offset.totalPath),
        maximumOffset: null,
        hasMorePath: null,
        stopAfterEmptyPage: true,
        maxPages,
      },
      position: offset.offset,
    };
  }
  if (next !== undefined) {
    return {
      paginator: {
        type: 'cursor',
        cursorPath: formatDataSelector(next.path),
        cursorParam: 'cursor',
        cursorBodyPath: null,
        maxPages,
      },
      position: null,
    };
  }
  return { paginator: { type: 'single_page' }, position: null };
}
