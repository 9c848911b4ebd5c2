/**
 * Structured JSON logs (pino) to stderr, and the Temporal Core runtime wired to them. One logger for the process;
 * modules take child loggers. Nothing logged may contain a secret: log ids, counts and redacted URLs only.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { pino, type Logger } from 'pino';

const level = process.env['LOG_LEVEL'] ?? 'info';

/** The process logger (JSON lines on stderr). */
export const logger: Logger = pino({ level, base: { app: 'durable-ingest' } }, pino.destination(2));

let runtimeInstalled = false;

/**
 * Installs the Temporal Core runtime once per process, logging through pino at `warn`, and WITHOUT its own signal
 * handlers: the caller owns SIGINT/SIGTERM and shuts workers down in order.
 */
export function installTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const temporalLogger = logger.child({ component: 'temporal' });
  Runtime.install({
    shutdownSignals: [],
    logger: new DefaultLogger('WARN', ({ level: entryLevel, message, meta }) => {
      const method = pinoLevel(entryLevel);
      temporalLogger[method](meta ?? {}, message);
    }),
  });
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
