/**
 * The authenticator for any resolved credentials: static kinds (`auth.ts`) or OAuth2 client credentials
 * (`auth-oauth2.ts`, which needs the HTTP client for its token requests).
 */
import type { AuthCredentials } from '../config/secrets.ts';
import { createStaticAuthenticator, type Authenticator } from './auth.ts';
import { createOAuth2Authenticator } from './auth-oauth2.ts';
import type { HttpClient } from './client.ts';

/**
 * An authenticator for `credentials` (from `resolveSecrets`, called inside the activity). Keep one per source and
 * run to share an OAuth2 token between requests; never log it.
 */
export function createAuthenticator(
  credentials: AuthCredentials,
  options: {
    readonly client: HttpClient;
    readonly source: string;
    readonly resource: string;
    readonly now?: () => number;
  },
): Authenticator {
  return credentials.type === 'oauth2_client_credentials'
    ? createOAuth2Authenticator(credentials, options)
    : createStaticAuthenticator(credentials);
}
