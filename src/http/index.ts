/**
 * The HTTP layer's public surface: the client (connection reuse, timeouts), auth, the single-request primitive,
 * per-resource requests that yield record batches, and the one classification of failures. See docs/http.md.
 */
export { createHttpClient, defaultTimeouts, defaultMaxBodyBytes } from './client.ts';
export type { HttpClient, HttpClientOptions, HttpTimeouts } from './client.ts';
export { createStaticAuthenticator, setQueryParam } from './auth.ts';
export type { Authenticator, AuthSecrets, AuthTarget } from './auth.ts';
export { createOAuth2Authenticator, renewalMarginMs } from './auth-oauth2.ts';
export type { OAuth2Options } from './auth-oauth2.ts';
export { createAuthenticator } from './authenticator.ts';
export { sendRequest, defaultMaxRedirects } from './send-request.ts';
export type { HttpHeaders, HttpMethod, HttpRequest, HttpResponse, SendOptions } from './send-request.ts';
export { openResource } from './resource-request.ts';
export type {
  FetchedRecords,
  OpenedResource,
  ResourceDeps,
  ResourceRequester,
  ResourceSendOptions,
} from './resource-request.ts';
export {
  httpErrorCodes,
  failedBeforeSending,
  requestPhaseOf,
  describeRequest,
  excerptChars,
  bodyExcerpt,
  httpError,
  statusError,
  withRequestContext,
} from './http-errors.ts';
export type { HttpErrorCode, RequestContext, RequestPhase } from './http-errors.ts';
export { parseRetryAfter, maxRetryAfterMs } from './retry-after.ts';
export { createRedactor, redactedMark } from './redact.ts';
export type { Redactor } from './redact.ts';
export { acceptEncoding } from './decode-body.ts';
