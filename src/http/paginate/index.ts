/**
 * Pagination: every dlt paginator as a pure state machine over plain-JSON, secret-free state, and a driver that
 * streams the pages of a resource through an injected `SendPage`. See docs/pagination.md.
 */
export { paginate, paginationInput } from './paginate.ts';
export type { PaginateInput, PaginateOptions, PaginationEvent } from './paginate.ts';
export type { PageRequest, PageResponse, SendPage } from './send-page.ts';
export { advancePagination, pageCapture, startPagination } from './paginator.ts';
export { detectPaginator, autoCapture } from './auto-detect.ts';
export type { Detection } from './auto-detect.ts';
export { pageRequest, withQueryParams } from './page-request.ts';
export type { FirstPageRequest } from './page-request.ts';
export { credentialParamsOf, defaultCredentialParams, stripCredentials } from './redact-url.ts';
export { findLink, parseLinkHeader } from './link-header.ts';
export type { HeaderLink } from './link-header.ts';
export { paginationErrorCodes } from './pagination-errors.ts';
export type { PaginationErrorCode } from './pagination-errors.ts';
export { doneReasons } from './types.ts';
export type {
  ConcretePaginator,
  DoneReason,
  LoopGuardState,
  NextRequest,
  PageFacts,
  PageStep,
  PaginationPolicy,
  PaginationState,
  ResponseHeaders,
} from './types.ts';
