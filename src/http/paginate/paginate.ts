/**
 * The pagination driver: requests page after page through an injected `SendPage`, streams each body through the
 * record extractor (capturing the values the paginator needs in the same pass), and yields the records batch by
 * batch while the body arrives, then one `page` event with the state after that page — the state to heartbeat or
 * checkpoint. Given that state back as `resume`, it continues with the next page and fetches none of the earlier
 * ones: a worker that crashed resumes after its last checkpointed page.
 */
import type { ResolvedEndpoint, ResolvedResponseAction } from '../../shared/plan.ts';
import type { RenderedRequest } from '../../config/render.ts';
import { extractRecords } from '../extract/extract-records.ts';
import type { ExtractOptions } from '../extract/types.ts';
import { IngestError, isIngestError } from '../../errors.ts';
import type { RecordBatch } from '../../shared/records.ts';
import { pageRequest } from './page-request.ts';
import type { FirstPageRequest } from './page-request.ts';
import { paginationError } from './pagination-errors.ts';
import { advancePagination, pageCapture, startPagination } from './paginator.ts';
import { credentialParamsOf, stripCredentials } from './redact-url.ts';
import { withRequestContext, type RequestContext } from '../http-errors.ts';
import { nameOnlyRedactor } from '../redact.ts';
import { readBodyText } from '../body-text.ts';
import { settleStatus } from '../response-status.ts';
import type { PageRequest, SendPage } from './send-page.ts';
import type { DoneReason, PaginationPolicy, PaginationState } from './types.ts';

/** What to paginate: a resource's first request, its paginator and data selector. */
export interface PaginateInput {
  /** The resource's name, for messages. */
  readonly resource: string;
  readonly request: FirstPageRequest;
  readonly paginator: ResolvedEndpoint['paginator'];
  /** `data_selector`, or null for dlt's auto-detection (pinned after the first page with records). */
  readonly dataSelector: string | null;
  /** Query parameters that hold credentials (e.g. an `api_key` auth's name), removed from next links. */
  readonly credentialParams?: readonly string[] | undefined;
  /** The endpoint's `response_actions`: a page they ignore ends the pagination (as dlt does). */
  readonly responseActions?: readonly ResolvedResponseAction[] | undefined;
  /** The source's name, for messages when the sender gives no request context. */
  readonly source?: string | undefined;
}

export interface PaginateOptions {
  /** The state after the last completed page: continue with the next one. */
  readonly resume?: PaginationState | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Extraction limits and batch sizes (the selector and captures come from the pagination, and its errors are named
   * after the page).
   */
  readonly extract?: Omit<ExtractOptions, 'selector' | 'capture' | 'decorateFailure'> | undefined;
  /** Origins next links may point to; default: the first request's origin only. */
  readonly allowedOrigins?: readonly string[] | undefined;
}

/** What the driver yields: records as they stream, then the end of their page with the state after it. */
export type PaginationEvent =
  | { readonly type: 'records'; readonly page: number; readonly batch: RecordBatch }
  | {
      readonly type: 'page';
      /** 1-based, counted over the whole pagination (a resumed one goes on counting). */
      readonly page: number;
      readonly records: number;
      /** The page's URL, credentials removed. */
      readonly url: string;
      /** Save this to resume after this page. */
      readonly state: PaginationState;
      /** Why this was the last page; null when another follows. */
      readonly done: DoneReason | null;
    };

/** The input for a planned endpoint, from its rendered request and headers with their secrets resolved. */
export function paginationInput(
  resource: string,
  endpoint: ResolvedEndpoint,
  rendered: RenderedRequest,
  headers: Readonly<Record<string, string>>,
): PaginateInput {
  return {
    resource,
    request: { method: rendered.method, url: rendered.url, headers, json: rendered.json },
    paginator: endpoint.paginator,
    dataSelector: endpoint.dataSelector,
    credentialParams: credentialParamsOf(endpoint.auth),
    responseActions: endpoint.responseActions,
  };
}

/**
 * Paginates a resource: an async iterable of {@link PaginationEvent}s (iterate once). Ends after the page whose
 * event has `done` set (`response-ignored` when a response action ignored the page); throws an `IngestError` when
 * a guard fires, a status is neither 2xx nor ignored (`statusError`'s codes), or a body is broken — the records of
 * the page being read when it throws must not be committed (see docs/extraction.md). A record that is not JSON
 * throws the same error, naming its page, when its `value` is read: perhaps after the iteration moved on.
 */
