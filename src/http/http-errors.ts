/**
 * The one classification of HTTP failures into the error taxonomy (`src/errors.ts`). Every error names the source,
 * the resource, the method and the URL (secrets redacted), includes a short redacted excerpt of the body when there
 * is one, and records in `details.phase` whether it happened before the request was sent (`connect`: DNS, connection
 * refused, TLS, connect timeout — nothing reached the server) or after (`request`: the server may have acted on it).
 * This module classifies; it never retries.
 */
import { STATUS_CODES } from 'node:http';
import { IngestError, type ErrorCategory } from '../errors.ts';
import type { Redactor } from './redact.ts';
import { parseRetryAfter } from './retry-after.ts';

/** Where a request failed: before anything was sent (`connect`) or once it may have reached the server. */
export type RequestPhase = 'connect' | 'request';

/** The stable codes of this layer, with their category (retryable = category `http-transient`). */
export const httpErrorCodes = {
  /** 429. */
  HTTP_RATE_LIMITED: 'http-transient',
  /** 408. */
  HTTP_REQUEST_TIMEOUT: 'http-transient',
  /** Any 5xx. */
  HTTP_SERVER_ERROR: 'http-transient',
  /** DNS failure, connection refused, TLS failure, the connection reset or closed before the body arrived. */
  HTTP_NETWORK_ERROR: 'http-transient',
  /** No connection within the connect timeout. */
  HTTP_CONNECT_TIMEOUT: 'http-transient',
  /** The status line and headers did not arrive within the headers timeout. */
  HTTP_HEADERS_TIMEOUT: 'http-transient',
  /** The body stalled longer than the body timeout (between two chunks). */
  HTTP_BODY_TIMEOUT: 'http-transient',
  /** The connection ended the body early: before its `Content-Length`, or a chunked body before its last chunk. */
  HTTP_BODY_INCOMPLETE: 'http-transient',
  /** 401. */
  HTTP_UNAUTHORIZED: 'auth',
  /** 403. */
  HTTP_FORBIDDEN: 'auth',
  /** The OAuth2 token endpoint refused the client or answered without a token. */
  OAUTH_TOKEN_REJECTED: 'auth',
  /** Any other 4xx. */
  HTTP_CLIENT_ERROR: 'http-permanent',
  /** A redirect while redirects are disabled (a non-idempotent call). */
  HTTP_REDIRECT_NOT_FOLLOWED: 'http-permanent',
  /** More redirects than allowed. */
  HTTP_TOO_MANY_REDIRECTS: 'http-permanent',
  /** A redirect without a usable `Location` (missing, not http(s)). */
  HTTP_REDIRECT_INVALID: 'http-permanent',
  HTTP_REDIRECT_REFUSED: 'http-permanent',
  /** A status that is neither success, redirect nor error (1xx other than 101 never reach us). */
  HTTP_UNEXPECTED_STATUS: 'http-permanent',
  /** A 2xx HTML page where JSON was expected (a maintenance or login page). */
  RESPONSE_HTML: 'response-shape',
  /** A 2xx with a content type that is not JSON (`text/plain` and `application/octet-stream` are read as JSON). */
  RESPONSE_CONTENT_TYPE: 'response-shape',
  /** The URL to request is not an absolute http(s) URL (e.g. a next link from a response); nothing was sent. */
  REQUEST_URL_INVALID: 'response-shape',
  /** The decoded body is larger than the bound. */
  RESPONSE_TOO_LARGE: 'response-shape',
  /** A `Content-Encoding` we cannot decode, or a compressed body that is corrupt. */
  RESPONSE_ENCODING: 'response-shape',
} as const satisfies Readonly<Record<string, ErrorCategory>>;

export type HttpErrorCode = keyof typeof httpErrorCodes;

/** The request an error is about. `url` is the raw URL: it is redacted whenever it is shown. */
export interface RequestContext {
  readonly source: string;
  readonly resource: string;
  readonly method: string;
  readonly url: string;
  readonly redactor: Redactor;
}

/** Longest body excerpt in a message, in characters. */
export const excerptChars = 200;

/** `source "s", resource "r": GET <redacted URL>`. */
export function describeRequest(context: RequestContext): string {
  return `source "${context.source}", resource "${context.resource}": ${context.method} ${context.redactor.url(context.url)}`;
}

/** A redacted, quoted excerpt of body text (at most {@link excerptChars} characters), or undefined when empty. */
export function bodyExcerpt(text: string, redactor: Redactor): string | undefined {
  const trimmed = text.replace(/\s+/g, ' ').trim();
  if (trimmed === '') return undefined;
  // Redact before cutting, so a secret split by the cut is not left half visible.
  const redacted = redactor.excerpt(trimmed);
  const cut = redacted.length > excerptChars ? `${redacted.slice(0, excerptChars - 1)}…` : redacted;
  return JSON.stringify(cut);
}

