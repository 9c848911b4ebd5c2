/**
 * Keeping credentials out of pagination state. An API may echo the credentials of a request into the next links
 * it returns (`…?page=2&api_key=…`); such a link must not reach a heartbeat, a checkpoint or a log. So before a
 * next link enters the state, its user info and fragment are dropped and every query parameter named like a
 * credential is removed (not masked: the HTTP layer adds the current credential to each request it sends, so the
 * request still authenticates, also after a key rotation). The other parameters keep their exact encoding.
 */
import type { ResolvedAuth } from '../../shared/plan.ts';

/** Query parameters always treated as credentials (compared case-insensitively). */
export const defaultCredentialParams = [
  'api_key',
  'apikey',
  'api-key',
  'x-api-key',
  'access_token',
  'auth_token',
  'client_secret',
  'password',
] as const;

/** The query parameter an `api_key` auth puts its key in (none for other auths, which use headers). */
export function credentialParamsOf(auth: ResolvedAuth | null): readonly string[] {
  return auth?.type === 'api_key' && auth.location === 'query' ? [auth.name] : [];
}

function decodedName(pair: string): string {
  const name = pair.split('=', 1)[0] ?? '';
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * `url` without user info, fragment and credential query parameters (`names` plus the defaults). Throws a
 * TypeError when `url` is not an absolute URL.
 */
export function stripCredentials(url: string, names: readonly string[] = []): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  const secret = new Set([...defaultCredentialParams, ...names.map((name) => name.toLowerCase())]);
  const query = parsed.search.startsWith('?') ? parsed.search.slice(1) : parsed.search;
  if (query !== '') {
    const kept = query.split('&').filter((pair) => pair !== '' && !secret.has(decodedName(pair)));
    parsed.search = kept.length === 0 ? '' : `?${kept.join('&')}`;
  }
  return parsed.href;
}