export async function* paginate(
  input: PaginateInput,
  send: SendPage,
  options: PaginateOptions = {},
): AsyncGenerator<PaginationEvent> {
  const credentialParams = input.credentialParams ?? [];
  const policy: PaginationPolicy = {
    allowedOrigins: options.allowedOrigins ?? [new URL(input.request.url).origin],
    credentialParams,
  };
  let state =
    options.resume === undefined
      ? startPagination(input.paginator, {
          firstUrl: input.request.url,
          dataSelector: input.dataSelector,
          credentialParams,
        })
      : checkedResume(options.resume, input);
  const signal = options.signal ?? new AbortController().signal;
  while (state.next !== null && state.done === null) {
    signal.throwIfAborted();
    const page = state.pages + 1;
    const request = pageRequest(input.request, state.next);
    const shownUrl = stripCredentials(request.url, credentialParams);
    const response = await send(request, signal);
    const settled = await settleStatus(
      {
        status: response.status,
        headers: response.headers,
        context: response.context ?? contextOf(input, request, shownUrl),
        // A body that fails while being read gives what arrived before: the status is what is reported.
        text: (maxBytes) => readBodyText(response.body, maxBytes, { keepPartial: true }),
      },
      input.responseActions ?? [],
      // Without the sender's context no redactor knows the credentials: the body is not quoted.
      { excerpt: response.context !== undefined },
    ).catch((error: unknown) => {
      throw isIngestError(error) ? onPage(error, page) : error;
    });
    if (settled === 'ignored') {
      // dlt ends a pagination at a response an action ignores: it has no records and no page follows.
      state = { ...state, pages: page, next: null, done: 'response-ignored' };
      yield { type: 'page', page, records: 0, url: shownUrl, state, done: 'response-ignored' };
      return;
    }
    const { context } = response;
    const extraction = extractRecords(response.body, {
      ...options.extract,
      selector: state.dataSelector ?? undefined,
      capture: pageCapture(state),
      // An extraction error quotes the body: redacted with the credentials in play, like a status error's excerpt —
      // whether the iteration below throws it or a record's `value`, read later by whoever consumes the records. (An
      // IngestError given to withRequestContext stays one.)
      decorateFailure: (error) =>
        onPage(context === undefined ? error : (withRequestContext(context, error) as IngestError), page),
    });
    for await (const batch of extraction) yield { type: 'records', page, batch };
    const outcome = extraction.outcome!;
    const step = advancePagination(
      state,
      {
        status: response.status,
        headers: response.headers,
        records: outcome.records,
        captured: outcome.captured ?? [],
        url: response.url ?? request.url,
        detectedSelector: outcome.autoDetected && outcome.records > 0 ? outcome.selector : undefined,
      },
      policy,
    );
    state = step.state;
    yield {
      type: 'page',
      page,
      records: outcome.records,
      url: shownUrl,
      state,
      done: step.type === 'done' ? step.reason : null,
    };
  }
}

/** A resume state must be one of ours and fit the resource's paginator. */
function checkedResume(state: PaginationState, input: PaginateInput): PaginationState {
  const configured = input.paginator.type;
  const fits =
    state.version === 1 &&
    typeof state.pages === 'number' &&
    (configured === state.paginator.type || configured === 'auto');
  if (!fits) {
    throw paginationError(
      'config',
      'PAGINATION_STATE_INVALID',
      `the saved pagination state of "${input.resource}" (${String(state.paginator?.type)}) does not fit its paginator (${configured})`,
      { resource: input.resource },
    );
  }
  return state;
}

/** The request as errors name it, for a sender that gives no context: no secret is known to its redactor. */
function contextOf(input: PaginateInput, request: PageRequest, shownUrl: string): RequestContext {
  return {
    source: input.source ?? '',
    resource: input.resource,
    method: request.method,
    url: shownUrl,
    redactor: nameOnlyRedactor,
  };
}

/** The same error, saying which page failed (in its message and as `details.page`). */
function onPage(error: IngestError, page: number): IngestError {
  return new IngestError(error.category, error.code, `page ${page}: ${error.message}`, {
    retryable: error.retryable,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(error.cause === undefined ? {} : { cause: error.cause }),
    details: { ...error.details, page },
  });
}
