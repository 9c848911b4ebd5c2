/**
 * The processes `bench:e2e` runs and measures: the sandbox API and the product's worker, each a child process of its
 * own so that its memory and CPU time are its own (read from /proc, never from the benchmark's process), and the
 * sampling of a process's resident memory while a phase runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { productionWorkerArgs } from '../../scripts/build-worker.ts';
import { projectRoot } from '../../src/local/paths.ts';

/** A child process with the tail of its output (for the error that reports its early exit). */
interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  output(): string;
  /** SIGTERM, then its exit (SIGKILL after 20 s). */
  stop(): Promise<void>;
}

/** `node …args` in the repository (a TypeScript entry with `--import tsx` first, as its npm script runs it). */
function spawnChild(args: readonly string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-20_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid === undefined) throw new Error(`could not start ${args.join(' ')}`);
  return {
    process: child,
    pid: child.pid,
    output: () => tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the first output `match` finds (stdout and stderr); rejects when the process exits first. */
function waitForOutput<T>(child: Child, what: string, match: (output: string) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = match(child.output());
      if (found === undefined) return;
      cleanUp();
      resolve(found);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanUp();
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${child.output()}`));
    };
    const cleanUp = () => {
      child.process.stdout?.off('data', check);
      child.process.stderr?.off('data', check);
      child.process.off('exit', onExit);
    };
    child.process.stdout?.on('data', check);
    child.process.stderr?.on('data', check);
    child.process.once('exit', onExit);
    check();
  });
}

/** The sandbox API in a child process (`npm run sandbox`). */
export interface SandboxProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly revision: number;
  readonly keys: { readonly communications: string; readonly generic: string };
  stop(): Promise<void>;
}

/**
 * Starts the sandbox with `records` call records and no generic items (the empty resources' route), every record
 * at `revision` (`--revision`: from 2 on, every record changed), on `port` (0: a free one — a restart keeps the
 * port, so the worker's base URLs stay right).
 */
export async function startSandboxProcess(options: {
  readonly records: number;
  readonly revision: number;
  readonly port: number;
}): Promise<SandboxProcess> {
  const child = spawnChild(
    [
      '--import',
      'tsx',
      join('src', 'app', 'sandbox.ts'),
      '--port',
      String(options.port),
      '--json',
      '--quiet',
      '--count',
      `user_call_records=${options.records}`,
      '--count',
      'items=0',
      '--revision',
      String(options.revision),
    ],
    process.env,
  );
  const ready = await waitForOutput(child, 'the sandbox', (output) => {
    const line = output.split('\n').find((text) => text.startsWith('{"url"'));
    return line === undefined
      ? undefined
      : (JSON.parse(line) as {
          url: string;
          keys: { communications: string };
          generic: { apiKey: string };
        });
  });
  return {
    url: ready.url,
    port: Number(new URL(ready.url).port),
    pid: child.pid,
    revision: options.revision,
    keys: { communications: ready.keys.communications, generic: ready.generic.apiKey },
    stop: () => child.stop(),
  };
}

/** The product's worker, started as production starts it (`npm run worker:prod`), in a child process. */
export interface WorkerProcess {
  readonly pid: number;
  /** Its log lines so far (the last 20 kB). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the built worker of `buildDir` (`buildWorker(buildDir)` and its workflow bundle beside it: `openHarness`
 * builds them) with the node flags of `npm run worker:prod`, on the given servers and sources folder, and resolves
 * once it polls. `env` adds the sources' base URLs and keys. No Temporal, database, codec or telemetry setting of
 * this process's environment reaches it, nor its NODE_OPTIONS (a loader there would be measured as the worker's):
 * only the benchmark's. With `profileDir`, it runs under `--cpu-prof`: Node writes its CPU profile there when it
 * exits (on `stop`).
 */
export async function startWorkerProcess(options: {
  readonly temporalAddress: string;
  readonly namespace: string;
  readonly databaseUrl: string;
  readonly buildDir: string;
  readonly sourcesDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly profileDir?: string | undefined;
}): Promise<WorkerProcess> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(TEMPORAL_|DATABASE_|INGEST_|OTEL_)/.test(name) &&
        !name.endsWith('_API_KEY') &&
        name !== 'NODE_OPTIONS',
    ),
  );
  const child = spawnChild(
    await productionWorkerArgs({
      outdir: options.buildDir,
      nodeArgs: options.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profileDir],
      args: ['--sources', options.sourcesDir],
    }),
    {
      ...inherited,
      TEMPORAL_ADDRESS: options.temporalAddress,
      TEMPORAL_NAMESPACE: options.namespace,
      DATABASE_URL: options.databaseUrl,
      ...options.env,
    },
  );
  await waitForOutput(child, 'the worker', (output) =>
    output.includes('"worker started"') ? true : undefined,
  );
  return { pid: child.pid, output: () => child.output(), stop: () => child.stop() };
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export async function processCpuMs(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state(3) … utime(14) stime(15), numbered from the start; USER_HZ is 100 on Linux.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A process's resident memory now (`VmRSS`) and its peak since it started (`VmHWM`), in bytes. */
export async function processMemory(pid: number): Promise<{ readonly rss: number; readonly peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** The resident memory of a process, sampled while something runs. */
export interface MemorySampler {
  /** Stops sampling: the largest and the median sample, in bytes, and how many were taken. */
  stop(): Promise<{ readonly peak: number; readonly median: number; readonly samples: number }>;
}

/** Samples `VmRSS` of `pid` every `everyMs` (one read at a time) until stopped. */
export function sampleMemory(pid: number, everyMs = 100): MemorySampler {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rss } = await processMemory(pid).catch(() => ({ rss: 0 }));
      if (rss > 0) samples.push(rss);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      // One last sample: a phase shorter than the period still has one.
      const { rss } = await processMemory(pid).catch(() => ({ rss: 0 }));
      if (rss > 0) samples.push(rss);
      const sorted = [...samples].sort((a, b) => a - b);
      return {
        peak: sorted.at(-1) ?? 0,
        median: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0,
        samples: samples.length,
      };
    },
  };
}
