/**
 * Secrets. A source file names credentials by reference — `{ $env: MESSAGING_API_KEY }` where dlt had
 * `dlt.secrets["api_key"]` — and the resolved plan (which lives in Temporal history) carries only references. The
 * values are read at run time, inside an activity, by `resolveSecrets`. Credentials written inline in a file are
 * allowed (dlt allows them) but warned about, masked in every message, and carried in the plan as
 * `{ $inline: <path in the file> }`.
 */
import { IngestError } from '../errors.ts';
import type { ResolvedAuth, SecretOrText, SecretRef } from '../shared/plan.ts';
import { formatPath, type PathSegment } from './problems.ts';
import { parseTemplate } from './templates.ts';

/** Fields of an `auth` object that hold a secret. */
export const secretFieldNames: ReadonlySet<string> = new Set([
  'api_key',
  'token',
  'password',
  'client_secret',
  'access_token',
]);

/** Header and parameter names whose values are credentials. */
const sensitiveNamePattern =
  /^(authorization|proxy-authorization|cookie)$|api[-_]?key|token|secret|passw(or)?d|signature|session|credential/i;

/** True for a header or parameter name whose value is a credential (`Authorization`, `X-Api-Key`, `token`, …). */
export function isSensitiveName(name: string): boolean {
  return sensitiveNamePattern.test(name);
}

/** A credential written as text in a source file. */
export interface LiteralSecret {
  /** Its path in the file, e.g. `client.auth.api_key`. */
  readonly path: string;
  readonly value: string;
  /** `param` secrets stay in the plan (a query value); the others become `$inline` references. */
  readonly kind: 'credential' | 'header' | 'param';
}

function isPlainText(value: string): boolean {
  const parsed = parseTemplate(value);
  return parsed.ok && parsed.tokens.every((token) => token.kind === 'text');
}

type SecretContext = 'auth' | 'headers' | 'params' | 'other';

function childContext(key: string, context: SecretContext): SecretContext {
  if (key === 'auth' || key === 'headers' || key === 'params') return key;
  return key === 'access_token_request_data' && context === 'auth' ? 'auth' : 'other';
}

/** Every credential written as text in a (possibly invalid) source file, with its path. */
export function findLiteralSecrets(input: unknown): LiteralSecret[] {
  const found: LiteralSecret[] = [];
  const visit = (value: unknown, path: readonly PathSegment[], context: SecretContext): void => {
    if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => visit(item, [...path, index], 'other'));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const at = [...path, key];
      if (typeof item === 'string' && item !== '') {
        if (context === 'auth' && secretFieldNames.has(key))
          found.push({ path: formatPath(at), value: item, kind: 'credential' });
        else if (context === 'headers' && isSensitiveName(key) && isPlainText(item)) {
          found.push({ path: formatPath(at), value: item, kind: 'header' });
        } else if (context === 'params' && isSensitiveName(key) && isPlainText(item)) {
          found.push({ path: formatPath(at), value: item, kind: 'param' });
        } else if (
          context === 'auth' &&
          path.at(-1) === 'access_token_request_data' &&
          isSensitiveName(key)
        ) {
          found.push({ path: formatPath(at), value: item, kind: 'credential' });
        }
        continue;
      }
      visit(item, at, childContext(key, context));
    }
  };
  visit(input, [], 'other');
  return found;
}

/** The inline credentials of a source file by path: what `$inline` references point to. */
export function collectInlineSecrets(config: unknown): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const secret of findLiteralSecrets(config)) {
    if (secret.kind !== 'param') out[secret.path] = secret.value;
  }
  return out;
}

/** True for `{ $env }` and `{ $inline }` references. */
export function isSecretRef(value: unknown): value is SecretRef {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === '$env' || keys[0] === '$inline');
}

/** The environment and the inline credentials of the source file, where references are resolved. */
export interface SecretSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly inline?: Readonly<Record<string, string>>;
}

/**
 * The value of a credential. A missing environment variable is an `auth` error (`SECRET_NOT_SET`, not retryable)
 * naming the variable — never a value. `what` says where it is needed, e.g. "source messaging: api_key".
 */
export function resolveSecretValue(value: SecretOrText, sources: SecretSources, what: string): string {
  if (typeof value === 'string') return value;
  if ('$env' in value) {
    const found = sources.env[value.$env];
    if (found === undefined || found === '') {
      throw new IngestError(
        'auth',
        'SECRET_NOT_SET',
        `${what}: environment variable ${value.$env} is not set`,
        {
          details: { variable: value.$env },
        },
      );
    }
    return found;
  }
  const inline = sources.inline?.[value.$inline];
  if (inline === undefined) {
    throw new IngestError(
      'auth',
      'SECRET_NOT_SET',
      `${what}: the credential written at ${value.$inline} of the source file is no longer there`,
      { details: { path: value.$inline } },
    );
  }
  return inline;
}

/** An auth with its credentials resolved: for the HTTP layer only, never logged, never returned from an activity. */
export type AuthCredentials =
  | {
      readonly type: 'api_key';
      readonly name: string;
      readonly location: 'header' | 'query' | 'cookie';
      readonly apiKey: string;
    }
  | { readonly type: 'bearer'; readonly token: string }
  | { readonly type: 'http_basic'; readonly username: string; readonly password: string }
  | {
      readonly type: 'oauth2_client_credentials';
      readonly accessTokenUrl: string;
      readonly clientId: string;
      readonly clientSecret: string;
      readonly accessTokenRequestData: Readonly<Record<string, string | number | boolean>>;
      readonly defaultTokenExpiration: number;
    };

/**
 * Resolves the credentials of a plan's auth at run time (call it inside the activity, right before use). `env` is
 * usually `process.env`; `inline` is `collectInlineSecrets(sourceFile)` when the file has inline credentials.
 */
export function resolveSecrets(
  auth: ResolvedAuth,
  env: Readonly<Record<string, string | undefined>>,
  options: { readonly inline?: Readonly<Record<string, string>>; readonly context?: string } = {},
): AuthCredentials {
  const sources: SecretSources = { env, ...(options.inline === undefined ? {} : { inline: options.inline }) };
  const what = (field: string): string =>
    `${options.context === undefined ? '' : `${options.context}: `}${auth.type} auth ${field}`;
  switch (auth.type) {
    case 'api_key':
      return { ...auth, apiKey: resolveSecretValue(auth.apiKey, sources, what('api_key')) };
    case 'bearer':
      return { type: 'bearer', token: resolveSecretValue(auth.token, sources, what('token')) };
    case 'http_basic':
      return {
        type: 'http_basic',
        username: resolveSecretValue(auth.username, sources, what('username')),
        password: resolveSecretValue(auth.password, sources, what('password')),
      };
    case 'oauth2_client_credentials': {
      const data: Record<string, string | number | boolean> = {};
      for (const [key, value] of Object.entries(auth.accessTokenRequestData)) {
        data[key] = typeof value === 'object' ? resolveSecretValue(value, sources, what(key)) : value;
      }
      return {
        ...auth,
        clientId: resolveSecretValue(auth.clientId, sources, what('client_id')),
        clientSecret: resolveSecretValue(auth.clientSecret, sources, what('client_secret')),
        accessTokenRequestData: data,
      };
    }
  }
}

/** Resolves header values that are references (e.g. after `renderRequest`). */
export function resolveHeaderSecrets(
  headers: Readonly<Record<string, string | SecretRef>>,
  sources: SecretSources,
  context = 'header',
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = resolveSecretValue(value, sources, `${context} ${name}`);
  return out;
}
