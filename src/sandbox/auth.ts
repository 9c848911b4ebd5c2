/**
 * Credential checks for every auth kind the sandbox serves (api key in query/header/cookie, bearer, HTTP basic) and
 * the OAuth2 client-credentials token store whose tokens really expire. Comparisons are constant-time.
 */
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { hexDigits, createRandom, mixSeed } from './random.ts';

/** What a credential check concluded; `not-required` when the route needs none (or on the other origin). */
export type AuthOutcome = 'ok' | 'missing' | 'invalid' | 'expired' | 'not-required';

/** Equal strings, compared in constant time. */
export function secretEquals(actual: string, expected: string): boolean {
  const a = Buffer.from(actual);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of a header (first one when repeated). */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The cookies of a request, by name. */
export function parseCookies(header: string | undefined): ReadonlyMap<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      cookies.set(name, decodeURIComponent(value));
    } catch {
      cookies.set(name, value);
    }
  }
  return cookies;
}

/** Checks a presented value against the expected secret. */
export function checkValue(presented: string | undefined | null, expected: string): AuthOutcome {
  if (presented === undefined || presented === null || presented === '') return 'missing';
  return secretEquals(presented, expected) ? 'ok' : 'invalid';
}

/** The credentials part of `Authorization: <scheme> <credentials>` when the scheme matches (case-insensitive). */
export function authorizationCredentials(req: IncomingMessage, scheme: string): string | undefined {
  const header = headerValue(req, 'authorization');
  if (header === undefined) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return undefined;
  return header.slice(space + 1).trim();
}

/** `user:password` of an HTTP basic header, or undefined when absent or not decodable. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const encoded = authorizationCredentials(req, 'Basic');
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Checks HTTP basic credentials. */
export function checkBasic(req: IncomingMessage, user: string, password: string): AuthOutcome {
  const presented = basicCredentials(req);
  if (presented === undefined) return 'missing';
  return secretEquals(presented.user, user) && secretEquals(presented.password, password) ? 'ok' : 'invalid';
}

/** A token issued by the OAuth2 endpoint. */
export interface IssuedToken {
  readonly accessToken: string;
  /** Whole seconds, as sent in `expires_in`: the lifetime rounded down, at least 1 (so a lifetime under 1 s
   * expires before the client expects: the 401-then-refresh path). */
  readonly expiresIn: number;
}

/** The OAuth2 access tokens of one sandbox. */
export interface TokenStore {
  /** Issues a new token valid for the configured lifetime. */
  issue(): IssuedToken;
  /** `ok`, `expired` (issued here, lifetime over, or expired by a test) or `invalid` (never issued). */
  check(token: string): AuthOutcome;
  /** Makes every token issued so far expire now (tests of the refresh path). */
  expireAll(): void;
  /** How many tokens were issued. */
  readonly issuedCount: number;
  /** Every token ever issued (to recognise them in the request log). */
  isIssued(token: string): boolean;
}

/** A token store; `now` is a monotonic clock in ms (injectable for tests). */
export function createTokenStore(options: {
  readonly seed: number;
  readonly ttlMs: number;
  readonly now?: () => number;
}): TokenStore {
  const now = options.now ?? (() => performance.now());
  const expiries = new Map<string, number>();
  let issued = 0;
  return {
    issue() {
      issued += 1;
      const random = createRandom(mixSeed(options.seed, 0x0a117, issued));
      const accessToken = `sbx_at_${issued.toString(36)}_${hexDigits(random, 24)}`;
      expiries.set(accessToken, now() + options.ttlMs);
      return { accessToken, expiresIn: Math.max(1, Math.floor(options.ttlMs / 1000)) };
    },
    check(token) {
      const expiry = expiries.get(token);
      if (expiry === undefined) return 'invalid';
      return now() < expiry ? 'ok' : 'expired';
    },
    expireAll() {
      const at = now();
      for (const token of expiries.keys()) expiries.set(token, Math.min(at, expiries.get(token) ?? at));
    },
    get issuedCount() {
      return issued;
    },
    isIssued(token) {
      return expiries.has(token);
    },
  };
}
