/**
 * `ingest …` (bin/ingest.js, `npm run ingest -- …`): runs the program and turns what went wrong into one line on
 * standard error — `ingest: <message>`, the stack only with `--verbose` — and the exit code (a `CliError`'s, else 1).
 */
import { CommanderError } from 'commander';
import { describeError } from '../../errors.ts';
import { CliError } from './context.ts';
import { buildProgram } from './program.ts';

/** Runs `ingest` with `argv` (the arguments after the command name); its exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander printed it
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true;
    // The message only (a config error lists its problems on the lines after it); the stack with --verbose.
    process.stderr.write(`ingest: ${describeError(error)}\n`);
    if (verbose && error instanceof Error && error.stack !== undefined && !(error instanceof CliError)) {
      process.stderr.write(`${error.stack}\n`);
    }
    return error instanceof CliError ? error.exitCode : 1;
  }
}

process.exitCode = await runCli(process.argv.slice(2));
