/**
 * What the status of a resource's response means: a success, a response the endpoint's `response_actions` ignore
 * (dlt's `action: ignore`), or a failure, classified by `statusError` (`http-errors.ts`). The one place this is
 * decided, for a single request (`fetchRecords`) and for every page of a pagination alike.
 *
 * An action applies to a non-2xx status it names (`status_code`), and only when the body contains its `content`
 * (if it has one). Actions without `status_code` are not applied: a 2xx body would have to be buffered to match them.
 */
import type { ResolvedResponseAction } from '../shared/plan.ts';
import { bodyExcerpt, statusError, type RequestContext } from './http-errors.ts';

/** How much of a non-2xx body is read to match an action's `content` (and to quote in the error). */
export const actionBodyBytes = 64 * 1024;

/** True when an action names this status: the request is returned with it instead of failing (`acceptStatus`). */
export function actionNamesStatus(actions: readonly ResolvedResponseAction[], status: number): boolean {
  return actions.some((action) => action.statusCode === status);
}

/** A response whose status is to be settled; its body is read only when the status is not 2xx. */
export interface StatusResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The request as errors name it. */
  readonly context: RequestContext;
  /** Reads at most `maxBytes` of the body as text and discards the rest. */
  text(maxBytes: number): Promise<string>;
}

/**
 * `success` for a 2xx status; `ignored` when a response action matches (the body has then been read); otherwise
 * throws the classified status error (`HTTP_RATE_LIMITED`, `HTTP_SERVER_ERROR`, `HTTP_CLIENT_ERROR`, …) with a
 * redacted excerpt of the body, unless `excerpt` is false (when the redactor does not know the credentials).
 */
export async function settleStatus(
  response: StatusResponse,
  actions: readonly ResolvedResponseAction[],
  options: { readonly excerpt?: boolean } = {},
): Promise<'success' | 'ignored'> {
  const { status } = response;
  if (status >= 200 && status <= 299) return 'success';
  const text = await response.text(actionBodyBytes);
  const matched = actions.some(
    (action) => action.statusCode === status && (action.content === null || text.includes(action.content)),
  );
  if (matched) return 'ignored';
  const excerpt = options.excerpt === false ? undefined : bodyExcerpt(text, response.context.redactor);
  throw statusError(response.context, status, response.headers, excerpt);
}
