/**
 * A next link as a paginator follows it: resolved against the URL of the response it came from (dlt's `urljoin`),
 * refused when it points to another origin (the HTTP layer would send the source's credentials there) or is not
 * http(s), then stripped of credentials (`redact-url.ts`) before it enters the state.
 */
import { paginationError, excerpt } from './pagination-errors.ts';
import { stripCredentials } from './redact-url.ts';
import type { PaginationPolicy } from './types.ts';

/** The absolute, credential-free next URL; throws `PAGINATION_NEXT_URL_INVALID` / `PAGINATION_FOREIGN_LINK`. */
export function resolveNextUrl(
  link: string,
  responseUrl: string,
  policy: PaginationPolicy,
  page: number,
): string {
  let url: URL;
  try {
    url = new URL(link, responseUrl);
  } catch {
    throw paginationError(
      'response-shape',
      'PAGINATION_NEXT_URL_INVALID',
      `page ${page} has a next link that is not a URL: ${excerpt(stripQuery(link))}`,
      { page },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw paginationError(
      'response-shape',
      'PAGINATION_NEXT_URL_INVALID',
      `page ${page} has a next link with scheme ${url.protocol} (only http and https are followed)`,
      { page },
    );
  }
  if (!policy.allowedOrigins.includes(url.origin)) {
    throw paginationError(
      'response-shape',
      'PAGINATION_FOREIGN_LINK',
      `page ${page} links to another origin (${url.origin}; allowed: ${policy.allowedOrigins.join(', ')}): not followed, the source's credentials would go there`,
      { page, origin: url.origin },
    );
  }
  return stripCredentials(url.href, policy.credentialParams);
}

/** A link for a message: without its query, which may hold a credential. */
function stripQuery(link: string): string {
  return link.replace(/[?#].*$/s, '');
}
