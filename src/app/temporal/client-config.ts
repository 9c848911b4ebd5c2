/**
 * Which Temporal a process uses and how it authenticates, loaded as the `temporal` CLI loads it — by the SDK's own
 * loader, `@temporalio/envconfig`: a profile (`TEMPORAL_PROFILE`, default `default`) of the TOML config file
 * (`config-file.ts`: `TEMPORAL_CONFIG_FILE`, else the default file of the user's config folder), with the
 * `TEMPORAL_*` variables over it (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`,
 * `TEMPORAL_GRPC_META_*`). Only `readSettings` calls it. Each problem — a file that cannot be read, TOML that does
 * not parse, a profile that does not exist, a certificate that is not one, two settings that contradict each other —
 * is an `environment` error naming the variable or the file, never the content of a key or a certificate.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { fromTomlProfile, toClientOptions, type ClientConfigTLS } from '@temporalio/envconfig';
import { IngestError } from '../../errors.ts';
import type { TemporalConnectOptions } from '../../local/temporal-server.ts';
import { fileProblem, loadRawProfile, readConfigFile, type RawProfile } from './config-file.ts';

/** The Temporal part of the settings that comes from the client config profile. */
export interface TemporalClientConfig {
  /** The user's Temporal (`host:port`); undefined when neither the variables nor the profile name one. */
  readonly address: string | undefined;
  readonly namespace: string;
  /** TLS, API key and gRPC metadata for `address`; undefined without an address (a dev server is plain). */
  readonly connection: TemporalConnectOptions | undefined;
  /**
   * The config file profile `address` came from — TEMPORAL_ADDRESS was not set — so that what a process prints can
   * say why it goes there (`describeAddressOrigin`); undefined when the variable gave the address, or there is none.
   */
  readonly addressFrom: { readonly profile: string; readonly file: string } | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The three files of a TLS set-up, by their names in the profile and in the environment. */
const tlsFiles = [
  { field: 'clientCert', toml: 'client_cert', env: 'TEMPORAL_TLS_CLIENT_CERT', kind: 'certificate' },
  { field: 'clientKey', toml: 'client_key', env: 'TEMPORAL_TLS_CLIENT_KEY', kind: 'private key' },
  { field: 'serverCACert', toml: 'server_ca_cert', env: 'TEMPORAL_TLS_SERVER_CA_CERT', kind: 'certificate' },
] as const;

const booleanVariables = ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION'] as const;

const grpcMetaPrefix = 'TEMPORAL_GRPC_META_';

/** Loads the client config profile from `env` (and the config file it points to); see the module comment. */
export function loadTemporalClientConfig(env: Env): TemporalClientConfig {
  const loaderEnv = loaderEnvironment(env);
  const file = readConfigFile(loaderEnv);
  const profileName = loaderEnv['TEMPORAL_PROFILE'] ?? 'default';
  const where = `profile "${profileName}" of ${file.label}`;

  const raw = loadRawProfile(file, loaderEnv);
  const namespace = raw.namespace ?? 'default';
  if (raw.address === undefined)
    return { address: undefined, namespace, connection: undefined, addressFrom: undefined };

  checkTls(raw, loaderEnv, where);
  checkAuthorization(raw, loaderEnv, where);
  const profile = fromTomlProfile(raw);
  const tls =
    profile.tls === undefined || profile.tls.disabled === true
      ? undefined
      : readTlsFiles(profile.tls, loaderEnv, where);
  const { connectionOptions } = toClientOptions({ ...profile, ...(tls === undefined ? {} : { tls }) });
  const secured = {
    tls: connectionOptions.tls ?? undefined,
    apiKey: connectionOptions.apiKey,
    metadata: profile.grpcMeta,
  };
  const plain = Object.values(secured).every((value) => value === undefined);
  return {
    address: raw.address,
    namespace,
    connection: plain ? undefined : hideSecrets(secured),
    addressFrom:
      loaderEnv['TEMPORAL_ADDRESS'] === undefined
        ? { profile: profileName, file: file.path ?? file.label }
        : undefined,
  };
}

/**
 * For what a process prints at start: where the address came from when a config file profile gave it (`from
 * profile "cloud" of /home/me/.config/temporalio/temporal.toml; TEMPORAL_ADDRESS is not set`), so that nobody is
 * sent to a server by a file they forgot; undefined when TEMPORAL_ADDRESS gave it.
 */
export function describeAddressOrigin(config: Pick<TemporalClientConfig, 'addressFrom'>): string | undefined {
  const from = config.addressFrom;
  if (from === undefined) return undefined;
  return `from profile "${from.profile}" of ${from.file}; TEMPORAL_ADDRESS is not set`;
}

/**
 * What the loader is given: `env` without empty values (an empty variable counts as unset here; only
 * `TEMPORAL_GRPC_META_<name>=` keeps its meaning, removing a header the file sets), and the booleans checked —
 * the loader reads anything but `1`/`true` as false, so `TEMPORAL_TLS=yes` would silently turn TLS off.
 */
function loaderEnvironment(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || (value === '' && !name.startsWith(grpcMetaPrefix))) continue;
    out[name] = value;
  }
  for (const name of booleanVariables) {
    const value = out[name];
    if (value === undefined) continue;
    const parsed = parseBoolean(value);
    if (parsed === undefined)
      throw settingError(`${name} is "${value}"; expected true or false (also 1/0, t/f, TRUE/FALSE)`);
    out[name] = String(parsed);
  }
  return out;
}

