/**
 * The answers a fault substitutes for the real one (error statuses with `Retry-After`, malformed JSON, HTML with
 * 200, 204, redirects) and the body shaping of the faults that distort the real answer.
 */
import type { BodyShaping } from './body-writer.ts';
import { bodyLength } from './body-writer.ts';
import type { Fault, RetryAfter } from './faults.ts';
import { jsonReply, jsonType, noContentReply, type Reply } from './reply.ts';

/** A `Retry-After` value: whole seconds (rounded up), or an HTTP-date rounded UP to the next whole second. */
export function retryAfterHeader(retryAfter: RetryAfter, nowMs: number = Date.now()): string {
  if (retryAfter.format === 'seconds') return String(Math.ceil(retryAfter.seconds));
  const at = Math.ceil((nowMs + retryAfter.seconds * 1000) / 1000) * 1000;
  return new Date(at).toUTCString();
}

const statusTexts: Readonly<Record<number, string>> = {
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export const maintenancePage =
  '<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head>' +
  '<body><h1>We&rsquo;ll be back soon</h1><p>The API is under maintenance.</p></body></html>\n';

/** Not JSON (a NaN and single quotes), but served as `application/json` with status 200. */
export const malformedJson = `{"data":[{"id":"sandbox-1","value":NaN},{'id':'sandbox-2'}]}`;

/** Where a redirect points, and the credential query parameters it must not carry. */
export interface RedirectContext {
  readonly url: URL;
  readonly sameOrigin: string;
  readonly otherOrigin: string;
  readonly isCredentialParam: (name: string, value: string) => boolean;
}

/** The reply a fault substitutes, or undefined for faults that delay or reshape the real reply instead. */
export function faultReply(fault: Fault, redirect: RedirectContext): Reply | undefined {
  switch (fault.type) {
    case 'status': {
      const headers: Record<string, string> =
        fault.retryAfter === undefined ? {} : { 'retry-after': retryAfterHeader(fault.retryAfter) };
      const title = statusTexts[fault.status] ?? 'Error';
      return jsonReply(
        fault.status,
        { error: title, status: fault.status, detail: 'Injected by the sandbox.' },
        headers,
      );
    }
    case 'malformed-json':
      return {
        status: 200,
        headers: { 'content-type': jsonType },
        body: { type: 'bytes', bytes: Buffer.from(malformedJson) },
      };
    case 'html':
      return {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: { type: 'bytes', bytes: Buffer.from(maintenancePage) },
      };
    case 'empty':
      return noContentReply();
    case 'redirect': {
      const params = new URLSearchParams();
      for (const [name, value] of redirect.url.searchParams) {
        if (!redirect.isCredentialParam(name, value)) params.append(name, value);
      }
      const query = params.size > 0 ? `?${params.toString()}` : '';
      const origin = fault.target === 'other-origin' ? redirect.otherOrigin : redirect.sameOrigin;
      const location = `${origin}${fault.path ?? redirect.url.pathname}${query}`;
      return { status: fault.status, headers: { location }, body: { type: 'none' } };
    }
    case 'reset':
    case 'slow-headers':
    case 'slow-body':
    case 'truncated-body':
    case 'wrong-content-type':
      return undefined;
  }
}

/** Beyond this many bytes a body counts as "large": a mid-body reset then happens after 64 KiB. */
const smallBodyBytes = 128 * 1024;

/** How a fault distorts the real reply's body (none for most faults). */
export function bodyShaping(fault: Fault | undefined, reply: Reply): BodyShaping {
  if (fault === undefined) return {};
  switch (fault.type) {
    case 'slow-body':
      return { delayMs: fault.delayMs, pieceBytes: fault.chunkBytes ?? 1024 };
    case 'truncated-body': {
      const total = bodyLength(reply);
      const sent = Math.min(fault.afterBytes ?? Math.floor(total / 2), Math.max(0, total - 1));
      return { stopAfterBytes: sent, stopWith: 'truncate', declaredLength: Math.max(total, sent + 1) };
    }
    case 'reset': {
      if (fault.when !== 'mid-body') return {};
      const total = bodyLength(reply, smallBodyBytes);
      const small = total <= smallBodyBytes;
      const defaultBytes = small ? Math.floor(total / 2) : 64 * 1024;
      const sent = small
        ? Math.min(fault.afterBytes ?? defaultBytes, Math.max(0, total - 1))
        : (fault.afterBytes ?? defaultBytes);
      return { stopAfterBytes: sent, stopWith: 'reset' };
    }
    default:
      return {};
  }
}

/** The real reply with the `Content-Type` a `wrong-content-type` fault asks for. */
export function withContentType(reply: Reply, contentType: string): Reply {
  return { ...reply, headers: { ...reply.headers, 'content-type': contentType } };
}
