/**
 * The single-request primitive: sends one HTTP request through the shared client, follows redirects with our own
 * policy, applies auth only on the credential origin, decodes the body (gzip/deflate/br, bounded), checks the status
 * and the content type, and returns status, headers and a streaming body whose failures are already classified.
 * It never retries, except the one OAuth2 token renewal after a 401.
 *
 * Redirect policy: at most `maxRedirects` hops (default 5); 303, and 301/302 after a POST, continue as a GET without
 * body; 307/308 keep method and body. A hop to another origin (scheme, host or port differ) carries no credential:
 * no auth, no sensitive header (by name, or holding a secret value) and no query parameter holding a secret.
 * `redirects: 'error'` turns any redirect into `HTTP_REDIRECT_NOT_FOLLOWED` (for non-idempotent calls).
 */
import { request, type Dispatcher } from 'undici';
import { IngestError } from '../errors.ts';
import { resolvesToPrivate } from './private-address.ts';
import { isSensitiveName } from '../config/secrets.ts';
import { readBodyText } from './body-text.ts';
import type { Authenticator, AuthTarget } from './auth.ts';
import type { HttpClient } from './client.ts';
import { judgeBodyType, mediaTypeOf } from './content-type.ts';
import { acceptEncoding, decodeBody, parseContentEncoding, type DecodeFailure } from './decode-body.ts';
import {
  bodyExcerpt,
  bodyFramingOf,
  bodyNetworkError,
  httpError,
  networkError,
  statusError,
  type RequestContext,
} from './http-errors.ts';
import { createRedactor, type Redactor } from './redact.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

export type HttpHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** One request, with the names its errors are reported under. */
export interface HttpRequest {
  readonly method: HttpMethod;
  /** Absolute http(s) URL, query already encoded. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** For messages: the source and resource (e.g. `messaging`, `sms`). */
  readonly source: string;
  readonly resource: string;
}

/** Options of {@link sendRequest}. */
export interface SendOptions {
  readonly client: HttpClient;
  /** Cancels the request and the body; the rejection is the signal's reason (not reclassified). */
  readonly signal?: AbortSignal | undefined;
  /** Applied to every hop on the credential origin, never to another origin. */
  readonly auth?: Authenticator | null | undefined;
  /**
   * The only origin credentials go to (the source's `base_url`'s); default: the request's own. A request to another
   * origin — an absolute endpoint path, say — is sent without credentials.
   */
  readonly credentialOrigin?: string | undefined;
  /** Further secret values to redact (resolved credential headers). */
  readonly secrets?: readonly string[] | undefined;
  /** `follow` (default) or `error`: refuse any redirect (non-idempotent calls). */
  readonly redirects?: 'follow' | 'error' | undefined;
  readonly maxRedirects?: number | undefined;
  /** Use a new connection for this request and close it afterwards (never a reused keep-alive socket). */
  readonly freshConnection?: boolean | undefined;
  /** Override the client's headers / body timeouts for this request. */
  readonly headersTimeoutMs?: number | undefined;
  readonly bodyTimeoutMs?: number | undefined;
  readonly maxBodyBytes?: number | undefined;
  /** Non-2xx statuses returned instead of thrown (e.g. a response action ignoring 404). */
  readonly acceptStatus?: ((status: number) => boolean) | undefined;
  /** Check that a 2xx body is JSON by its content type (default true). */
  readonly expectJson?: boolean | undefined;
}

/** A response whose headers have arrived; the body streams. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: HttpHeaders;
  /** The final URL after redirects, without credentials added by auth (use it to resolve relative links). */
  readonly url: string;
  /** Decoded bytes; iterate once. Errors are classified `IngestError`s naming the request. */
  readonly body: AsyncIterable<Uint8Array>;
  /** The request as reported in errors (redactor included), to classify errors raised while reading the body. */
  readonly context: RequestContext;
  /** Reads at most `maxBytes` of the body as text and discards the rest. */
  text(maxBytes?: number): Promise<string>;
  /** Discards the body. */
  discard(): Promise<void>;
}

