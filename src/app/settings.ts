/**
 * The process settings, read from the environment in one place. Entry points call `readSettings()` once and hand
 * the typed result down; no other module reads `process.env` for its own configuration. The one exception is by
 * design: `sourceEnv`, the environment each source reads its config values, base URL and credentials from at run
 * time, inside activities (the names come from each source's config, so they cannot be listed here).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readEnv } from '../config/env.ts';
import { shippedSourcesDir } from '../config/registry.ts';
import { defaultDatabaseTimeouts, type DatabaseTimeouts } from '../db/database.ts';
import { IngestError } from '../errors.ts';
import { projectRoot } from '../local/paths.ts';
import type { StackSettings } from '../local/stack.ts';
import {
  otlpTracesUrl,
  parseListenAddress,
  type TelemetrySettings,
} from '../telemetry/telemetry-settings.ts';
import { parseCodecKeys, type CodecKeyring } from './codec/keys.ts';
import { loadTemporalClientConfig, type TemporalClientConfig } from './temporal/client-config.ts';

/** An environment: `process.env`, or a test's own. An empty value counts as unset. */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface Settings extends StackSettings {
  /** Temporal as the stack takes it, and the config file profile its address came from (`client-config.ts`). */
  readonly temporal: StackSettings['temporal'] & Pick<TemporalClientConfig, 'addressFrom'>;
  /** pino level of the JSON logs on stderr (`LOG_LEVEL`, default `info`). */
  readonly logLevel: string;
  /** Where sources read config values, base URLs and credentials from, when a run of theirs needs them. */
  readonly sourceEnv: Environment;
  /** The sources folder (`INGEST_SOURCES_DIR`, default the repository's `sources/`); `--sources` overrides it. */
  readonly sourcesDir: string;
  /**
   * Metrics and traces: where `/metrics` and `/healthz` are served (`INGEST_METRICS_ADDRESS`, a port or host:port,
   * default none; the worker's `--metrics-address` wins) and where spans go (`OTEL_EXPORTER_OTLP_ENDPOINT` or
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, default none).
   */
  readonly telemetry: TelemetrySettings;
  /**
   * Limits of each Postgres session (`DATABASE_CONNECT_TIMEOUT`, `DATABASE_STATEMENT_TIMEOUT`,
   * `DATABASE_LOCK_TIMEOUT`, `DATABASE_IDLE_IN_TRANSACTION_TIMEOUT`; defaults `defaultDatabaseTimeouts`).
   */
  readonly databaseTimeouts: DatabaseTimeouts;
  /** The guard against destructive loads: the largest share of a table one load may remove (`INGEST_MAX_DELETE_SHARE`). */
  readonly maxDeleteShare: number;
  /** Days finished loads stay in the ledger (`INGEST_LEDGER_RETENTION_DAYS`). */
  readonly ledgerRetentionDays: number;
  /**
   * The keys Temporal payloads are encrypted with (`INGEST_CODEC_KEYS`: `id:base64key,…`, the first encrypts);
   * undefined: payloads are not encrypted.
   */
  readonly codec: CodecKeyring | undefined;
  /** The bearer token the codec server asks for (`INGEST_CODEC_AUTH_TOKEN`; its `--auth-token` wins). */
  readonly codecAuthToken: string | undefined;
}

