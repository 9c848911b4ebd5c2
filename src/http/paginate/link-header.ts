/**
 * The `Link` response header (RFC 8288), read the way `requests`' `response.links` serves dlt's
 * `HeaderLinkPaginator`: `<url>; rel="next", <url>; rel="prev"`. A `rel` may list several relation types
 * separated by spaces; they compare case-insensitively. Commas inside `<…>` do not split links.
 */
import type { ResponseHeaders } from './types.ts';

/** One link of a `Link` header. */
export interface HeaderLink {
  readonly url: string;
  readonly rels: readonly string[];
}

/** The value of a header (the first one of a repeated header is not enough for `Link`: they are joined). */
export function headerValues(headers: ResponseHeaders, name: string): readonly string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    if (typeof value === 'string') values.push(value);
    else values.push(...value);
  }
  return values;
}

/** Every link of the response's `Link` headers, in order. */
export function parseLinkHeader(headers: ResponseHeaders): readonly HeaderLink[] {
  const links: HeaderLink[] = [];
  const pattern = /<([^>]*)>((?:\s*;\s*[^;,]*)*)/g;
  for (const value of headerValues(headers, 'link')) {
    for (const match of value.matchAll(pattern)) {
      const rels: string[] = [];
      for (const param of (match[2] ?? '').split(';')) {
        const [rawName, ...rest] = param.split('=');
        if (rawName?.trim().toLowerCase() !== 'rel') continue;
        const raw = rest.join('=').trim();
        const unquoted = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
        rels.push(...unquoted.toLowerCase().split(/\s+/).filter(Boolean));
      }
      links.push({ url: (match[1] ?? '').trim(), rels });
    }
  }
  return links;
}

/** The URL of the first link with this relation type (`next`), or undefined. */
export function findLink(headers: ResponseHeaders, rel: string): string | undefined {
  const wanted = rel.toLowerCase();
  return parseLinkHeader(headers).find((link) => link.rels.includes(wanted))?.url;
}
