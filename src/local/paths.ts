/**
 * Where the local stack keeps its files: the project's git-ignored data folder (persistent state for `npm start`)
 * and a per-user cache outside the repository (the Temporal CLI binary, so a fresh clone never rebuilds it).
 */
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in `src/local/`). */
export const projectRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The data folder: `INGEST_DATA_DIR`, else `<project>/.data` (git-ignored). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['INGEST_DATA_DIR'] ? resolve(env['INGEST_DATA_DIR']) : join(projectRoot, '.data');
}

/** The cache folder: `INGEST_CACHE_DIR`, else `$XDG_CACHE_HOME/durable-ingest`, else `~/.cache/durable-ingest`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['INGEST_CACHE_DIR']) return resolve(env['INGEST_CACHE_DIR']);
  const base = env['XDG_CACHE_HOME'] ? resolve(env['XDG_CACHE_HOME']) : join(homedir(), '.cache');
  return join(base, 'durable-ingest');
}
