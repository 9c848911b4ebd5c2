/**
 * What every `ingest` command gets: the settings (read once from the environment, as the worker reads them), where
 * it prints, whether `--verbose` was given, and the servers — connected only by the commands that need them, and
 * closed by the command that opened them. A command fails with a `CliError` (its message and exit code are what the
 * user sees) or any other error (printed without its stack unless `--verbose`).
 */
import { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { createDatabase } from '../../db/database.ts';
import type { Database } from '../../db/schema.ts';
import { IngestError } from '../../errors.ts';
import { codecDataConverter } from '../codec/data-converter.ts';
import type { Settings } from '../settings.ts';
import { connectClient } from '../temporal/connection.ts';

export interface CliContext {
  readonly settings: Settings;
  /** The sources folder: `--sources`, else `INGEST_SOURCES_DIR`, else the repository's `sources/`. */
  readonly sourcesDir: string;
  /** A line to standard output (results) and to standard error (progress, warnings). */
  readonly print: (line: string) => void;
  readonly warn: (line: string) => void;
  readonly verbose: boolean;
  /**
   * A Temporal client on `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE` (or the `TEMPORAL_PROFILE`'s), with its TLS and
   * API key; an `environment` error names what is missing.
   */
  temporal(): Promise<{ readonly client: Client; close(): Promise<void> }>;
  /** The database on `DATABASE_URL`. */
  database(): Promise<{ readonly db: Kysely<Database>; close(): Promise<void> }>;
}

/** A command's refusal: its message (no stack) and the process's exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Adds a command (and its sub-commands) to the program; `context()` is called when the command runs. */
export type RegisterCommand = (program: Command, context: () => CliContext) => void;

/** The context for the given settings and options. */
export function createCliContext(
  settings: Settings,
  options: { readonly sourcesDir: string; readonly verbose: boolean },
): CliContext {
  return {
    settings,
    sourcesDir: options.sourcesDir,
    verbose: options.verbose,
    print: (line) => process.stdout.write(`${line}\n`),
    warn: (line) => process.stderr.write(`${line}\n`),
    async temporal() {
      const { address, namespace, connection: secured } = settings.temporal;
      if (!address) {
        throw new IngestError(
          'environment',
          'TEMPORAL_ADDRESS_MISSING',
          'Set TEMPORAL_ADDRESS (host:port of the Temporal frontend), and TEMPORAL_NAMESPACE unless it is "default" ' +
            '(or TEMPORAL_PROFILE, a profile of the Temporal config file that names them).',
        );
      }
      const connection = await connectClient(
        { address, namespace, connection: secured },
        { connectTimeoutMs: 3_000 },
      );
      // With codec keys, the client encrypts run inputs and decrypts results, queries and failures.
      const dataConverter = codecDataConverter(settings.codec);
      const client = new Client({
        connection,
        namespace,
        ...(dataConverter === undefined ? {} : { dataConverter }),
      });
      return { client, close: () => connection.close() };
    },
    database() {
      if (!settings.databaseUrl) {
        return Promise.reject(
          new IngestError('environment', 'DATABASE_URL_MISSING', 'Set DATABASE_URL (postgres://…).'),
        );
      }
      const db = createDatabase(settings.databaseUrl, { maxConnections: 2 });
      return Promise.resolve({ db, close: () => db.destroy() });
    },
  };
}
