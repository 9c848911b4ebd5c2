/**
 * OAuth2 client credentials (RFC 6749 §4.4), as dlt does it: POST the token URL, form-encoded, with the client id
 * and secret as HTTP basic and `grant_type=client_credentials` plus `access_token_request_data` in the form. The
 * token is cached and shared by every request of this authenticator, renewed shortly before it expires (10 % of its
 * lifetime, at most 60 s, early) and once more after a 401. Concurrent callers share one token request.
 */
import { IngestError } from '../errors.ts';
import type { AuthCredentials } from '../config/secrets.ts';
import { setHeader, type Authenticator, type AuthTarget } from './auth.ts';
import type { HttpClient } from './client.ts';
import { describeRequest, type RequestContext } from './http-errors.ts';
import { createRedactor } from './redact.ts';
import { sendRequest } from './send-request.ts';

type OAuth2Credentials = Extract<AuthCredentials, { readonly type: 'oauth2_client_credentials' }>;

interface CachedToken {
  readonly accessToken: string;
  /** `now()` after which it is renewed before use. */
  readonly renewAt: number;
}

/** Options of {@link createOAuth2Authenticator}. */
export interface OAuth2Options {
  readonly client: HttpClient;
  /** For messages: `source` and `resource` the token is obtained for. */
  readonly source: string;
  readonly resource: string;
  /** Milliseconds clock (default `Date.now`). */
  readonly now?: () => number;
}

/** Tokens kept for redaction after they were replaced (a late error may still show one). */
const rememberedTokens = 8;

/** Early renewal: 10 % of the lifetime, at most 60 s. */
export function renewalMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.floor(lifetimeMs / 10));
}

/** An authenticator that obtains, caches and renews OAuth2 client-credentials tokens. */
export function createOAuth2Authenticator(
  credentials: OAuth2Credentials,
  options: OAuth2Options,
): Authenticator {
  const now = options.now ?? Date.now;
  let cached: CachedToken | undefined;
  let pending: Promise<CachedToken> | undefined;
  const issued: string[] = [];
  const basicPair = `${credentials.clientId}:${credentials.clientSecret}`;
  const staticSecrets = [
    credentials.clientSecret,
    ...Object.entries(credentials.accessTokenRequestData)
      .filter(([, value]) => typeof value === 'string')
      .map(([, value]) => String(value))
      .filter((value) => value.length >= 8),
  ];

  const fail = (what: string, details: Readonly<Record<string, unknown>> = {}): IngestError => {
    const context: RequestContext = {
      source: options.source,
      resource: `${options.resource} (OAuth2 token)`,
      method: 'POST',
      url: credentials.accessTokenUrl,
      redactor: createRedactor(staticSecrets, [basicPair]),
    };
    return new IngestError(
      'auth',
      'OAUTH_TOKEN_REJECTED',
      `${context.redactor.text(what)} (${describeRequest(context)})`,
      {
        details: {
          source: options.source,
          resource: options.resource,
          url: context.redactor.url(context.url),
          phase: 'request',
          ...details,
        },
      },
    );
  };

  const obtain = async (signal: AbortSignal | undefined): Promise<CachedToken> => {
    const form = new URLSearchParams();
    form.set('grant_type', 'client_credentials');
    for (const [key, value] of Object.entries(credentials.accessTokenRequestData))
      form.set(key, String(value));
    const response = await sendRequest(
      {
        method: 'POST',
        url: credentials.accessTokenUrl,
        headers: {
          authorization: `Basic ${Buffer.from(basicPair, 'utf8').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form.toString(),
        source: options.source,
        resource: `${options.resource} (OAuth2 token)`,
      },
      {
        client: options.client,
        signal,
        secrets: [...staticSecrets, Buffer.from(basicPair, 'utf8').toString('base64')],
        redirects: 'error',
        // 400, 401 and 403 are the token endpoint's "no": reported below as OAUTH_TOKEN_REJECTED.
        acceptStatus: (status) => status === 400 || status === 401 || status === 403,
      },
    );
    const text = await response.text(1024 * 1024);
    if (response.status < 200 || response.status > 299) {
      let reason = '';
      try {
        const parsed = JSON.parse(text) as { error?: unknown };
        if (typeof parsed.error === 'string') reason = ` (${parsed.error})`;
      } catch {
        // no OAuth error object
      }
      throw fail(`the token endpoint refused the client: HTTP ${response.status}${reason}`, {
        status: response.status,
      });
    }
    let token: unknown;
    let expiresIn: unknown;
    try {
      const parsed = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
      token = parsed.access_token;
      expiresIn = parsed.expires_in;
    } catch {
      throw fail('the token response is not JSON');
    }
    if (typeof token !== 'string' || token === '') throw fail('the token response has no access_token');
    const seconds =
      typeof expiresIn === 'number' || (typeof expiresIn === 'string' && /^\d+$/.test(expiresIn))
        ? Number(expiresIn)
        : credentials.defaultTokenExpiration;
    const lifetimeMs = Math.max(0, seconds * 1000);
    issued.push(token);
    if (issued.length > rememberedTokens) issued.shift();
    return { accessToken: token, renewAt: now() + lifetimeMs - renewalMarginMs(lifetimeMs) };
  };

  const current = async (signal: AbortSignal | undefined): Promise<CachedToken> => {
    if (cached !== undefined && now() < cached.renewAt) return cached;
    pending ??= obtain(signal).finally(() => {
      pending = undefined;
    });
    cached = await pending;
    return cached;
  };

  return {
    type: 'oauth2_client_credentials',
    async apply(target: AuthTarget, signal?: AbortSignal): Promise<AuthTarget> {
      const token = await current(signal);
      return {
        url: target.url,
        headers: setHeader(target.headers, 'Authorization', `Bearer ${token.accessToken}`),
      };
    },
    renewAfterUnauthorized(refused: AuthTarget): Promise<boolean> {
      // Drop the token only if it is the one refused: a concurrent request may have renewed it already.
      const sent = Object.entries(refused.headers).find(
        ([name]) => name.toLowerCase() === 'authorization',
      )?.[1];
      if (cached !== undefined && sent === `Bearer ${cached.accessToken}`) cached = undefined;
      return Promise.resolve(true);
    },
    secrets: () => ({ values: [...staticSecrets, ...issued], basicPairs: [basicPair] }),
  };
}
