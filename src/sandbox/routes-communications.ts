/**
 * The communications API of seed 000: `GET /v1/<resource>` for its 9 resources, the key in the `api_key` query
 * parameter, `{"data": [...]}` bodies (one object for the business-hours resources). `/v1/user_call_records` also
 * pages when asked (`page`, `perPage`), for paginator tests on real call records.
 */
import { checkValue } from './auth.ts';
import { parseTimestamp } from './changes.ts';
import { jsonReply, jsonType, streamReply, type Reply } from './reply.ts';
import { communicationsResources, isSingleObjectResource, type CommunicationsResource } from './resources.ts';
import { authorize, intParam, type Route, type RouteContext } from './routing.ts';
import type { SandboxServices } from './services.ts';

/** Largest `perPage` the paged call records accept. */
export const maxPerPage = 1000;

/** The 9 routes. */
export function communicationsRoutes(services: SandboxServices): Route[] {
  return communicationsResources.map((resource) => ({
    method: 'GET',
    template: `/v1/${resource}`,
    handle: (ctx) => serveResource(services, resource, ctx),
  }));
}

function unauthorized(ctx: RouteContext): Reply {
  const present = ctx.url.searchParams.has('api_key');
  return jsonReply(401, {
    error: 'unauthorized',
    message: present ? 'The api_key query parameter is not valid.' : 'Missing the api_key query parameter.',
  });
}

function serveResource(
  services: SandboxServices,
  resource: CommunicationsResource,
  ctx: RouteContext,
): Reply {
  const expected = services.settings.keys.communications;
  if (!authorize(ctx, () => checkValue(ctx.url.searchParams.get('api_key'), expected)))
    return unauthorized(ctx);
  const { dataset } = services;
  if (
    resource === 'user_call_records' &&
    (ctx.url.searchParams.has('dateFrom') || ctx.url.searchParams.has('dateTo'))
  ) {
    return serveCallRecordWindow(services, ctx);
  }
  if (
    resource === 'user_call_records' &&
    (ctx.url.searchParams.has('page') || ctx.url.searchParams.has('perPage'))
  ) {
    return servePagedCallRecords(services, ctx);
  }
  const count = dataset.count(resource);
  const served = { resource, start: 0, end: isSingleObjectResource(resource) ? 1 : count };
  return streamReply(() => dataset.bodyChunks(resource), served);
}

/**
 * `?page=N&perPage=M` (page from 1): `{"data": [...], "paging": {page, perPage, totalPages, totalElements},
 * "navigation": {"nextPage": {"uri"}}}`, `nextPage` absent on the last page. Links carry no credentials.
 */
function servePagedCallRecords(services: SandboxServices, ctx: RouteContext): Reply {
  const { dataset, settings } = services;
  const page = intParam(ctx.url, 'page', 1, 1);
  const perPage = intParam(ctx.url, 'perPage', settings.pageSize, 1);
  if (page === undefined || perPage === undefined || perPage > maxPerPage) {
    return jsonReply(400, {
      error: 'invalid_paging',
      message: `page must be an integer ≥ 1 and perPage an integer from 1 to ${maxPerPage}.`,
    });
  }
  const total = dataset.count('user_call_records');
  const totalPages = Math.ceil(total / perPage);
  const start = Math.min((page - 1) * perPage, total);
  const end = Math.min(start + perPage, total);
  const navigation: Record<string, unknown> = {
    firstPage: { uri: `${ctx.baseUrl}/v1/user_call_records?page=1&perPage=${perPage}` },
  };
  if (page < totalPages) {
    navigation['nextPage'] = {
      uri: `${ctx.baseUrl}/v1/user_call_records?page=${page + 1}&perPage=${perPage}`,
    };
  }
  const suffix = `],"paging":${JSON.stringify({ page, perPage, totalPages, totalElements: total })},"navigation":${JSON.stringify(navigation)}}`;
  return streamReply(
    () => dataset.pageChunks('user_call_records', start, end, { prefix: '{"data":[', suffix }),
    {
      resource: 'user_call_records',
      start,
      end,
    },
  );
}

