/** Runs `npm run replay -- …` (the real entry, `node --import tsx src/app/replay.ts`) in a child process. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isolatedTemporalEnv } from './temporal-env.ts';

const entry = fileURLToPath(new URL('../../src/app/replay.ts', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The replay command's exit code and output; `env` is added to this process's environment. */
export function runReplayCli(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', entry, ...args],
      { env: { ...isolatedTemporalEnv(process.env), ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