/** As Go's `strconv.ParseBool`, which the `temporal` CLI uses. */
function parseBoolean(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** Refuses what the SDK would ignore or fail on later with a less helpful message. */
function checkTls(raw: RawProfile, env: Record<string, string>, where: string): void {
  const tls = raw.tls;
  if (tls === undefined) return;
  if (tls.disable_host_verification === true) {
    throw settingError(
      `${origin(env, 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION', 'tls.disable_host_verification', where)} turns off ` +
        'host name verification, which the Temporal TypeScript SDK does not support; set TEMPORAL_TLS_SERVER_NAME ' +
        "to the name in the server's certificate instead (and TEMPORAL_TLS_SERVER_CA_CERT_PATH to its CA)",
    );
  }
  for (const file of tlsFiles) {
    if (tls[`${file.toml}_path`] !== undefined && tls[`${file.toml}_data`] !== undefined) {
      throw settingError(
        `${origin(env, `${file.env}_PATH`, `tls.${file.toml}_path`, where)} and ` +
          `${origin(env, `${file.env}_DATA`, `tls.${file.toml}_data`, where)} are both set; set one`,
      );
    }
  }
  const [certFile, keyFile] = tlsFiles;
  const cert = tlsSetting(tls, certFile, env, where);
  const key = tlsSetting(tls, keyFile, env, where);
  if ((cert === undefined) !== (key === undefined)) {
    throw settingError(
      `${cert ?? key} is set but no client ${cert === undefined ? 'certificate' : 'key'}: mTLS needs both ` +
        '(TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or their _DATA forms)',
    );
  }
}

/**
 * Refuses an API key together with an `authorization` header of its own: the key is sent as that header, and the
 * client (gRPC-js) and the worker (Rust core) do not settle the clash the same way, so the two could send different
 * credentials.
 */
function checkAuthorization(raw: RawProfile, env: Record<string, string>, where: string): void {
  if (raw.api_key === undefined) return;
  const header = Object.keys(raw.grpc_meta ?? {}).find((key) => key.toLowerCase() === 'authorization');
  if (header === undefined) return;
  const variable = Object.keys(env).find(
    (name) =>
      name.startsWith(grpcMetaPrefix) &&
      name.slice(grpcMetaPrefix.length).toLowerCase() === 'authorization' &&
      env[name] !== '',
  );
  throw settingError(
    `${origin(env, 'TEMPORAL_API_KEY', 'api_key', where)} and ` +
      `${variable ?? `grpc_meta.${header} of ${where}`} are both set, and both are the authorization header; ` +
      'set one (the API key is sent as "authorization: Bearer <key>")',
  );
}

/** The name of the setting that gives a TLS file (its path or its data), or undefined when none does. */
function tlsSetting(
  tls: NonNullable<RawProfile['tls']>,
  file: (typeof tlsFiles)[number],
  env: Record<string, string>,
  where: string,
): string | undefined {
  for (const form of ['path', 'data'] as const) {
    if (tls[`${file.toml}_${form}`] !== undefined)
      return origin(env, `${file.env}_${form.toUpperCase()}`, `tls.${file.toml}_${form}`, where);
  }
  return undefined;
}

/** The TLS settings with each file read and checked, so that the connection gets data and a bad file is named now. */
function readTlsFiles(tls: ClientConfigTLS, env: Record<string, string>, where: string): ClientConfigTLS {
  const out: ClientConfigTLS = { ...tls };
  for (const file of tlsFiles) {
    const source = tls[file.field];
    if (source === undefined) continue;
    let data: Uint8Array | string;
    let name: string;
    if ('path' in source) {
      name = origin(env, `${file.env}_PATH`, `tls.${file.toml}_path`, where);
      try {
        data = readFileSync(source.path);
      } catch (error) {
        throw settingError(`${name} is "${source.path}", which cannot be read (${fileProblem(error)})`);
      }
    } else {
      name = origin(env, `${file.env}_DATA`, `tls.${file.toml}_data`, where);
      data = source.data;
    }
    checkPem(data, file.kind, name);
    out[file.field] = { data };
  }
  return out;
}

/** A PEM the connection can use; the error names the setting, never the content. */
function checkPem(data: Uint8Array | string, kind: 'certificate' | 'private key', name: string): void {
  const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  try {
    if (kind === 'certificate') new X509Certificate(buffer);
    else createPrivateKey(buffer);
  } catch {
    throw settingError(`${name} is not a PEM ${kind}`);
  }
}

/** The variable when the environment set the value, else the key in the profile. */
function origin(env: Record<string, string>, variable: string, key: string, where: string): string {
  return env[variable] !== undefined ? variable : `${key} of ${where}`;
}

function settingError(message: string): IngestError {
  return new IngestError('environment', 'SETTING_INVALID', message);
}

/**
 * The options as they are, but shown (JSON, pino, `util.inspect`) as what they carry (`TLS, API key`): logging
 * `Settings.temporal`, or these options, prints neither the API key nor the client's private key. Only these
 * options are covered: `Settings.sourceEnv` is the whole environment, TEMPORAL_API_KEY included, and the options the
 * connections are built from (`connection.ts`) are plain objects — log neither.
 */
function hideSecrets(options: TemporalConnectOptions): TemporalConnectOptions {
  const shown = describeConnectOptions(options);
  return Object.defineProperties(
    { ...options },
    {
      toJSON: { value: () => shown },
      [inspect.custom]: { value: () => shown },
    },
  );
}

/** For people and logs: how a connection is secured, without a secret (`TLS, API key`, `mTLS`, `plaintext`). */
export function describeConnectOptions(options: TemporalConnectOptions | undefined): string {
  const tls = options?.tls;
  const parts = [
    tls === undefined || tls === false
      ? 'plaintext'
      : typeof tls === 'object' && tls.clientCertPair !== undefined
        ? 'mTLS'
        : 'TLS',
  ];
  if (options?.apiKey !== undefined) parts.push('API key');
  if (options?.metadata !== undefined && Object.keys(options.metadata).length > 0)
    parts.push('gRPC metadata');
  return parts.join(', ');
}