export const defaultMaxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const excerptReadBytes = 4096;

function headerValue(headers: HttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function originOf(url: string): string {
  return new URL(url).origin;
}

function hasHeader(headers: Readonly<Record<string, string>>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** Headers and URL of a hop to another origin: everything that is or carries a credential removed. */
function withoutCredentials(target: AuthTarget, redactor: Redactor): AuthTarget {
  const carriesSecret = (value: string): boolean => redactor.secrets.some((secret) => value.includes(secret));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) {
    if (!isSensitiveName(name) && !carriesSecret(value)) headers[name] = value;
  }
  const url = new URL(target.url);
  const raw = url.search.slice(1);
  if (raw !== '') {
    const kept = raw.split('&').filter((pair) => {
      const [name = '', value = ''] = pair.split('=');
      let decodedName = name;
      try {
        decodedName = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // keep the raw name
      }
      return !isSensitiveName(decodedName) && !carriesSecret(pair) && !carriesSecret(value);
    });
    url.search = kept.length === 0 ? '' : `?${kept.join('&')}`;
  }
  return { url: url.toString(), headers };
}

/**
 * The redirects not followed: a 307/308 that would carry the request's body to another origin, and a redirect from
 * a public address to a private, loopback or link-local one (the metadata service, the internal network).
 */
async function refuseUnsafeRedirect(
  context: RequestContext,
  hop: { from: string; to: URL; status: number; method: HttpMethod; hasBody: boolean },
): Promise<void> {
  const refuse = (why: string): never => {
    throw httpError(context, 'HTTP_REDIRECT_REFUSED', `HTTP ${hop.status} redirect refused: ${why}`, {
      phase: 'request',
      status: hop.status,
      details: { location: context.redactor.url(hop.to.toString()) },
    });
  };
  const from = new URL(hop.from);
  const keepsBody = (hop.status === 307 || hop.status === 308) && hop.hasBody;
  if (keepsBody && from.origin !== hop.to.origin) refuse('it would send the request body to another origin');
  if (from.hostname === hop.to.hostname) return;
  if ((await resolvesToPrivate(hop.to.hostname)) && !(await resolvesToPrivate(from.hostname))) {
    refuse('it leads from a public address to a private, loopback or link-local one');
  }
}

function decodeError(context: RequestContext, failure: DecodeFailure): IngestError {
  switch (failure.kind) {
    case 'too-large':
      return httpError(context, 'RESPONSE_TOO_LARGE', `the decoded body exceeds ${failure.limit} bytes`, {
        phase: 'request',
        details: { limit: failure.limit },
      });
    case 'unsupported':
      return httpError(context, 'RESPONSE_ENCODING', `unsupported Content-Encoding "${failure.encoding}"`, {
        phase: 'request',
      });
    case 'corrupt':
      return httpError(context, 'RESPONSE_ENCODING', 'the compressed body is corrupt', { phase: 'request' });
  }
}

/**
 * Sends one request and returns once the response headers are in (2xx, or a status `acceptStatus` allows). Throws
 * a classified `IngestError` otherwise (see `http-errors.ts`); with `details.phase` telling whether anything was
 * sent. Iterate or `discard()` the body, or the connection is held until the body timeout.
 */
export async function sendRequest(req: HttpRequest, options: SendOptions): Promise<HttpResponse> {
  const { client, signal } = options;
  const auth = options.auth ?? null;
  const maxRedirects = options.maxRedirects ?? defaultMaxRedirects;
  let credentialOrigin: string;
  try {
    const parsed = new URL(req.url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    credentialOrigin = options.credentialOrigin ?? parsed.origin;
  } catch {
    const redactor = createRedactor([...(auth?.secrets().values ?? []), ...(options.secrets ?? [])]);
    throw new IngestError(
      'response-shape',
      'REQUEST_URL_INVALID',
      `not an absolute http(s) URL: ${JSON.stringify(redactor.url(req.url))} (source "${req.source}", resource "${req.resource}")`,
      { details: { source: req.source, resource: req.resource, method: req.method, phase: 'connect' } },
    );
  }
  let method: HttpMethod = req.method;
  let url = req.url;
  let body = req.body;
  let headers: Readonly<Record<string, string>> = req.headers ?? {};
  let hops = 0;
  let renewed = false;
  for (;;) {
    signal?.throwIfAborted();
    const sameOrigin = originOf(url) === credentialOrigin;
    let target: AuthTarget = { url, headers };
    if (sameOrigin && auth !== null) target = await auth.apply(target, signal);
    const authSecrets = auth?.secrets() ?? { values: [], basicPairs: [] };
    const redactor = createRedactor(
      [...authSecrets.values, ...(options.secrets ?? [])],
      authSecrets.basicPairs,
    );
    if (!sameOrigin) target = withoutCredentials(target, redactor);
    const context: RequestContext = {
      source: req.source,
      resource: req.resource,
      method,
      url: target.url,
      redactor,
    };
    const sendHeaders: Record<string, string> = { ...target.headers };
    if (!hasHeader(sendHeaders, 'accept')) sendHeaders['accept'] = 'application/json';
    if (!hasHeader(sendHeaders, 'accept-encoding')) sendHeaders['accept-encoding'] = acceptEncoding;
    if (!hasHeader(sendHeaders, 'user-agent')) sendHeaders['user-agent'] = 'durable-ingest';
    await client.acquire(originOf(target.url), signal);
    const fresh = options.freshConnection === true ? client.freshDispatcher(originOf(target.url)) : undefined;
    const dispatcher: Dispatcher = fresh ?? client.dispatcher;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(target.url, {
        dispatcher,
        method,
        headers: sendHeaders,
        ...(body === undefined ? {} : { body }),
        ...(signal === undefined ? {} : { signal }),
        headersTimeout: options.headersTimeoutMs ?? client.timeouts.headersMs,
        bodyTimeout: options.bodyTimeoutMs ?? client.timeouts.bodyMs,
      });
    } catch (error) {
      await fresh?.close().catch(() => undefined);
      if (signal?.aborted === true) throw signal.reason;
      throw networkError(context, error, client.isConnectError(error));
    }
    const status = response.statusCode;
    client.observer?.response(originOf(target.url), status);
    const responseHeaders = response.headers as HttpHeaders;
    const raw = response.body;
    const maxBodyBytes = options.maxBodyBytes ?? client.maxBodyBytes;
    const bodyBytes = classifiedBody(raw, responseHeaders, maxBodyBytes, context, signal, fresh);
    const readText = (maxBytes: number): Promise<string> => readBodyText(bodyBytes, maxBytes);
    const excerpt = async (): Promise<string | undefined> => {
      try {
        return bodyExcerpt(await readText(excerptReadBytes), redactor);
      } catch {
        return undefined;
      }
    };
    const discard = async (): Promise<void> => {
      try {
        for await (const _chunk of bodyBytes) {
          // drained so the connection can be reused
        }
      } catch {
        // the body is not wanted: its failure does not matter
      }
    };

    if (redirectStatuses.has(status)) {
      const location = headerValue(responseHeaders, 'location');
      if (options.redirects === 'error') {
        const shown = await excerpt();
        throw httpError(
          context,
          'HTTP_REDIRECT_NOT_FOLLOWED',
          `HTTP ${status} redirect not followed (redirects are disabled for this request)`,
          {
            phase: 'request',
            status,
            excerpt: shown,
            details: location === undefined ? {} : { location: redactor.url(location) },
          },
        );
      }
      await discard();
      if (hops >= maxRedirects) {
        throw httpError(context, 'HTTP_TOO_MANY_REDIRECTS', `more than ${maxRedirects} redirects`, {
          phase: 'request',
          status,
        });
      }
      let next: URL | undefined;
      try {
        next = location === undefined ? undefined : new URL(location, url);
      } catch {
        next = undefined;
      }
      if (next === undefined || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
        throw httpError(
          context,
          'HTTP_REDIRECT_INVALID',
          `HTTP ${status} redirect without a usable Location`,
          {
            phase: 'request',
            status,
            details: location === undefined ? {} : { location: redactor.url(location) },
          },
        );
      }
      next.hash = '';
      await refuseUnsafeRedirect(context, {
        from: url,
        to: next,
        status,
        method,
        hasBody: body !== undefined,
      });
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        if (method !== 'HEAD') method = 'GET';
        body = undefined;
        headers = Object.fromEntries(
          Object.entries(headers).filter(
            ([name]) => !['content-type', 'content-length'].includes(name.toLowerCase()),
          ),
        );
      }
      url = next.toString();
      hops += 1;
      continue;
    }

    if (status === 401 && sameOrigin && auth !== null && !renewed) {
      const shown = await excerpt();
      if (await auth.renewAfterUnauthorized(target, signal)) {
        renewed = true;
        continue;
      }
      throw statusError(context, status, responseHeaders, shown);
    }

    const success = status >= 200 && status <= 299;
    if (!success && options.acceptStatus?.(status) !== true) {
      throw statusError(context, status, responseHeaders, await excerpt());
    }
    if (success && options.expectJson !== false && method !== 'HEAD' && status !== 204 && status !== 205) {
      const mime = mediaTypeOf(headerValue(responseHeaders, 'content-type'));
      const empty = headerValue(responseHeaders, 'content-length') === '0';
      const verdict = judgeBodyType(mime);
      if (!empty && verdict !== 'json') {
        const html = verdict === 'html';
        const shown = await excerpt();
        throw httpError(
          context,
          html ? 'RESPONSE_HTML' : 'RESPONSE_CONTENT_TYPE',
          html
            ? `HTTP ${status} with an HTML page where JSON was expected`
            : `HTTP ${status} with content type "${mime}", not JSON`,
          { phase: 'request', status, excerpt: shown, details: { contentType: mime } },
        );
      }
    }
    return {
      status,
      headers: responseHeaders,
      url,
      body: bodyBytes,
      context,
      text: (maxBytes = 1024 * 1024) => readText(maxBytes),
      discard,
    };
  }
}

