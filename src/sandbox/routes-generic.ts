/**
 * Generic routes over the generic `items` dataset, for the engine's own tests: one route per auth kind (api key in
 * header, query or cookie; bearer; HTTP basic; OAuth2 client credentials with a token endpoint whose tokens
 * expire) and one per paginator style (JSON next link, Link header, offset/limit, page number, body cursor with
 * has-more, header cursor). The link and cursor styles can misbehave on request, for the paginators' loop guards:
 * `loop_at=N` (with `loop_to=K`, default N) makes page N point back to page K instead of N + 1, and an `api_key`
 * sent in the query is echoed into the next links, as some APIs do.
 */
import {
  authorizationCredentials,
  basicCredentials,
  checkBasic,
  checkValue,
  headerValue,
  parseCookies,
} from './auth.ts';
import type { AuthOutcome } from './auth.ts';
import { jsonReply, streamReply, type Reply } from './reply.ts';
import { authorize, intParam, type Route, type RouteContext } from './routing.ts';
import type { SandboxServices } from './services.ts';

export const genericAuthKinds = [
  'api-key-header',
  'api-key-query',
  'api-key-cookie',
  'bearer',
  'basic',
  'oauth2',
] as const;
export type GenericAuthKind = (typeof genericAuthKinds)[number];

export const paginatorStyles = [
  'json-link',
  'header-link',
  'offset',
  'page-number',
  'cursor',
  'header-cursor',
] as const;
export type PaginatorStyle = (typeof paginatorStyles)[number];

/** Where the generic api key goes, per location. */
export const genericApiKeyNames = { header: 'X-API-Key', query: 'api_key', cookie: 'api_key' } as const;

/** The header that carries the next cursor on the `header-cursor` route. */
export const nextCursorHeader = 'X-Next-Cursor';

/** Largest page size the paginator routes accept. */
export const maxPageSize = 1000;

export const tokenPath = '/generic/oauth/token';

/** The auth routes, the token endpoint and the paginator routes. */
export function genericRoutes(services: SandboxServices): Route[] {
  return [
    ...genericAuthKinds.map((kind): Route => ({
      method: 'GET',
      template: `/generic/auth/${kind}`,
      handle: (ctx) => serveAuthenticated(services, kind, ctx),
    })),
    { method: 'POST', template: tokenPath, handle: (ctx) => issueToken(services, ctx) },
    ...paginatorStyles.map((style): Route => ({
      method: 'GET',
      template: `/generic/pages/${style}`,
      handle: (ctx) => servePage(services, style, ctx),
    })),
  ];
}

/** Checks the credential of one generic auth kind against the sandbox's generic credentials. */
export function checkGenericAuth(
  services: SandboxServices,
  kind: GenericAuthKind,
  ctx: RouteContext,
): AuthOutcome {
  const credentials = services.settings.generic;
  switch (kind) {
    case 'api-key-header':
      return checkValue(headerValue(ctx.req, genericApiKeyNames.header), credentials.apiKey);
    case 'api-key-query':
      return checkValue(ctx.url.searchParams.get(genericApiKeyNames.query), credentials.apiKey);
    case 'api-key-cookie':
      return checkValue(
        parseCookies(headerValue(ctx.req, 'cookie')).get(genericApiKeyNames.cookie),
        credentials.apiKey,
      );
    case 'bearer':
      return checkValue(authorizationCredentials(ctx.req, 'Bearer'), credentials.bearerToken);
    case 'basic':
      return checkBasic(ctx.req, credentials.username, credentials.password);
    case 'oauth2': {
      const token = authorizationCredentials(ctx.req, 'Bearer');
      return token === undefined || token === '' ? 'missing' : services.tokens.check(token);
    }
  }
}

function serveAuthenticated(services: SandboxServices, kind: GenericAuthKind, ctx: RouteContext): Reply {
  const outcome: AuthOutcome = ctx.enforceAuth ? checkGenericAuth(services, kind, ctx) : 'not-required';
  if (!authorize(ctx, () => outcome)) return unauthorizedReply(kind, outcome);
  const { dataset } = services;
  const count = dataset.count('items');
  return streamReply(() => dataset.pageChunks('items', 0, count, { prefix: '{"data":[', suffix: ']}' }), {
    resource: 'items',
    start: 0,
    end: count,
  });
}

/** The 401 of a generic route: `{error, message}`, with a `WWW-Authenticate` challenge for basic/bearer/oauth2. */
export function unauthorizedReply(kind: GenericAuthKind, outcome: AuthOutcome): Reply {
  const challenge: Record<string, string> =
    kind === 'basic'
      ? { 'www-authenticate': 'Basic realm="sandbox"' }
      : kind === 'bearer' || kind === 'oauth2'
        ? {
            'www-authenticate':
              outcome === 'missing'
                ? 'Bearer realm="sandbox"'
                : 'Bearer realm="sandbox", error="invalid_token"',
          }
        : {};
  const message =
    outcome === 'expired'
      ? 'The access token expired.'
      : outcome === 'missing'
        ? 'No credentials.'
        : 'Invalid credentials.';
  return jsonReply(
    401,
    { error: outcome === 'missing' ? 'unauthorized' : 'invalid_token', message },
    challenge,
  );
}

