/**
 * Requests of one planned resource: what an activity (and the paginator) calls. `openResource` resolves the
 * resource's credentials from the environment (here, at run time, never in the plan) or reports that the resource is
 * skipped; the returned requester renders a request for a parent record, sends it with auth, and hands back either
 * the raw response (`send`) or its records as batches (`fetchRecords`), every failure classified and naming the
 * source, the resource and the redacted URL — the failure of a record that is not JSON too, which is thrown when its
 * `value` is read, not by the iteration (docs/extraction.md).
 *
 * A resource whose request is not repeatable (e.g. `sms`, which sends a message) is sent with redirects refused and
 * on a fresh connection by default, so that a failure in the connect phase proves nothing was sent.
 */
import { IngestError } from '../errors.ts';
import type {
  CursorValue,
  ResolvedEndpoint,
  ResolvedResource,
  ResolvedSource,
  ResourceSkip,
} from '../shared/plan.ts';
import { appendQuery, renderRequest, type RenderedRequest } from '../config/render.ts';
import { isSecretRef, resolveHeaderSecrets, resolveSecrets, type SecretSources } from '../config/secrets.ts';
import type { Authenticator } from './auth.ts';
import { createAuthenticator } from './authenticator.ts';
import type { HttpClient } from './client.ts';
import { extractRecords } from './extract/extract-records.ts';
import type { ExtractOptions, ExtractionOutcome } from './extract/types.ts';
import type { RecordBatch } from '../shared/records.ts';
import type { SendPage } from './paginate/send-page.ts';
import { withRequestContext } from './http-errors.ts';
import { actionNamesStatus, settleStatus } from './response-status.ts';
import { sendRequest, type HttpHeaders, type HttpResponse, type SendOptions } from './send-request.ts';

/** The window of an incremental run, as the request carries it. */
export interface IncrementalValues {
  readonly start: CursorValue | null;
  readonly end: CursorValue | null;
}

/** What `openResource` needs besides the plan. */
export interface ResourceDeps {
  readonly client: HttpClient;
  /** Where credentials come from: usually `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Inline credentials of the source file (`collectInlineSecrets`), when it has any. */
  readonly inline?: Readonly<Record<string, string>>;
  /** An authenticator to share (e.g. one OAuth2 token cache for all resources of a run); default: one per resource. */
  readonly authenticator?: Authenticator;
}

/** Per-request choices; the paginator adds its parameters or replaces the URL. */
export interface ResourceSendOptions {
  readonly signal?: AbortSignal | undefined;
  /** Extra query parameters (raw values; encoded here), e.g. `[['page', '2']]`. */
  readonly query?: readonly (readonly [string, string])[] | undefined;
  /** An absolute URL to request instead of the rendered one (a next link); the method, headers and body stay. */
  readonly url?: string | undefined;
  /** A JSON body instead of the rendered one (a cursor in the body). */
  readonly json?: unknown;
  readonly redirects?: SendOptions['redirects'];
  readonly freshConnection?: boolean | undefined;
  readonly headersTimeoutMs?: number | undefined;
  readonly bodyTimeoutMs?: number | undefined;
}

/** One response's records. `ignored` is true when a response action matched (zero records, no error). */
export interface FetchedRecords {
  readonly status: number;
  readonly headers: HttpHeaders;
  readonly url: string;
  readonly ignored: boolean;
  /**
   * Record batches as the body streams (iterate once). A broken body fails the iteration; a record that is not JSON
   * fails when its `value` is read, perhaps after the iteration ended (docs/extraction.md). Either failure is an
   * `IngestError` naming the request, its body excerpt redacted.
   */
  readonly batches: AsyncIterable<RecordBatch>;
  /** Totals once `batches` has been read to its end; undefined before (and when ignored). */
  readonly outcome: () => ExtractionOutcome | undefined;
}

/** Sends the requests of one resource. */
export interface ResourceRequester {
  readonly source: string;
  readonly resource: ResolvedResource & { readonly skip: null };
  readonly endpoint: ResolvedEndpoint;
  /**
   * Renders the endpoint for a parent record (required for a child resource) and, for an incremental resource, the
   * run's window (its start and end parameters and `{incremental.…}` placeholders).
   */
  render(parent?: unknown, incremental?: IncrementalValues): RenderedRequest;
  /** Sends a rendered request; the response body is the caller's to read or discard. */
  send(request: RenderedRequest, options?: ResourceSendOptions): Promise<HttpResponse>;
  /** Sends a rendered request and extracts its records with the endpoint's `data_selector`. */
  fetchRecords(
    request: RenderedRequest,
    options?: ResourceSendOptions & {
      readonly extract?: Omit<ExtractOptions, 'selector' | 'decorateFailure'>;
    },
  ): Promise<FetchedRecords>;
}

/** The result of `openResource`: a requester, or the skip (an expected outcome, nothing is requested). */
export type OpenedResource =
  | { readonly kind: 'ready'; readonly requester: ResourceRequester }
  | { readonly kind: 'skipped'; readonly resource: string; readonly skip: ResourceSkip };

