/**
 * The pagination driver: requests page after page through an injected `SendPage`, streams each body through the
 * record extractor (capturing the values the paginator needs in the same pass), and yields the records batch by
 * batch while the body arrives, then one `page` event with the state after that page — the state to heartbeat or
 * checkpoint. Given that state back as `resume`, it continues with the next page and fetches none of the earlier
 * ones (issue #10's crash-resume).
 */
import type { ResolvedEndpoint } from '../../config/plan.ts';
import type { RenderedRequest } from '../../config/render.ts';
import { IngestError } from '../../errors.ts';
import type { ErrorCategory } from '../../errors.ts';
import { extractRecords } from '../extract/index.ts';
import type { ExtractOptions, ResponseBody } from '../extract/index.ts';
import type { RecordBatch } from '../../shared/records.ts';
import { pageRequest } from './page-request.ts';
import type { FirstPageRequest } from './page-request.ts';
import { paginationError } from './pagination-errors.ts';
import { advancePagination, pageCapture, startPagination } from './paginator.ts';
import { credentialParamsOf, stripCredentials } from './redact-url.ts';
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
}

export interface PaginateOptions {
  /** The state after the last completed page: continue with the next one. */
  readonly resume?: PaginationState | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Extraction limits and batch sizes (the selector and captures come from the pagination). */
  readonly extract?: Omit<ExtractOptions, 'selector' | 'capture'> | undefined;
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
  };
}

/**
 * Paginates a resource: an async iterable of {@link PaginationEvent}s (iterate once). Ends after the page whose
 * event has `done` set; throws an `IngestError` when a guard fires, a status is not 2xx, or a body is broken — the
 * records of the page being read when it throws must not be committed (see docs/extraction.md).
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
    if (response.status < 200 || response.status > 299) {
      await closeBody(response.body);
      throw statusError(response.status, request, shownUrl, input.resource, page);
    }
    const extraction = extractRecords(response.body, {
      ...options.extract,
      selector: state.dataSelector ?? undefined,
      capture: pageCapture(state),
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

async function closeBody(body: ResponseBody): Promise<void> {
  const iterator = Symbol.asyncIterator in body ? body[Symbol.asyncIterator]() : body[Symbol.iterator]();
  try {
    await iterator.return?.();
  } catch {
    // Abandoning the body; its failure to close changes nothing.
  }
}

function statusCategory(status: number): ErrorCategory {
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status === 429 || status >= 500) return 'http-transient';
  return 'http-permanent';
}

function statusError(
  status: number,
  request: PageRequest,
  shownUrl: string,
  resource: string,
  page: number,
): IngestError {
  return new IngestError(
    statusCategory(status),
    'PAGE_HTTP_STATUS',
    `"${resource}" page ${page}: ${request.method} ${shownUrl} answered ${status}`,
    { details: { resource, page, status, method: request.method, url: shownUrl } },
  );
}
