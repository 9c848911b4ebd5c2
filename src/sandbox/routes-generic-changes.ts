/**
 * `GET /generic/changes`: records that change between runs (`sandbox.changes.mutate`), filtered by their update
 * time and paged by a keyset cursor, for incremental loading tests. The generic api key in the `X-API-Key` header.
 *
 * `?updated_since=<ISO>&updated_before=<ISO>&cursor=C&page_size=K` → `{"data", "next_cursor": C|null, "has_more"}`:
 * the records with `updated_since ≤ updatedAt < updated_before`, sorted by (updatedAt, id). The cursor is the
 * (updatedAt, id) of the page's last record, so pages stay consistent while the data changes.
 */
import type { AuthOutcome } from './auth.ts';
import { compareChanges, inWindow, parseTimestamp, type ChangeRecord } from './changes.ts';
import { jsonReply, type Reply } from './reply.ts';
import { badRequest, checkGenericAuth, maxPageSize, unauthorizedReply } from './routes-generic.ts';
import { authorize, intParam, type Route } from './routing.ts';
import type { SandboxServices } from './services.ts';

export const changesPath = '/generic/changes';

/** The query parameters of the window (since inclusive, before exclusive). */
export const updatedSinceParam = 'updated_since';
export const updatedBeforeParam = 'updated_before';

export function genericChangesRoutes(services: SandboxServices): Route[] {
  return [
    {
      method: 'GET',
      template: changesPath,
      handle: (ctx) => {
        const outcome: AuthOutcome = ctx.enforceAuth
          ? checkGenericAuth(services, 'api-key-header', ctx)
          : 'not-required';
        if (!authorize(ctx, () => outcome)) return unauthorizedReply('api-key-header', outcome);
        return serveChanges(services, ctx.url);
      },
    },
  ];
}

/** The opaque cursor after a record. */
export function changesCursorAfter(record: Pick<ChangeRecord, 'updatedAt' | 'id'>): string {
  return Buffer.from(`changes:${Date.parse(record.updatedAt)}:${record.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { ms: number; id: number } | undefined {
  const found = /^changes:(\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return found === null ? undefined : { ms: Number(found[1]), id: Number(found[2]) };
}

function serveChanges(services: SandboxServices, url: URL): Reply {
  const bounds: (number | undefined)[] = [];
  for (const name of [updatedSinceParam, updatedBeforeParam]) {
    const raw = url.searchParams.get(name);
    const ms = raw === null || raw === '' ? undefined : parseTimestamp(raw);
    if (raw !== null && raw !== '' && ms === undefined)
      return badRequest(`${name} must be an ISO 8601 timestamp (e.g. 2025-01-01T00:00:00.000Z).`);
    bounds.push(ms);
  }
  const size = intParam(url, 'page_size', services.settings.pageSize, 1);
  if (size === undefined || size > maxPageSize)
    return badRequest(`page_size must be an integer from 1 to ${maxPageSize}.`);
  const rawCursor = url.searchParams.get('cursor');
  const after = rawCursor === null || rawCursor === '' ? undefined : decodeCursor(rawCursor);
  if (rawCursor !== null && rawCursor !== '' && after === undefined) return badRequest('Unknown cursor.');

  const matching = services.changes
    .records()
    .filter((record) => inWindow(Date.parse(record.updatedAt), bounds[0], bounds[1]))
    .filter(
      (record) =>
        after === undefined ||
        compareChanges(record, {
          updatedAt: new Date(after.ms).toISOString(),
          id: after.id,
        } as ChangeRecord) > 0,
    );
  const data = matching.slice(0, size);
  const hasMore = matching.length > size;
  const last = data.at(-1);
  return jsonReply(200, {
    data,
    next_cursor: hasMore && last !== undefined ? changesCursorAfter(last) : null,
    has_more: hasMore,
  });
}