/** Reads every setting of the process from `env` (default `process.env`). */
export function readSettings(env: Environment = process.env): Settings {
  const value = (name: string): string | undefined => readEnv(env, name);
  const cacheBase = value('XDG_CACHE_HOME') ?? join(value('HOME') ?? homedir(), '.cache');
  return {
    // Address, namespace, TLS and API key as the `temporal` CLI reads them: variables over a config file profile.
    temporal: { ...loadTemporalClientConfig(env), uiUrl: value('TEMPORAL_UI_URL') },
    databaseUrl: value('DATABASE_URL'),
    codec: optional(value('INGEST_CODEC_KEYS'), (text) => parseCodecKeys(text, 'INGEST_CODEC_KEYS')),
    codecAuthToken: value('INGEST_CODEC_AUTH_TOKEN'),
    dataDir: resolve(value('INGEST_DATA_DIR') ?? join(projectRoot, '.data')),
    temporalCli: {
      path: value('TEMPORAL_CLI_PATH'),
      cacheDir: resolve(value('INGEST_CACHE_DIR') ?? join(cacheBase, 'durable-ingest')),
      go: value('GO') ?? 'go',
    },
    logLevel: logLevel(value('LOG_LEVEL') ?? 'info'),
    sourceEnv: env,
    sourcesDir: resolve(value('INGEST_SOURCES_DIR') ?? shippedSourcesDir),
    telemetry: {
      metricsAddress: optional(value('INGEST_METRICS_ADDRESS'), (text) =>
        parseListenAddress(text, 'INGEST_METRICS_ADDRESS'),
      ),
      tracesUrl: otlpTracesUrl({
        endpoint: value('OTEL_EXPORTER_OTLP_ENDPOINT'),
        tracesEndpoint: value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
      }),
    },
    maxDeleteShare: numberIn(value, 'INGEST_MAX_DELETE_SHARE', 0.5, {
      min: 0,
      max: 1,
      what: 'a share from 0 to 1',
    }),
    ledgerRetentionDays: numberIn(value, 'INGEST_LEDGER_RETENTION_DAYS', 180, {
      min: Number.MIN_VALUE,
      max: Number.MAX_SAFE_INTEGER,
      what: 'a number of days > 0',
    }),
    databaseTimeouts: {
      connectMs: duration(value, 'DATABASE_CONNECT_TIMEOUT', defaultDatabaseTimeouts.connectMs),
      statementMs: duration(value, 'DATABASE_STATEMENT_TIMEOUT', defaultDatabaseTimeouts.statementMs),
      lockMs: duration(value, 'DATABASE_LOCK_TIMEOUT', defaultDatabaseTimeouts.lockMs),
      idleInTransactionMs: duration(
        value,
        'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT',
        defaultDatabaseTimeouts.idleInTransactionMs,
      ),
    },
  };
}

function optional<T>(text: string | undefined, parse: (text: string) => T): T | undefined {
  return text === undefined ? undefined : parse(text);
}

/** A number setting within bounds; anything else is a `SETTING_INVALID` error naming the variable. */
function numberIn(
  value: (name: string) => string | undefined,
  name: string,
  fallback: number,
  range: { readonly min: number; readonly max: number; readonly what: string },
): number {
  const text = value(name);
  if (text === undefined) return fallback;
  const parsed = Number(text);
  if (text.trim() !== '' && Number.isFinite(parsed) && parsed >= range.min && parsed <= range.max)
    return parsed;
  throw new IngestError('environment', 'SETTING_INVALID', `${name} is "${text}"; expected ${range.what}`);
}

const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000 };

/**
 * A duration in milliseconds, written as Postgres writes these settings: `90s`, `30min`, `1h`, `500ms`, or a bare
 * number of milliseconds; `0` sets no limit of ours.
 */
function duration(value: (name: string) => string | undefined, name: string, fallback: number): number {
  const text = value(name);
  if (text === undefined) return fallback;
  const match = /^(\d+)\s*(ms|s|min|h)?$/.exec(text.trim());
  const ms =
    match?.[1] === undefined ? Number.NaN : Number(match[1]) * (durationUnits[match[2] ?? 'ms'] ?? 1);
  if (!Number.isSafeInteger(ms) || ms > 2 ** 31 - 1) {
    throw new IngestError(
      'environment',
      'SETTING_INVALID',
      `${name} is "${text}"; expected a duration such as 500ms, 90s, 30min or 1h (a bare number is milliseconds; 0 is no limit)`,
    );
  }
  return ms;
}

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

function logLevel(level: string): string {
  if ((logLevels as readonly string[]).includes(level)) return level;
  throw new IngestError(
    'environment',
    'SETTING_INVALID',
    `LOG_LEVEL is "${level}"; expected one of ${logLevels.join(', ')}`,
  );
}