/** Builds an error of this layer: the message is `<what> (<request>)[; body: <excerpt>]`. */
export function httpError(
  context: RequestContext,
  code: HttpErrorCode,
  what: string,
  facts: {
    readonly phase: RequestPhase;
    readonly status?: number;
    readonly excerpt?: string | undefined;
    readonly retryAfterMs?: number | undefined;
    readonly cause?: Error;
    readonly details?: Readonly<Record<string, unknown>>;
  },
): IngestError {
  const category = httpErrorCodes[code];
  const excerpt = facts.excerpt === undefined ? '' : `; body: ${facts.excerpt}`;
  const message = `${context.redactor.text(what)} (${describeRequest(context)})${excerpt}`;
  return new IngestError(category, code, message, {
    ...(facts.retryAfterMs === undefined ? {} : { retryAfterMs: facts.retryAfterMs }),
    ...(facts.cause === undefined ? {} : { cause: facts.cause }),
    details: {
      source: context.source,
      resource: context.resource,
      method: context.method,
      url: context.redactor.url(context.url),
      phase: facts.phase,
      ...(facts.status === undefined ? {} : { status: facts.status }),
      ...(facts.excerpt === undefined ? {} : { excerpt: facts.excerpt }),
      ...facts.details,
    },
  });
}

function statusLabel(status: number): string {
  const text = STATUS_CODES[status];
  return text === undefined ? `HTTP ${status}` : `HTTP ${status} ${text}`;
}

/**
 * The error for a response status that is not a success: 429/408/5xx transient (with `retryAfterMs` from
 * `Retry-After`), 401/403 auth, other 4xx permanent. `excerpt` is from {@link bodyExcerpt}.
 */
export function statusError(
  context: RequestContext,
  status: number,
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  excerpt: string | undefined,
  now: number = Date.now(),
): IngestError {
  const code: HttpErrorCode =
    status === 429
      ? 'HTTP_RATE_LIMITED'
      : status === 408
        ? 'HTTP_REQUEST_TIMEOUT'
        : status >= 500 && status <= 599
          ? 'HTTP_SERVER_ERROR'
          : status === 401
            ? 'HTTP_UNAUTHORIZED'
            : status === 403
              ? 'HTTP_FORBIDDEN'
              : status >= 400 && status <= 499
                ? 'HTTP_CLIENT_ERROR'
                : 'HTTP_UNEXPECTED_STATUS';
  const transient = httpErrorCodes[code] === 'http-transient';
  const retryAfterMs = transient ? parseRetryAfter(headers['retry-after'], now) : undefined;
  const wait = retryAfterMs === undefined ? '' : ` (retry after ${retryAfterMs} ms)`;
  return httpError(context, code, `${statusLabel(status)}${wait}`, {
    phase: 'request',
    status,
    excerpt,
    retryAfterMs,
  });
}

/** Codes of Node/undici errors that mean nothing was sent (the connection was never established). */
const connectPhaseCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A secret-free copy of a low-level error (name, code, redacted message) to keep as the `cause`. */
export function sanitizedCause(error: unknown, redactor: Redactor): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redactor.text(original.message));
  copy.name = original.name;
  const code = errorCode(original);
  if (code !== undefined) Object.assign(copy, { code });
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

/**
 * Classifies a network-level failure (undici or Node error). `connectPhase` is true when the error came out of the
 * connector (see `client.ts`); known connect codes count too.
 */
export function networkError(context: RequestContext, error: unknown, connectPhase: boolean): IngestError {
  const code = errorCode(error);
  const phase: RequestPhase =
    connectPhase || (code !== undefined && connectPhaseCodes.has(code)) ? 'connect' : 'request';
  const cause = sanitizedCause(error, context.redactor);
  const details = code === undefined ? {} : { causeCode: code };
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return httpError(context, 'HTTP_CONNECT_TIMEOUT', 'connect timeout', {
        phase: 'connect',
        cause,
        details,
      });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return httpError(context, 'HTTP_HEADERS_TIMEOUT', 'no response headers within the headers timeout', {
        phase,
        cause,
        details,
      });
    case 'UND_ERR_BODY_TIMEOUT':
      return httpError(context, 'HTTP_BODY_TIMEOUT', 'the body stalled longer than the body timeout', {
        phase,
        cause,
        details,
      });
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return httpError(context, 'HTTP_BODY_INCOMPLETE', 'the body ended before its Content-Length', {
        phase,
        cause,
        details,
      });
    default:
      return httpError(
        context,
        'HTTP_NETWORK_ERROR',
        `network error${phase === 'connect' ? ' before the request was sent' : ''}: ${cause.message}`,
        { phase, cause, details },
      );
  }
}

