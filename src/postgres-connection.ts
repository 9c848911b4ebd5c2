/**
 * How this program opens a Postgres connection from a URL, and what a refused one means. The db layer's pool and the
 * local stack's own connections (the `DATABASE_URL` check, creating the app's database) both build their client
 * configuration here, so a URL means the same thing everywhere; `withoutPassword` is the URL to show a person.
 *
 * The URL's TLS parameters (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) take libpq's meanings (README, "Using your
 * own servers"), through node-postgres's own parser in its libpq mode — not node-postgres 8's default, which treats
 * `prefer`, `require` and `verify-ca` as `verify-full` and which its next major version drops. The one difference
 * from libpq: node-postgres never falls back to an unencrypted connection, so `prefer` is rewritten to `require`
 * before parsing (the same check of the chain with `sslrootcert`, as libpq does for both). And where libpq would take
 * `prefer` for a URL that names a certificate file but no `sslmode`, such a URL is refused: it must say which.
 */
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { ClientConfig } from 'pg';
import { parse, toClientConfig } from 'pg-connection-string';
import { IngestError, describeError } from './errors.ts';

/** The `sslmode` values a URL may carry; `allow` (plaintext first) is libpq's too, but node-postgres cannot do it. */
const sslModes = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/** The URL parameters that name a file. */
const fileParameters = ['sslrootcert', 'sslcert', 'sslkey'] as const;

/**
 * The node-postgres client configuration of `url`: host, credentials, database, startup parameters and TLS (none
 * unless the URL asks for it). Reads the certificate files the URL names, so the configuration holds them (and a
 * client key: never log it). A bad `sslmode`, a certificate file without an `sslmode`, a `verify-ca` without a CA
 * file, a file that cannot be read, a client certificate or key that is not usable PEM (an encrypted key included) or
 * a key that is not the certificate's is a `SETTING_INVALID` error that names the parameter — never the URL (it may
 * hold a password) nor a file's content.
 */
export function postgresClientConfig(url: string): ClientConfig {
  const queryAt = url.indexOf('?');
  const params = new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1));
  const sslmode = params.get('sslmode');
  if (sslmode !== null && !(sslModes as readonly string[]).includes(sslmode)) {
    throw invalid(`its sslmode is "${sslmode}"; expected one of ${sslModes.join(', ')}`);
  }
  // node-postgres's older switch: true/1 (TLS, verified like verify-full) and false/0 keep its meaning; anything
  // else (its `no-verify`) it would drop silently here, so it is refused.
  const ssl = params.get('ssl');
  if (ssl !== null && !['true', '1', 'false', '0'].includes(ssl)) {
    throw invalid(
      `its ssl is "${ssl}"; use sslmode (sslmode=require for TLS without checking the certificate)`,
    );
  }
  if (sslmode === 'verify-ca' && !params.has('sslrootcert')) {
    throw invalid(
      'sslmode=verify-ca needs sslrootcert: the file of the CA that signed the server certificate',
    );
  }
  let rewritten = false;
  // `prefer` can only be `require` here (no plaintext fallback): the same parse, so a CA file means the same to both.
  if (sslmode === 'prefer') {
    params.set('sslmode', 'require');
    rewritten = true;
  }
  // libpq 16's "the machine's trusted CAs" (here Node's: its bundled list and NODE_EXTRA_CA_CERTS); only with
  // verify-full, as in libpq, since any server with a certificate from a public CA would pass a CA-only check.
  if (params.get('sslrootcert') === 'system') {
    if (sslmode !== null && sslmode !== 'verify-full')
      throw invalid(`sslrootcert=system needs sslmode=verify-full, not ${sslmode}`);
    params.delete('sslrootcert');
    params.set('sslmode', 'verify-full');
    rewritten = true;
  }
  // node-postgres would read a file parameter alone as verify-full, libpq as prefer, and "no sslmode" reads as "no
  // TLS" to a person: the URL says which.
  const files = fileParameters.filter((name) => params.has(name));
  if (files.length > 0 && !params.has('sslmode')) {
    throw invalid(
      `it names ${files.join(', ')} but no sslmode; add one (sslmode=verify-full to check the server's ` +
        'certificate and its host name)',
    );
  }
  if (params.has('sslcert') !== params.has('sslkey')) {
    throw invalid(
      `it has ${params.has('sslcert') ? 'sslcert without sslkey' : 'sslkey without sslcert'}; a client certificate ` +
        'needs both: the certificate and its private key',
    );
  }
  // node-postgres's own switch for the libpq meanings; they always apply here, and the parser refuses both at once.
  if (params.has('uselibpqcompat')) {
    params.delete('uselibpqcompat');
    rewritten = true;
  }
  const effective = rewritten ? `${url.slice(0, queryAt)}?${params.toString()}` : url;
  let config: ClientConfig;
  try {
    config = toClientConfig(parse(effective, { useLibpqCompat: true }));
  } catch (error) {
    const path = (error as { path?: unknown }).path;
    const parameter = fileParameters.find((name) => path !== undefined && params.get(name) === path);
    if (parameter !== undefined) {
      const code = (error as { code?: unknown }).code;
      throw invalid(`its ${parameter} ${String(path)} cannot be read (${String(code)})`);
    }
    // The parser's own errors name no part of the URL ("Invalid URL", "Invalid port: …").
    throw invalid(`it cannot be parsed (${describeError(error)})`);
  }
  if (typeof config.ssl === 'object') assertUsableFiles(config.ssl, params);
  // No TLS parameter: no TLS — the URL alone decides, node-postgres's reading of PGSSLMODE is not wanted.
  return { ...config, ssl: config.ssl ?? false };
}

