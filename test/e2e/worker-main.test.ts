/**
 * `npm run worker` against the run's servers: it refuses to start without credentials (naming the variables) and
 * never falls back to the sandbox silently; with `--sandbox` it starts, and SIGTERM stops it with exit code 0.
 */
import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/local/paths.ts';
import { withDatabase } from '../helpers/database.ts';

const database = withDatabase();
const { temporalAddress, workflowBundlePath } = inject('stack');

function runWorker(args: readonly string[], env: NodeJS.ProcessEnv, until?: (output: string) => boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/worker.ts', ...args], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let signalled = false;
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (!signalled && until?.(output)) {
      signalled = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, output })),
  );
}

const baseEnv = () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress,
    DATABASE_URL: database.url,
  };
  delete env['COMMUNICATIONS_API_KEY'];
  delete env['MESSAGING_API_KEY'];
  return env;
};

describe('npm run worker', () => {
  it('refuses to start without credentials, naming each missing variable', async () => {
    const { code, output } = await runWorker([], baseEnv());
    expect(code).toBe(1);
    expect(output).toContain('refusing to start');
    expect(output).toContain('COMMUNICATIONS_API_KEY (source communications)');
    expect(output).toContain('MESSAGING_API_KEY (source messaging)');
    expect(output).not.toContain('worker started');
  }, 60_000);

  it('starts with --sandbox and a prebuilt bundle, announces it, and stops cleanly on SIGTERM', async () => {
    const { code, output } = await runWorker(
      ['--sandbox', '--workflow-bundle', workflowBundlePath],
      baseEnv(),
      (text) => text.includes('worker started'),
    );
    expect(output).toContain('using the sandbox API');
    expect(output).toContain('worker stopped');
    expect(code).toBe(0);
  }, 60_000);
});