/** The decoded body with every failure classified, closing a fresh connection when it ends. */
function classifiedBody(
  raw: Dispatcher.ResponseData['body'],
  headers: HttpHeaders,
  maxBytes: number,
  context: RequestContext,
  signal: AbortSignal | undefined,
  fresh: { close(): Promise<void> } | undefined,
): AsyncIterable<Uint8Array> {
  let started = false;
  // The bytes as sent (before decoding): whether a connection that closed under the body cut it short.
  let receivedBytes = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of raw as AsyncIterable<Uint8Array>) {
      receivedBytes += chunk.byteLength;
      yield chunk;
    }
  }
  async function* run(): AsyncGenerator<Uint8Array> {
    try {
      yield* decodeBody(counted(), parseContentEncoding(headers['content-encoding']), maxBytes, (failure) =>
        decodeError(context, failure),
      );
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      if (error instanceof IngestError) throw error;
      throw bodyNetworkError(context, error, bodyFramingOf(headers), receivedBytes);
    } finally {
      if (!raw.destroyed && !raw.readableEnded) {
        // Abandoned early (bound exceeded, consumer stopped): the abort is ours, not an error to surface.
        raw.on('error', () => undefined);
        raw.destroy();
      }
      await fresh?.close().catch(() => undefined);
    }
  }
  return {
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      if (started) throw new Error('a response body can be read only once');
      started = true;
      return run();
    },
  };
}
