/**
 * Auth: puts resolved credentials (`AuthCredentials`, from `resolveSecrets` inside the activity) on a request —
 * `api_key` in a header, the query string or a cookie under its configured name, `bearer`, `http_basic` — and
 * says which values must be redacted. `oauth2_client_credentials` lives in `auth-oauth2.ts`. The caller applies
 * auth only to requests bound for the origin the credentials were configured for (see `send-request.ts`).
 */
import type { AuthCredentials } from '../config/secrets.ts';
import { encodeQueryValue } from '../config/render.ts';

/** A request about to be sent: URL and headers (names as given; matched case-insensitively). */
export interface AuthTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The values an auth may put on the wire, for redaction. */
export interface AuthSecrets {
  readonly values: readonly string[];
  /** `user:password` pairs sent as HTTP basic (their base64 form is redacted too). */
  readonly basicPairs: readonly string[];
}

/** Applies one kind of auth. Never log it: it holds credentials. */
export interface Authenticator {
  readonly type: AuthCredentials['type'];
  /** The request with credentials added (OAuth2: obtains or refreshes a token first). */
  apply(target: AuthTarget, signal?: AbortSignal): Promise<AuthTarget>;
  /**
   * After a 401 from the credential origin to `refused` (the request as sent): true when sending again may succeed
   * (OAuth2 dropped that token and will fetch a new one); false for static credentials. The caller retries at most
   * once.
   */
  renewAfterUnauthorized(refused: AuthTarget, signal?: AbortSignal): Promise<boolean>;
  /** Everything to redact from messages, including tokens obtained so far. */
  secrets(): AuthSecrets;
}

/** Sets a header, replacing any of the same name in another case. */
export function setHeader(
  headers: Readonly<Record<string, string>>,
  name: string,
  value: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, existing] of Object.entries(headers))
    if (key.toLowerCase() !== name.toLowerCase()) out[key] = existing;
  out[name] = value;
  return out;
}

function headerOf(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers))
    if (key.toLowerCase() === name.toLowerCase()) return value;
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * Sets one query parameter on a URL without re-encoding the rest of it (existing parameters of that name are
 * removed): the query text built by `renderRequest` stays byte for byte as it was.
 */
export function setQueryParam(url: string, name: string, value: string): string {
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  const question = base.indexOf('?');
  const path = question < 0 ? base : base.slice(0, question);
  const kept =
    question < 0
      ? []
      : base
          .slice(question + 1)
          .split('&')
          .filter((pair) => pair !== '' && safeDecode(pair.split('=')[0] ?? '') !== name);
  kept.push(`${encodeQueryValue(name)}=${encodeQueryValue(value)}`);
  return `${path}?${kept.join('&')}`;
}

/** Adds a cookie to the `Cookie` header (keeping the others). */
function addCookie(
  headers: Readonly<Record<string, string>>,
  name: string,
  value: string,
): Record<string, string> {
  const existing = headerOf(headers, 'cookie');
  const cookie = `${name}=${encodeURIComponent(value)}`;
  return setHeader(
    headers,
    'Cookie',
    existing === undefined || existing === '' ? cookie : `${existing}; ${cookie}`,
  );
}

function applyApiKey(
  credentials: Extract<AuthCredentials, { readonly type: 'api_key' }>,
  target: AuthTarget,
): AuthTarget {
  switch (credentials.location) {
    case 'header':
      return { url: target.url, headers: setHeader(target.headers, credentials.name, credentials.apiKey) };
    case 'query':
      return {
        url: setQueryParam(target.url, credentials.name, credentials.apiKey),
        headers: target.headers,
      };
    case 'cookie':
      return { url: target.url, headers: addCookie(target.headers, credentials.name, credentials.apiKey) };
  }
}

/** An authenticator for `api_key`, `bearer` or `http_basic` credentials. */
export function createStaticAuthenticator(
  credentials: Exclude<AuthCredentials, { readonly type: 'oauth2_client_credentials' }>,
): Authenticator {
  const apply = (target: AuthTarget): AuthTarget => {
    switch (credentials.type) {
      case 'api_key':
        return applyApiKey(credentials, target);
      case 'bearer':
        return {
          url: target.url,
          headers: setHeader(target.headers, 'Authorization', `Bearer ${credentials.token}`),
        };
      case 'http_basic': {
        const encoded = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString(
          'base64',
        );
        return { url: target.url, headers: setHeader(target.headers, 'Authorization', `Basic ${encoded}`) };
      }
    }
  };
  const secrets: AuthSecrets =
    credentials.type === 'api_key'
      ? { values: [credentials.apiKey], basicPairs: [] }
      : credentials.type === 'bearer'
        ? { values: [credentials.token], basicPairs: [] }
        : {
            values: [credentials.password],
            basicPairs: [`${credentials.username}:${credentials.password}`],
          };
  return {
    type: credentials.type,
    apply: (target) => Promise.resolve(apply(target)),
    renewAfterUnauthorized: () => Promise.resolve(false),
    secrets: () => secrets,
  };
}