/**
 * Opens a resource of a plan for requests. A skipped resource (missing config values) gives `{kind: 'skipped'}`;
 * a resource not in the plan is a `config` error; a credential that is not set is an `auth` error
 * (`SECRET_NOT_SET`) naming the variable.
 */
export function openResource(plan: ResolvedSource, name: string, deps: ResourceDeps): OpenedResource {
  const resource = plan.resources.find((candidate) => candidate.name === name);
  if (resource === undefined) {
    throw new IngestError(
      'config',
      'UNKNOWN_RESOURCE',
      `source "${plan.source}" has no resource "${name}" in this plan; it has: ${plan.resources.map((item) => item.name).join(', ')}`,
      { details: { source: plan.source, resource: name } },
    );
  }
  if (resource.skip !== null) return { kind: 'skipped', resource: name, skip: resource.skip };
  const endpoint = resource.endpoint;
  const sources: SecretSources = {
    env: deps.env,
    ...(deps.inline === undefined ? {} : { inline: deps.inline }),
  };
  const context = `source ${plan.source}, resource ${name}`;
  const authenticator =
    deps.authenticator ??
    (endpoint.auth === null
      ? null
      : createAuthenticator(
          resolveSecrets(endpoint.auth, deps.env, {
            ...(deps.inline === undefined ? {} : { inline: deps.inline }),
            context,
          }),
          { client: deps.client, source: plan.source, resource: name },
        ));
  const nonIdempotent = !resource.repeatable;
  const readyResource = resource;

  const send = async (request: RenderedRequest, options: ResourceSendOptions = {}): Promise<HttpResponse> => {
    const headerSecrets: string[] = [];
    for (const [headerName, value] of Object.entries(request.headers)) {
      if (isSecretRef(value))
        headerSecrets.push(resolveHeaderSecrets({ [headerName]: value }, sources, context)[headerName] ?? '');
    }
    const headers = resolveHeaderSecrets(request.headers, sources, context);
    const credentialOrigin = originOfBase(plan.baseUrl);
    const json = options.json !== undefined ? options.json : request.json;
    if (json !== undefined) headers['content-type'] ??= 'application/json';
    const base = options.url ?? request.url;
    return sendRequest(
      {
        method: request.method,
        url: options.query === undefined ? base : appendQuery(base, options.query),
        headers,
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        source: plan.source,
        resource: name,
      },
      {
        client: deps.client,
        signal: options.signal,
        auth: authenticator,
        // Credentials go to the base URL's origin only, whatever URL a path or a link names.
        credentialOrigin,
        secrets: headerSecrets,
        redirects: options.redirects ?? (nonIdempotent ? 'error' : 'follow'),
        freshConnection: options.freshConnection ?? nonIdempotent,
        headersTimeoutMs: options.headersTimeoutMs,
        bodyTimeoutMs: options.bodyTimeoutMs,
        acceptStatus: (status) => actionNamesStatus(endpoint.responseActions, status),
      },
    );
  };

  return {
    kind: 'ready',
    requester: {
      source: plan.source,
      resource: readyResource,
      endpoint,
      render: (parent?: unknown, incremental?: IncrementalValues) =>
        renderRequest(plan.baseUrl, endpoint, {
          ...(parent === undefined ? {} : { parent }),
          ...(incremental === undefined ? {} : { incremental }),
          resource: name,
        }),
      send,
      async fetchRecords(request, options = {}) {
        const response = await send(request, options);
        if ((await settleStatus(response, endpoint.responseActions)) === 'ignored') {
          return {
            status: response.status,
            headers: response.headers,
            url: response.url,
            ignored: true,
            batches: (async function* empty(): AsyncGenerator<RecordBatch> {})(),
            outcome: () => undefined,
          };
        }
        const extraction = extractRecords(response.body, {
          ...options.extract,
          ...(endpoint.dataSelector === null ? {} : { selector: endpoint.dataSelector }),
          // An IngestError given to withRequestContext stays one.
          decorateFailure: (error) => withRequestContext(response.context, error) as IngestError,
        });
        return {
          status: response.status,
          headers: response.headers,
          url: response.url,
          ignored: false,
          batches: extraction,
          outcome: () => extraction.outcome,
        };
      },
    },
  };
}

/**
 * The `SendPage` of a resource's pagination: each page is `rendered` sent to the page's URL (with the page's JSON
 * body, for a cursor in the body), with the resource's auth. The response carries its request context, so a status
 * error of a page is reported like any other request's: its body excerpt redacted with the credentials in play.
 */
export function pageSender(requester: ResourceRequester, rendered: RenderedRequest): SendPage {
  return async (page, signal) => {
    const response = await requester.send(rendered, {
      url: page.url,
      signal,
      ...(page.body === undefined ? {} : { json: JSON.parse(page.body) as unknown }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: response.body,
      url: response.url,
      context: response.context,
    };
  };
}

/** The origin of the source's base URL (undefined when it is not a URL: the request then fails as invalid). */
function originOfBase(baseUrl: string): string | undefined {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return undefined;
  }
}
