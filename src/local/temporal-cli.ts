/**
 * Finds (or builds, once) the Temporal CLI whose `server start-dev` runs the local Temporal server.
 *
 * Order: `TEMPORAL_CLI_PATH` → the pinned binary in the user cache → build it there with `go install` (minutes, once
 * per machine) → report that the SDK's own download is the last resort (the caller decides whether to try it).
 * A `temporal` on PATH is deliberately not used: the pinned version keeps every machine on the same server.
 */
import { spawn } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { IngestError } from '../errors.ts';

/** The Temporal CLI version we pin (the last tag that `go install` accepts). */
export const temporalCliVersion = '1.5.1';
/** Go needed by that tag's go.mod. */
const minimumGo = [1, 25] as const;

export type TemporalCliSource = 'env' | 'cache' | 'built';

export interface ResolvedTemporalCli {
  readonly path: string;
  readonly source: TemporalCliSource;
  /** Milliseconds spent building, when `source` is `built`. */
  readonly buildMs?: number;
}

/** Where the CLI comes from (the app reads these from the environment: `TEMPORAL_CLI_PATH`, `INGEST_CACHE_DIR`, `GO`). */
export interface TemporalCliSettings {
  /** A binary to use instead of the pinned, cached one. */
  readonly path?: string | undefined;
  /** The per-user cache folder the pinned binary is built into. */
  readonly cacheDir: string;
  /** The Go toolchain command. */
  readonly go: string;
}

export interface ResolveTemporalCliOptions {
  readonly settings: TemporalCliSettings;
  /** Progress lines for a person (the first build takes minutes). */
  readonly onProgress?: (line: string) => void;
}

/** The path of the pinned, cached binary (it may not exist yet). */
export function cachedTemporalCliPath(settings: TemporalCliSettings): string {
  return join(settings.cacheDir, 'temporal-cli', temporalCliVersion, 'temporal');
}

/**
 * Returns a runnable Temporal CLI, building it on first use. Throws an `environment` IngestError with the exact
 * remedy when neither a binary nor a usable Go toolchain is available.
 */
export async function resolveTemporalCli(options: ResolveTemporalCliOptions): Promise<ResolvedTemporalCli> {
  const explicit = options.settings.path;
  if (explicit) {
    if (!(await isExecutable(explicit))) {
      throw new IngestError(
        'environment',
        'TEMPORAL_CLI_NOT_EXECUTABLE',
        `TEMPORAL_CLI_PATH points at ${explicit}, which is not an executable file.`,
      );
    }
    return { path: explicit, source: 'env' };
  }
  const cached = cachedTemporalCliPath(options.settings);
  if (await isExecutable(cached)) return { path: cached, source: 'cache' };
  const started = Date.now();
  await buildTemporalCli(cached, options.settings.go, options.onProgress ?? (() => {}));
  return { path: cached, source: 'built', buildMs: Date.now() - started };
}

/** Parses `go version` output ("go version go1.26.8 linux/amd64") into [major, minor]. */
export function parseGoVersion(output: string): readonly [number, number] | undefined {
  const match = /go(\d+)\.(\d+)/.exec(output);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

async function buildTemporalCli(target: string, go: string, onProgress: (line: string) => void) {
  const goVersion = await run(go, ['version'], {}).catch(() => undefined);
  const parsed = goVersion?.code === 0 ? parseGoVersion(goVersion.output) : undefined;
  if (!parsed) {
    throw new IngestError(
      'environment',
      'TEMPORAL_CLI_UNAVAILABLE',
      [
        'No Temporal server is available and none can be built here.',
        `Install Go ${minimumGo.join('.')} or newer (https://go.dev/dl/) and run again — durable-ingest then builds`,
        `the Temporal CLI ${temporalCliVersion} once into ${target} — or set TEMPORAL_CLI_PATH to a temporal binary,`,
        'or TEMPORAL_ADDRESS to a running Temporal server.',
      ].join('\n'),
    );
  }
  if (parsed[0] < minimumGo[0] || (parsed[0] === minimumGo[0] && parsed[1] < minimumGo[1])) {
    throw new IngestError(
      'environment',
      'GO_TOO_OLD',
      `Building the Temporal CLI ${temporalCliVersion} needs Go ${minimumGo.join('.')} or newer; found ${parsed.join('.')}. ` +
        'Upgrade Go, or set TEMPORAL_CLI_PATH / TEMPORAL_ADDRESS.',
    );
  }

  const dir = join(target, '..');
  await mkdir(dir, { recursive: true });
  // Build into a private folder and rename: a build that is interrupted, or runs twice at once, never leaves a
  // half-written binary at the pinned path.
  const gobin = await mkdtemp(join(dir, 'build-'));
  onProgress(
    `Building the Temporal CLI ${temporalCliVersion} with Go ${parsed.join('.')} (first run on this machine only; ` +
      'this takes a few minutes)…',
  );
  const ticker = setInterval(() => onProgress('  …still building the Temporal CLI'), 30_000);
  try {
    const result = await run(
      go,
      [
        'install',
        '-trimpath',
        `-ldflags=-s -w -X github.com/temporalio/cli/temporalcli.Version=${temporalCliVersion}`,
        `github.com/temporalio/cli/cmd/temporal@v${temporalCliVersion}`,
      ],
      { GOBIN: gobin, CGO_ENABLED: '0' },
      (line) => {
        if (/^go: downloading /.test(line)) return;
        onProgress(`  go: ${line}`);
      },
    );
    if (result.code !== 0) {
      throw new IngestError(
        'environment',
        'TEMPORAL_CLI_BUILD_FAILED',
        `Building the Temporal CLI failed (go install exited ${result.code}). Last output:\n${tail(result.output, 2000)}\n` +
          'Set TEMPORAL_CLI_PATH to a temporal binary, or TEMPORAL_ADDRESS to a running server, to skip the build.',
      );
    }
    const built = join(gobin, 'temporal');
    await chmod(built, 0o755);
    await rename(built, target);
    onProgress(`Temporal CLI ${temporalCliVersion} is ready at ${target}.`);
  } finally {
    clearInterval(ticker);
    await rm(gobin, { recursive: true, force: true });
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}

interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

function run(
  command: string,
  args: readonly string[],
  extraEnv: Readonly<Record<string, string>>,
  onLine?: (line: string) => void,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // The child inherits this process's environment (PATH, HOME, GOPATH, proxies), plus what the build sets.
    const child = spawn(command, args, {
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let pending = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-64_000);
      if (!onLine) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
