/**
 * Routes and their matching: a route is a method, a path template with `{param}` segments, and a handler that
 * turns a request context into a {@link Reply}. Also the credential guard every protected route uses.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthOutcome } from './auth.ts';
import type { Reply } from './reply.ts';
import type { CredentialSighting, Origin } from './request-log.ts';

/** What a handler gets. */
export interface RouteContext {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly origin: Origin;
  /** `http://host:port` as the client addressed this listener (for links in bodies). */
  readonly baseUrl: string;
  /** False on the other origin, which serves the same routes without checking credentials. */
  readonly enforceAuth: boolean;
  /** Records the credential check's outcome in the request log. */
  setAuth(outcome: AuthOutcome): void;
  /** Records credentials found in the request body (the OAuth2 token request). */
  addCredentials(sightings: readonly CredentialSighting[]): void;
  /** The request body as text (at most `limitBytes`; more is an error). */
  readBody(limitBytes?: number): Promise<string>;
  /** Keeps a (JSON) request body in the request log as `requestBody`, known secrets redacted. */
  recordBody(text: string): void;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** e.g. `/messaging/v1/messages/{requestId}`; also the route's name in the request log. */
  readonly template: string;
  readonly handle: (ctx: RouteContext) => Reply | Promise<Reply>;
}

export type RouteMatch =
  | { readonly type: 'found'; readonly route: Route; readonly params: Readonly<Record<string, string>> }
  | { readonly type: 'method-not-allowed'; readonly template: string; readonly allowed: readonly string[] }
  | { readonly type: 'not-found' };

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

/** Matches requests against a fixed set of routes. */
export interface Router {
  match(method: string, path: string): RouteMatch;
}

/** Compiles the templates once. */
export function createRouter(routes: readonly Route[]): Router {
  const compiled: CompiledRoute[] = routes.map((route) => {
    const names: string[] = [];
    const source = route.template
      .split('/')
      .map((segment) => {
        const param = /^\{(\w+)\}$/.exec(segment);
        if (param === null) return segment.replace(/[.+?^${}()|[\]\\*]/g, '\\$&');
        names.push(param[1] as string);
        return '([^/]+)';
      })
      .join('/');
    return { route, pattern: new RegExp(`^${source}/?$`), names };
  });
  return {
    match(method, path) {
      const allowed: string[] = [];
      let template: string | undefined;
      for (const { route, pattern, names } of compiled) {
        const found = pattern.exec(path);
        if (found === null) continue;
        if (route.method !== method.toUpperCase()) {
          allowed.push(route.method);
          template ??= route.template;
          continue;
        }
        const params: Record<string, string> = {};
        names.forEach((name, index) => {
          params[name] = safeDecode(found[index + 1] ?? '');
        });
        return { type: 'found', route, params };
      }
      return template === undefined
        ? { type: 'not-found' }
        : { type: 'method-not-allowed', template, allowed };
    },
  };
}

/**
 * Runs a credential check unless the listener does not enforce auth, records the outcome, and says whether the
 * request may proceed.
 */
export function authorize(ctx: RouteContext, check: () => AuthOutcome): boolean {
  if (!ctx.enforceAuth) {
    ctx.setAuth('not-required');
    return true;
  }
  const outcome = check();
  ctx.setAuth(outcome);
  return outcome === 'ok';
}

/** Reads an integer query parameter: `fallback` when absent, undefined when present but not an integer ≥ `min`. */
export function intParam(url: URL, name: string, fallback: number, min: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value >= min ? value : undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
