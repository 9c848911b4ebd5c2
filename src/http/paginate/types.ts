/**
 * The data of pagination: the state a paginator carries from one page to the next (plain JSON, secret-free, so it
 * can be heartbeated and checkpointed), the request changes it asks for, the facts of a response it reads, and
 * why it stops. Everything here is a value; the state machines live in one file per paginator.
 */
import type { ResolvedPaginator } from '../../shared/plan.ts';
import type { CapturedValue } from '../extract/capture.ts';

/** A paginator that knows its style (`auto` becomes one of these after the first response). */
export type ConcretePaginator = Exclude<ResolvedPaginator, { readonly type: 'auto' }>;

/**
 * How the next request differs from the first one of the resource (the rendered endpoint request):
 * - `params`: set these query parameters (replacing ones of the same name, keeping the others), dlt's
 *   `request.params[...] = …` — offset/limit, page, cursors; `{}` is the first request unchanged;
 * - `url`: request this URL instead (the endpoint's own query parameters are dropped, as dlt does for next links);
 * - `body`: set this value at a dotted path of the JSON body (`cursor_body_path`);
 * - `fields`: set these query parameters and these values at dotted paths of the JSON body — `offset` /
 *   `page_number` when some of their values go in the body (`offset_body_path`, `limit_body_path`,
 *   `page_body_path`); with none in the body they ask with `params`, as they always did.
 */
export type NextRequest =
  | { readonly type: 'params'; readonly params: Readonly<Record<string, string>> }
  | { readonly type: 'url'; readonly url: string }
  | { readonly type: 'body'; readonly path: string; readonly value: string | number }
  | {
      readonly type: 'fields';
      readonly params: Readonly<Record<string, string>>;
      readonly body: readonly BodyValue[];
    };

/** A value put at a dotted path of the JSON body (JSON numbers stay numbers, as dlt sends them). */
export interface BodyValue {
  readonly path: string;
  readonly value: string | number;
}

/** Why a pagination ended (expected outcomes, not errors). */
export const doneReasons = [
  /** `single_page`, or `auto` found no pagination in the first response. */
  'single-page',
  /** `json_link` / `header_link`: the response has no next link. */
  'no-next-url',
  /** `cursor` / `header_cursor`: the response has no (or an empty) cursor. */
  'no-next-cursor',
  /** `offset` / `page_number` with `stop_after_empty_page`: the page had no records. */
  'empty-page',
  /** `offset` / `page_number` with `total_path`: the next offset or page is past the total. */
  'total-reached',
  /** `maximum_offset` / `maximum_page` reached. */
  'maximum-reached',
  /** `offset` / `page_number` with `has_more_path`: the response says no page follows (`false` there). */
  'has-more-false',
  /** A `response_actions` item ignored the response (dlt stops there too); the page has no records. */
  'response-ignored',
] as const;
export type DoneReason = (typeof doneReasons)[number];

/**
 * The repeated-reference guard, in constant space: fingerprints (64-bit hashes) of the last few next links or
 * cursors, plus Brent's cycle detection over all of them (a saved fingerprint every new one is compared with;
 * it moves at powers of two), which catches a cycle of any length within about twice its length.
 */
export interface LoopGuardState {
  readonly recent: readonly string[];
  readonly saved: string | null;
  readonly power: number;
  readonly steps: number;
}

/** Everything a pagination needs to go on, after some pages (or none). Plain JSON, no credential. */
export interface PaginationState {
  readonly version: 1;
  /** The paginator in effect: the configured one; `auto` until the first response, then the detected one. */
  readonly paginator: ResolvedPaginator;
  /** The records' JSONPath: configured, or detected on the first page with records and pinned (dlt does so). */
  readonly dataSelector: string | null;
  /** Pages completed (responses read to their end). */
  readonly pages: number;
  /** The next request; null once done. */
  readonly next: NextRequest | null;
  /** `offset` / `page_number`: the offset or page of the next request; otherwise null. */
  readonly position: number | null;
  /** Set when the pagination is over. */
  readonly done: DoneReason | null;
  readonly loop: LoopGuardState;
}

/** Headers as undici and Node give them (lowercase names). */
export type ResponseHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What a paginator reads of one response, once its body has ended. */
export interface PageFacts {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** Records on the page. */
  readonly records: number;
  /** The values captured from the body (see `pageCapture`). */
  readonly captured: readonly CapturedValue[];
  /** The URL the response came from: relative next links resolve against it. */
  readonly url: string;
  /** The detected records' JSONPath, when the selector was auto-detected and the page had records. */
  readonly detectedSelector?: string | undefined;
}

/** Where next links may point and which query parameters are credentials (removed before the state). */
export interface PaginationPolicy {
  /** Origins (`https://api.example.com`) next links may point to; others are refused (credentials would follow). */
  readonly allowedOrigins: readonly string[];
  /** Query parameter names (case-insensitive) removed from next links: the API may echo credentials back. */
  readonly credentialParams: readonly string[];
}

/** The answer of a paginator to one response. */
export type PageStep =
  | { readonly type: 'next'; readonly next: NextRequest; readonly state: PaginationState }
  | { readonly type: 'done'; readonly reason: DoneReason; readonly state: PaginationState };
