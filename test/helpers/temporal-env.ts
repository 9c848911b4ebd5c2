/**
 * `isolatedTemporalEnv(env)`: an environment that reaches only the Temporal a test names. The product reads its
 * Temporal connection as the `temporal` CLI does — the `TEMPORAL_*` variables over a profile of a config file that
 * is read even when nobody names it (`~/.config/temporalio/temporal.toml`) — so a developer's own file or shell could
 * otherwise send a test's process, or its children, to another server with other credentials. Nor does a test's
 * process inherit the developer's telemetry: a metrics address (a port that may be taken, or served twice) or an
 * OpenTelemetry endpoint and its headers. Use it for the settings the test set-up reads and for every child process
 * a test spawns; a test that wants telemetry sets it over it.
 */

/**
 * The variables the product's own code reads under the `TEMPORAL_` prefix that choose no server: which `temporal`
 * binary runs the dev server, and the UI link printed.
 */
const notConnectionSettings = new Set(['TEMPORAL_CLI_PATH', 'TEMPORAL_UI_URL']);

/** The product's metrics address, and every OpenTelemetry variable (`OTEL_*`: endpoints, headers, service name). */
function isTelemetrySetting(name: string): boolean {
  return name === 'INGEST_METRICS_ADDRESS' || name.startsWith('OTEL_');
}

/**
 * `env` without any telemetry setting, without any `TEMPORAL_*` connection setting but `TEMPORAL_ADDRESS` and `TEMPORAL_NAMESPACE` (no profile,
 * API key, TLS file, gRPC header), and with `TEMPORAL_CONFIG_FILE=/dev/null`: no config file is read. Set the
 * address and namespace the test uses over it (`{ ...isolatedTemporalEnv(process.env), TEMPORAL_ADDRESS: … }`).
 */
export function isolatedTemporalEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const kept = Object.entries(env).filter(
    (entry): entry is [string, string] =>
      entry[1] !== undefined &&
      !isTelemetrySetting(entry[0]) &&
      (!entry[0].startsWith('TEMPORAL_') ||
        ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'].includes(entry[0]) ||
        notConnectionSettings.has(entry[0])),
  );
  return { ...Object.fromEntries(kept), TEMPORAL_CONFIG_FILE: '/dev/null' };
}