/** OAuth2 client credentials (RFC 6749 §4.4): form-encoded POST, client id/secret in the body or basic auth. */
async function issueToken(services: SandboxServices, ctx: RouteContext): Promise<Reply> {
  const contentType = headerValue(ctx.req, 'content-type') ?? '';
  const text = await ctx.readBody(64 * 1024);
  if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return jsonReply(400, {
      error: 'invalid_request',
      error_description: 'The token request must be application/x-www-form-urlencoded.',
    });
  }
  const form = new URLSearchParams(text);
  const { clientId, clientSecret } = services.settings.generic;
  const basic = basicCredentials(ctx.req);
  const presentedId = form.get('client_id') ?? basic?.user;
  const presentedSecret = form.get('client_secret') ?? basic?.password;
  if (form.has('client_secret')) {
    ctx.addCredentials([
      {
        location: 'body',
        name: 'client_secret',
        matched: checkValue(form.get('client_secret'), clientSecret) === 'ok',
      },
    ]);
  }
  const outcome =
    checkValue(presentedId, clientId) === 'ok'
      ? checkValue(presentedSecret, clientSecret)
      : checkValue(presentedId, clientId);
  if (!authorize(ctx, () => outcome)) {
    return jsonReply(
      401,
      { error: 'invalid_client', error_description: 'Unknown client or wrong secret.' },
      { 'www-authenticate': 'Basic realm="sandbox"' },
    );
  }
  if (form.get('grant_type') !== 'client_credentials') {
    return jsonReply(400, {
      error: 'unsupported_grant_type',
      error_description: 'Only grant_type=client_credentials is supported.',
    });
  }
  const token = services.tokens.issue();
  return jsonReply(
    200,
    { access_token: token.accessToken, token_type: 'Bearer', expires_in: token.expiresIn },
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

/** A 400 `{error: 'invalid_request', message}`. */
export function badRequest(message: string): Reply {
  return jsonReply(400, { error: 'invalid_request', message });
}

/** An opaque cursor for a position in the dataset. */
function encodeCursor(offset: number): string {
  return Buffer.from(`items:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string): number | undefined {
  const match = /^items:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match === null ? undefined : Number(match[1]);
}

function servePage(services: SandboxServices, style: PaginatorStyle, ctx: RouteContext): Reply {
  const { dataset, settings } = services;
  const total = dataset.count('items');
  const url = ctx.url;
  const sizeParam = style === 'offset' ? 'limit' : 'page_size';
  const size = intParam(url, sizeParam, settings.pageSize, 1);
  if (size === undefined || size > maxPageSize)
    return badRequest(`${sizeParam} must be an integer from 1 to ${maxPageSize}.`);

  let start: number;
  if (style === 'offset') {
    const offset = intParam(url, 'offset', 0, 0);
    if (offset === undefined) return badRequest('offset must be an integer ≥ 0.');
    start = offset;
  } else if (style === 'cursor' || style === 'header-cursor') {
    const cursor = url.searchParams.get('cursor');
    const decoded = cursor === null || cursor === '' ? 0 : decodeCursor(cursor);
    if (decoded === undefined) return badRequest('Unknown cursor.');
    start = decoded;
  } else {
    const page = intParam(url, 'page', 1, 1);
    if (page === undefined) return badRequest('page must be an integer ≥ 1.');
    start = (page - 1) * size;
  }
  const loopAt = intParam(url, 'loop_at', 0, 0);
  const loopTo = intParam(url, 'loop_to', loopAt ?? 0, 1);
  if (loopAt === undefined || loopTo === undefined)
    return badRequest('loop_at and loop_to must be integers ≥ 1.');
  start = Math.min(start, total);
  const end = Math.min(start + size, total);
  const hasMore = end < total;
  const page = Math.floor(start / size) + 1;
  // The page the next link or cursor points to: the following one, or `loop_to` from page `loop_at` on.
  const looping = loopAt > 0 && page === loopAt;
  const nextPage = looping ? loopTo : page + 1;
  const nextStart = looping ? (loopTo - 1) * size : end;
  const passed = ['loop_at', 'loop_to', 'api_key']
    .filter((name) => url.searchParams.has(name))
    .map((name) => `&${name}=${encodeURIComponent(url.searchParams.get(name) ?? '')}`)
    .join('');
  const pageUrl = (next: number): string =>
    `${ctx.baseUrl}${url.pathname}?page=${next}&page_size=${size}${passed}`;

  const headers: Record<string, string> = {};
  let extra: Record<string, unknown> = {};
  switch (style) {
    case 'json-link':
      extra = { next: hasMore ? pageUrl(nextPage) : null };
      break;
    case 'header-link':
      if (hasMore) headers['link'] = `<${pageUrl(nextPage)}>; rel="next"`;
      break;
    case 'offset':
      extra = { total, offset: start, limit: size, has_more: hasMore };
      break;
    case 'page-number':
      extra = {
        page,
        page_size: size,
        total_pages: Math.ceil(total / size),
        total_items: total,
        has_more: hasMore,
      };
      break;
    case 'cursor':
      extra = { cursors: { next: hasMore ? encodeCursor(nextStart) : null }, has_more: hasMore };
      break;
    case 'header-cursor':
      if (hasMore) headers[nextCursorHeader.toLowerCase()] = encodeCursor(nextStart);
      break;
  }
  const suffix = `]${Object.entries(extra)
    .map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`)
    .join('')}}`;
  return streamReply(
    () => dataset.pageChunks('items', start, end, { prefix: '{"data":[', suffix }),
    { resource: 'items', start, end },
    headers,
  );
}