/**
 * Loads the URL's CA, client certificate and key as Node will for the connection, so a file that is not what its
 * parameter says fails now, named, rather than as an OpenSSL error (`ERR_OSSL_*`) at each connection. OpenSSL's
 * messages name no content of the files.
 */
function assertUsableFiles(ssl: SecureContextOptions, params: URLSearchParams): void {
  const load = (parameters: string, options: SecureContextOptions, expected: string) => {
    try {
      createSecureContext(options);
    } catch (error) {
      const named = parameters
        .split(' and ')
        .map((name) => `${name} ${params.get(name) ?? ''}`)
        .join(' and ');
      throw invalid(`its ${named} ${expected} (${failureDetail(error)})`);
    }
  };
  if (ssl.ca !== undefined) load('sslrootcert', { ca: ssl.ca }, 'is not a PEM certificate file');
  if (ssl.cert !== undefined) load('sslcert', { cert: ssl.cert }, 'is not a PEM certificate file');
  if (ssl.key !== undefined) {
    load(
      'sslkey',
      { key: ssl.key },
      'is not an unencrypted PEM private key (an encrypted one: `openssl pkey -in <key> -out <new key>` decrypts it)',
    );
  }
  if (ssl.cert !== undefined && ssl.key !== undefined) {
    load(
      'sslcert and sslkey',
      { cert: ssl.cert, key: ssl.key },
      'do not match: the key is not the certificate’s',
    );
  }
}

/**
 * `url` without its password, to show a person: neither the user-info one nor the query parameters node-postgres
 * reads one from (`password`; `sslpassword`, a client key's). A URL that does not parse is not shown at all (it might
 * hold the password anywhere).
 */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    for (const name of ['password', 'sslpassword']) {
      if (parsed.searchParams.has(name)) parsed.searchParams.delete(name);
    }
    return parsed.toString();
  } catch {
    return '(the Postgres URL, not shown: it does not parse as a URL)';
  }
}

function invalid(problem: string): IngestError {
  return new IngestError(
    'environment',
    'SETTING_INVALID',
    `The Postgres URL (DATABASE_URL) is wrong: ${problem}.`,
  );
}

/** OpenSSL's certificate verification failures, as Node names them (the `code` of a TLS socket's error). */
const certificateCodes = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/**
 * node-postgres's error when the server answers the TLS request with "no" (it has no codes for its own errors; the
 * one message we match, as `database.ts` matches its lost-connection messages).
 */
const serverWithoutTls = 'The server does not support SSL connections';

/** The codes of `postgresRefusal`'s errors. */
export const refusalCodes: ReadonlySet<string> = new Set(['DATABASE_TLS_FAILED', 'DATABASE_ACCESS_DENIED']);

/**
 * An error explaining why Postgres and this client could not agree on a connection, or undefined for any other
 * failure (a server that is away is `databaseUnavailable`'s):
 * - `DATABASE_TLS_FAILED`: the server's certificate is not trusted or not for this host, a TLS handshake failed
 *   (the server refused our client certificate, OpenSSL refused a key: `ERR_OSSL_*`), or the server offers no TLS
 *   while the URL requires it;
 * - `DATABASE_ACCESS_DENIED`: the server refused this client (SQLSTATE class 28: no pg_hba.conf entry — a
 *   `hostssl`-only server and `sslmode=disable`, say —, a wrong password, a missing client certificate).
 * Not retryable where it is raised: a process that cannot connect at its start stops at once. An activity, whose
 * worker connected with the same URL before, retries it within its budget (the server changed: a rotated
 * certificate, a failover, a pg_hba.conf edit) — the activity boundary decides that (db's `databaseRefusal`).
 * Looks through `cause` chains and `AggregateError`s. The message holds the code and Node's, node-postgres's or the
 * server's text, which name the host, user and database at most — never the password.
 */
export function postgresRefusal(error: unknown): IngestError | undefined {
  const found = findRefusal(error, 0);
  if (found === undefined) return undefined;
  const detail = failureDetail(found.error);
  return found.kind === 'tls'
    ? new IngestError(
        'database',
        'DATABASE_TLS_FAILED',
        `Postgres and this client could not set up TLS (${detail}). Check sslmode, sslrootcert, sslcert and sslkey ` +
          'in the Postgres URL (DATABASE_URL) against the server.',
        { retryable: false, details: { reason: detail } },
      )
    : new IngestError(
        'database',
        'DATABASE_ACCESS_DENIED',
        `Postgres refused this client (${detail}). Check the user and password, the TLS parameters of the Postgres ` +
          "URL (DATABASE_URL) and the server's pg_hba.conf.",
        { retryable: false, details: { reason: detail } },
      );
}

function findRefusal(
  error: unknown,
  depth: number,
): { readonly kind: 'tls' | 'access'; readonly error: Error } | undefined {
  if (depth > 5 || !(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (certificateCodes.has(code) || /^ERR_(SSL|TLS|OSSL)_/.test(code)) return { kind: 'tls', error };
    if (/^28[0-9A-Z]{3}$/.test(code)) return { kind: 'access', error };
  } else if (error.message === serverWithoutTls) {
    return { kind: 'tls', error };
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors as unknown[]) {
      const found = findRefusal(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return findRefusal(error.cause, depth + 1);
}

/**
 * `code: message` of a connection failure (the message alone when it has no code or already says it). Node's,
 * node-postgres's and the server's messages name no credential; a socket error's names the address and port at most.
 */
export function failureDetail(error: unknown): string {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  const message = describeError(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