/** Parses `dateFrom`/`dateTo` (ISO 8601): `[from, to]`, or a 400 reply. */
function dateBounds(url: URL): [number | undefined, number | undefined] | Reply {
  const bounds: (number | undefined)[] = [];
  for (const name of ['dateFrom', 'dateTo']) {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === '') {
      bounds.push(undefined);
      continue;
    }
    const ms = parseTimestamp(raw);
    if (ms === undefined) {
      return jsonReply(400, {
        error: 'invalid_parameter',
        message: `${name} must be an ISO 8601 timestamp (e.g. 2024-03-01T00:00:00.000Z).`,
      });
    }
    bounds.push(ms);
  }
  return [bounds[0], bounds[1]];
}

/**
 * `?dateFrom=<ISO>&dateTo=<ISO>` on call records: the records with `dateFrom ≤ startTime < dateTo`, in the usual
 * order; one page (`{"data"}`) or, with `page`/`perPage`, the paged body over the window, its links carrying the
 * window along.
 */
function serveCallRecordWindow(services: SandboxServices, ctx: RouteContext): Reply {
  const { dataset, settings } = services;
  const bounds = dateBounds(ctx.url);
  if (!Array.isArray(bounds)) return bounds;
  const indexes = services.callLog.indexesIn(bounds[0], bounds[1]);
  const records = (slice: readonly number[]): string =>
    slice.map((index) => dataset.recordText('user_call_records', index)).join(',');
  const paged = ctx.url.searchParams.has('page') || ctx.url.searchParams.has('perPage');
  if (!paged) {
    return {
      status: 200,
      headers: { 'content-type': jsonType },
      body: {
        type: 'stream',
        chunks: () => windowChunks(indexes, (i) => dataset.recordText('user_call_records', i)),
      },
    };
  }
  const page = intParam(ctx.url, 'page', 1, 1);
  const perPage = intParam(ctx.url, 'perPage', settings.pageSize, 1);
  if (page === undefined || perPage === undefined || perPage > maxPerPage) {
    return jsonReply(400, {
      error: 'invalid_paging',
      message: `page must be an integer ≥ 1 and perPage an integer from 1 to ${maxPerPage}.`,
    });
  }
  const total = indexes.length;
  const totalPages = Math.ceil(total / perPage);
  const start = Math.min((page - 1) * perPage, total);
  const window = ['dateFrom', 'dateTo']
    .filter((name) => ctx.url.searchParams.has(name))
    .map((name) => `&${name}=${encodeURIComponent(ctx.url.searchParams.get(name) ?? '')}`)
    .join('');
  const link = (n: number): { uri: string } => ({
    uri: `${ctx.baseUrl}/v1/user_call_records?page=${n}&perPage=${perPage}${window}`,
  });
  const navigation: Record<string, unknown> = { firstPage: link(1) };
  if (page < totalPages) navigation['nextPage'] = link(page + 1);
  const paging = { page, perPage, totalPages, totalElements: total };
  const text = `{"data":[${records(indexes.slice(start, start + perPage))}],"paging":${JSON.stringify(paging)},"navigation":${JSON.stringify(navigation)}}`;
  return {
    status: 200,
    headers: { 'content-type': jsonType },
    body: { type: 'bytes', bytes: Buffer.from(text) },
  };
}

/** `{"data":[…]}` of the given records, in ≈64 KiB chunks, generated lazily. */
function* windowChunks(indexes: readonly number[], textOf: (index: number) => string): Generator<Buffer> {
  let part = '{"data":[';
  for (let position = 0; position < indexes.length; position += 1) {
    part += (position === 0 ? '' : ',') + textOf(indexes[position] as number);
    if (part.length >= 64 * 1024) {
      yield Buffer.from(part);
      part = '';
    }
  }
  yield Buffer.from(`${part}]}`);
}
