/**
 * The one thing pagination needs from the HTTP layer: send a request, get the status, headers and a streamed body.
 * The real client (undici, auth, retries, redirects) implements it elsewhere; tests implement it in a few lines.
 */
import type { ResponseBody } from '../extract/byte-reader.ts';
import type { RequestContext } from '../http-errors.ts';
import type { ResponseHeaders } from './types.ts';

/** A request as pagination builds it: no credential in it — `SendPage` adds the source's auth. */
export interface PageRequest {
  readonly method: 'GET' | 'POST';
  /** Absolute URL, query encoded. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body as text (with `content-type: application/json` in `headers`), for a POST. */
  readonly body?: string | undefined;
}

/** A response whose body has not been read yet: pagination streams it through the extractor. */
export interface PageResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: ResponseBody;
  /** The URL the response finally came from, when the sender followed redirects (default: the request's URL). */
  readonly url?: string | undefined;
  /**
   * The request as the HTTP layer names it in errors, its redactor knowing the credentials in play. Without it, a
   * status error names the resource and the URL without its credential parameters, and quotes no body.
   */
  readonly context?: RequestContext | undefined;
}

/**
 * Sends one page request. The implementation adds credentials (auth), may retry transient failures and follow
 * redirects, and must honour `signal`. It may return any status: pagination settles a non-2xx one as the HTTP layer
 * does (`response-status.ts`): ignored by a response action, or a classified `IngestError`.
 */
export type SendPage = (request: PageRequest, signal: AbortSignal) => Promise<PageResponse>;