/**
 * How a response body is delimited (RFC 9112 §6.3): by `Content-Length`, by chunks ending with a last, empty one, or
 * by the connection's close — the one framing where a cut body cannot be told from a whole one.
 */
export type BodyFraming =
  | { readonly kind: 'content-length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

/** The framing the response headers announce. */
export function bodyFramingOf(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): BodyFraming {
  const encoding = headers['transfer-encoding'];
  const codings = (typeof encoding === 'string' ? encoding : (encoding ?? []).join(',')).toLowerCase();
  if (codings.split(',').some((coding) => coding.trim() === 'chunked')) return { kind: 'chunked' };
  const lengthHeader = headers['content-length'];
  const length = Number(typeof lengthHeader === 'string' ? lengthHeader : lengthHeader?.[0]);
  return Number.isSafeInteger(length) && length >= 0 ? { kind: 'content-length', length } : { kind: 'close' };
}

/**
 * The errors undici raises when the connection ends under a body: the other side closed it (`UND_ERR_SOCKET`) or
 * reset it, and, on a `Connection: close` response, the length check at its end.
 */
const bodyEndingCodes = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
]);

/**
 * Classifies a network failure while a body streams, after `receivedBytes` of it (as sent, before decoding). A
 * connection that ends a framed body early — fewer bytes than its `Content-Length`, or a chunked body without its
 * last chunk — is `HTTP_BODY_INCOMPLETE`, whichever of the errors above undici raised for it (that depends on
 * keep-alive and on how the peer closed); anything else is {@link networkError}'s.
 */
export function bodyNetworkError(
  context: RequestContext,
  error: unknown,
  framing: BodyFraming,
  receivedBytes: number,
): IngestError {
  const code = errorCode(error);
  const cutShort =
    code !== undefined &&
    bodyEndingCodes.has(code) &&
    (framing.kind === 'chunked' || (framing.kind === 'content-length' && receivedBytes < framing.length));
  if (!cutShort) return networkError(context, error, false);
  const what =
    framing.kind === 'content-length'
      ? `the body ended after ${receivedBytes} of its ${framing.length} bytes (Content-Length): the connection closed`
      : `the chunked body ended without its last chunk after ${receivedBytes} bytes: the connection closed`;
  return httpError(context, 'HTTP_BODY_INCOMPLETE', what, {
    phase: 'request',
    cause: sanitizedCause(error, context.redactor),
    details: {
      causeCode: code,
      framing: framing.kind,
      receivedBytes,
      ...(framing.kind === 'content-length' ? { expectedBytes: framing.length } : {}),
    },
  });
}

/**
 * Adds the request to an error raised while reading a body (the extractor's `response-shape` errors): same category
 * and code, the message prefixed with the request and redacted, details merged. Other errors pass through.
 */
export function withRequestContext(context: RequestContext, error: unknown): unknown {
  if (!(error instanceof IngestError)) return error;
  if (error.details['phase'] !== undefined) return error;
  const excerpt = error.details['excerpt'];
  // An excerpt was cut from the body before anyone knew the secrets: its edges may hold part of one.
  const redactedExcerpt = typeof excerpt === 'string' ? context.redactor.excerpt(excerpt) : undefined;
  let message = context.redactor.text(error.message);
  if (typeof excerpt === 'string' && redactedExcerpt !== undefined) {
    message = message.split(context.redactor.text(excerpt)).join(redactedExcerpt);
  }
  return new IngestError(error.category, error.code, `${message} (${describeRequest(context)})`, {
    retryable: error.retryable,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    details: {
      ...error.details,
      ...(redactedExcerpt === undefined ? {} : { excerpt: redactedExcerpt }),
      source: context.source,
      resource: context.resource,
      method: context.method,
      url: context.redactor.url(context.url),
      phase: 'request',
    },
  });
}

/** The phase recorded on an error of this layer, or undefined for other errors. */
export function requestPhaseOf(error: unknown): RequestPhase | undefined {
  if (!(error instanceof IngestError)) return undefined;
  const phase = error.details['phase'];
  return phase === 'connect' || phase === 'request' ? phase : undefined;
}

/**
 * True when the request certainly did not reach the server (connect phase): a non-idempotent call may be retried
 * only then.
 */
export function failedBeforeSending(error: unknown): boolean {
  return requestPhaseOf(error) === 'connect';
}
