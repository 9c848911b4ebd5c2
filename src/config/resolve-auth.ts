/**
 * A resource's `auth` as the plan holds it: dlt's shorthands expanded (`bearer` → `<SOURCE>_TOKEN`, …), dlt's
 * defaults filled in, and every credential a reference — `{ $env }`, or `{ $inline: <path> }` for one written in the
 * file — never the value itself.
 */
import { credentialEnvVar } from './env.ts';
import type { ResolvedAuth, SecretOrText, SecretRef } from '../shared/plan.ts';
import { joinPath } from './problems.ts';
import type { AuthConfig, SecretStringConfig } from './schema.ts';
import { isSensitiveName } from './secrets.ts';

function secretOrText(value: SecretStringConfig, location: string, secret: boolean): SecretOrText {
  if (typeof value !== 'string') return { $env: value.$env };
  return secret ? { $inline: location } : value;
}
/** The auth of a resource (`location`: where it is written, for `$inline` references); null without auth. */
export function resolveAuth(
  auth: AuthConfig | undefined,
  location: string,
  source: string,
): ResolvedAuth | null {
  if (auth === undefined) return null;
  if (typeof auth === 'string') {
    switch (auth) {
      case 'bearer':
        return { type: 'bearer', token: { $env: credentialEnvVar(source, 'token') } };
      case 'api_key':
        return {
          type: 'api_key',
          name: 'Authorization',
          location: 'header',
          apiKey: { $env: credentialEnvVar(source, 'api_key') },
        };
      case 'http_basic':
        return {
          type: 'http_basic',
          username: { $env: credentialEnvVar(source, 'username') },
          password: { $env: credentialEnvVar(source, 'password') },
        };
      case 'oauth2_client_credentials':
        return null; // rejected by the schema
    }
  }
  const at = (field: string): string => joinPath(location, field);
  switch (auth.type) {
    case 'api_key':
      return {
        type: 'api_key',
        name: auth.name ?? 'Authorization',
        location: auth.location === 'param' ? 'query' : (auth.location ?? 'header'),
        apiKey: secretOrText(auth.api_key, at('api_key'), true),
      };
    case undefined:
    case 'bearer':
      return { type: 'bearer', token: secretOrText(auth.token, at('token'), true) };
    case 'http_basic':
      return {
        type: 'http_basic',
        username: secretOrText(auth.username, at('username'), false),
        password: secretOrText(auth.password, at('password'), true),
      };
    case 'oauth2_client_credentials': {
      const data: Record<string, string | number | boolean | SecretRef> = {};
      for (const [key, value] of Object.entries(auth.access_token_request_data ?? {})) {
        const where = joinPath(at('access_token_request_data'), key);
        data[key] =
          typeof value === 'object'
            ? { $env: value.$env }
            : typeof value === 'string' && value !== '' && isSensitiveName(key)
              ? { $inline: where }
              : value;
      }
      return {
        type: 'oauth2_client_credentials',
        accessTokenUrl: auth.access_token_url,
        clientId: secretOrText(auth.client_id, at('client_id'), false),
        clientSecret: secretOrText(auth.client_secret, at('client_secret'), true),
        accessTokenRequestData: data,
        defaultTokenExpiration: auth.default_token_expiration ?? 3600,
      };
    }
  }
}
