/**
 * Structured JSON logs (pino) to stderr, and the Temporal Core runtime wired to them. One logger for the process;
 * modules take child loggers. Nothing logged may contain a secret: log ids, counts and redacted URLs only.
 */
import { DefaultLogger, Runtime, type LogLevel, type TelemetryOptions } from '@temporalio/worker';
import { pino, type Logger } from 'pino';

/** The process logger (JSON lines on stderr), at `info` until an entry point sets the configured level. */
export const logger: Logger = pino({ level: 'info', base: { app: 'durable-ingest' } }, pino.destination(2));

/** Sets the level of the process logger and its children (`LOG_LEVEL`, read by the app's settings). */
export function setLogLevel(level: string): void {
  logger.level = level;
}

let runtimeInstalled = false;

/**
 * Installs the Temporal Core runtime once per process, logging through pino at `warn`, and WITHOUT its own signal
 * handlers: the caller owns SIGINT/SIGTERM and shuts workers down in order. Its telemetry (the metrics exporter) is
 * fixed for the life of the process: only the first call may give it; a later call with telemetry throws. A call
 * that throws (an exporter port already in use) installs nothing, and may be made again.
 */
export function installTemporalRuntime(telemetryOptions?: TelemetryOptions): void {
  if (runtimeInstalled) {
    if (telemetryOptions === undefined) return;
    throw new Error(
      'the Temporal runtime is installed already: its telemetry must be given by the first install',
    );
  }
  const temporalLogger = logger.child({ component: 'temporal' });
  Runtime.install({
    shutdownSignals: [],
    ...(telemetryOptions === undefined ? {} : { telemetryOptions }),
    logger: new DefaultLogger('WARN', ({ level: entryLevel, message, meta }) => {
      const method = pinoLevel(entryLevel);
      temporalLogger[method](meta ?? {}, message);
    }),
  });
  // Only once it is in: an install that failed (its exporter's port was taken) may be tried again.
  runtimeInstalled = true;
}

function pinoLevel(temporalLevel: LogLevel): 'trace' | 'debug' | 'info' | 'warn' | 'error' {
  switch (temporalLevel) {
    case 'TRACE':
      return 'trace';
    case 'DEBUG':
      return 'debug';
    case 'INFO':
      return 'info';
    case 'WARN':
      return 'warn';
    case 'ERROR':
      return 'error';
  }
}
