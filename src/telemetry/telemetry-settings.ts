/**
 * What a process's telemetry is told: where to serve `/metrics` and `/healthz`, and where to send traces. Parsed from
 * the environment by `src/app/settings.ts` (`INGEST_METRICS_ADDRESS`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and the worker's `--metrics-address`; a bad value is a `SETTING_INVALID`
 * error naming where it came from.
 */
import { isIP } from 'node:net';
import { IngestError } from '../errors.ts';

/** A TCP address to listen on. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface TelemetrySettings {
  /** Where `/metrics` and `/healthz` are served; undefined: neither (the default). */
  readonly metricsAddress?: ListenAddress | undefined;
  /** The OTLP/HTTP URL spans are posted to (`…/v1/traces`); undefined: no tracing at all. */
  readonly tracesUrl?: string | undefined;
}

/** Loopback: the metrics endpoint is reachable from other hosts only when an address says so. */
export const defaultMetricsHost = '127.0.0.1';

/**
 * `9464` (loopback), `127.0.0.1:9464`, `0.0.0.0:9464`, `[::1]:9464` or `host.name:9464`; port 0–65535, where 0
 * takes a free port (the worker logs which). `what` names the variable or flag in the error.
 */
export function parseListenAddress(text: string, what: string): ListenAddress {
  const trimmed = text.trim();
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d+)$/.exec(trimmed) ?? /^()()(\d+)$/.exec(trimmed);
  const host = match?.[1] || match?.[2] || defaultMetricsHost;
  const port = Number(match?.[3]);
  const bracketed = match?.[1] !== undefined && match[1] !== '';
  if (
    match === null ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65_535 ||
    (bracketed && isIP(host) !== 6)
  ) {
    throw new IngestError(
      'environment',
      'SETTING_INVALID',
      `${what} is "${text}"; expected a port (9464, on loopback) or host:port (0.0.0.0:9464, [::1]:9464)`,
    );
  }
  return { host, port };
}

/**
 * The traces URL from the standard OpenTelemetry variables: the signal's own endpoint as given, or the base
 * endpoint with `/v1/traces` appended (as the OTLP/HTTP specification says). Undefined when neither is set.
 */
export function otlpTracesUrl(variables: {
  readonly endpoint?: string | undefined;
  readonly tracesEndpoint?: string | undefined;
}): string | undefined {
  if (variables.tracesEndpoint !== undefined)
    return httpUrl(variables.tracesEndpoint, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (variables.endpoint === undefined) return undefined;
  const base = httpUrl(variables.endpoint, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function httpUrl(text: string, name: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    // The value may carry a credential (user:password@host): it is not repeated.
    throw new IngestError('environment', 'SETTING_INVALID', `${name} is not an http(s) URL`);
  }
  return text;
}

/** What a URL is safe to be shown as in a log line: its origin (no user, path or query). */
export function shownOrigin(url: string): string {
  return new URL(url).origin;
}
