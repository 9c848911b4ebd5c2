/**
 * `npm start` as a person runs it: it ingests the sources the sandbox serves from the sources folder, prints where
 * the Temporal UI and Postgres are, the UI answers, and Ctrl-C (SIGINT to the whole foreground process group, as a
 * terminal sends it) exits 0 and leaves no process behind.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/local/paths.ts';
import { readPasswordFile } from '../../src/local/postgres-password.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'ingest-start-'));
// As root the embedded Postgres runs as the `postgres` user, which must be able to enter the data folder.
await chmod(dataDir, 0o755);
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('npm start (the start script)', () => {
  it('is the command this test runs', async () => {
    const manifest = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts['start']).toBe('node --import tsx src/app/start.ts');
  });

  it('serves the Web UI, and Ctrl-C stops everything with exit code 0', async () => {
    const env: NodeJS.ProcessEnv = { ...isolatedTemporalEnv(process.env), INGEST_DATA_DIR: dataDir };
    delete env['TEMPORAL_ADDRESS'];
    delete env['DATABASE_URL'];
    delete env['INGEST_SOURCES_DIR'];
    delete env['INGEST_CODEC_KEYS'];
    // The `start` script of package.json, run in its own process group like a terminal's foreground job. (npm
    // itself answers a Ctrl-C with 130 whatever its script does, so the exit code asserted is the script's.)
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/start.ts'], {
      cwd: projectRoot,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    const group = child.pid ?? 0;
    try {
      await waitFor(
        () => output.includes('Press Ctrl-C to stop') || exitCode !== undefined,
        120_000,
        () => output,
      );
      expect(exitCode, output).toBeUndefined();
      expect(output).toContain(`Sources            ${join(projectRoot, 'sources')}`);
      expect(output).toContain('Payloads           not encrypted (INGEST_CODEC_KEYS is not set)');
      expect(output).toContain('Ingesting communications, messaging');
      // The sandbox suggests messaging's sms recipient: the send and its child workflow run too.
      expect(output).toMatch(/messaging\.sms: ok/);
      const ui = /Temporal UI\s+(http:\/\/\S+)/.exec(output)?.[1];
      const postgres = /Postgres\s+(postgres:\/\/\S+)/.exec(output)?.[1];
      expect(ui, output).toBeDefined();
      expect(postgres, output).toBeDefined();
      // The embedded cluster's password is in its pgpass file, never on the screen.
      expect(new URL(postgres ?? '').password, output).toBe('');
      expect(output).toContain(`PGPASSFILE='${join(dataDir, 'postgres', '.pgpass')}' psql '${postgres}'`);
      const password = await readPasswordFile(join(dataDir, 'postgres', '.pgpass'), 'ingest');
      expect(password).toMatch(/^[\w-]{32}$/);
      expect(output).not.toContain(password);
      const page = await fetch(ui ?? '');
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);

      process.kill(-group, 'SIGINT');
      expect(await exited, output).toBe(0);
      expect(output).toContain('Stopped cleanly.');
      // Nothing of the group survives: not the worker, not Temporal, not Postgres.
      await waitFor(
        () => !groupAlive(group),
        15_000,
        () => 'processes of the group are still running',
      );
      await expect(fetch(ui ?? '')).rejects.toThrow();
    } finally {
      if (groupAlive(group)) process.kill(-group, 'SIGKILL');
    }
  }, 180_000);
});

function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
