/**
 * The one thing pagination needs from the HTTP layer: send a request, get the status, headers and a streamed body.
 * The real client (undici, auth, retries, redirects) implements it elsewhere; tests implement it in a few lines.
 */
import type { ResponseBody } from '../extract/index.ts';
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
}

/**
 * Sends one page request. The implementation adds credentials (auth), may retry transient failures and follow
 * redirects, and must honour `signal`. It returns every status it ends with: pagination turns a non-2xx status into
 * an `IngestError` (after closing the body).
 */
export type SendPage = (request: PageRequest, signal: AbortSignal) => Promise<PageResponse>;
