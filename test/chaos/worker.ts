/**
 * The worker under test: the product's own entry (`src/app/worker.ts`, what `npm run worker` runs) in a child
 * process configured only through its environment and flags, as an operator runs it — so it can be SIGKILLed like a
 * crash and started again. Each process's stdout and stderr go to a file of their own, which the secret sweep reads.
 * An exit the supervisor did not cause (a crash of the worker itself, e.g. on a lost database) is remembered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/local/paths.ts';

/** The log line the worker writes once it polls (src/app/worker.ts). */
const readyMessage = '"msg":"worker started"';

export interface WorkerSettings {
  /** The workflow bundle built once for the suite (`--workflow-bundle`). */
  readonly bundlePath: string;
  /** The sources folder (`--sources`). */
  readonly sourcesDir: string;
  /** Where each process's output file goes (`worker-<n>.log`). */
  readonly logDir: string;
  /** The worker's settings: servers, API keys, base URLs, config values. */
  readonly env: Readonly<Record<string, string>>;
  /** Applied to any output quoted in an error (the keys must not reach the console even if they leaked). */
  readonly redact: (text: string) => string;
}

export interface WorkerSupervisor {
  /** Starts a worker process; resolves once it polls. */
  start(): Promise<void>;
  /** SIGKILLs the running worker and waits for it to be gone. */
  kill(): Promise<void>;
  /** Stops the running worker gracefully (SIGTERM; SIGKILL after 30 s). */
  stop(): Promise<void>;
  /** Every output file so far. */
  readonly logFiles: readonly string[];
  /** Exits the supervisor did not cause, described (the supervisor starts another worker after each). */
  readonly unexpectedExits: readonly string[];
}

/**
 * The variables a worker must not inherit from the suite's own environment: those it reads its servers, sources,
 * credentials and trace exporter from (the suite sets the ones it needs).
 */
const inheritedSettings =
  /^(TEMPORAL_|DATABASE_|INGEST_|COMMUNICATIONS_|MESSAGING_|OTEL_)|_API_KEY$|_BASE_URL$/;

/** A supervisor for workers with these settings; no process runs until `start`. */
export function superviseWorkers(settings: WorkerSettings): WorkerSupervisor {
  const entry = join(projectRoot, 'src', 'app', 'worker.ts');
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !inheritedSettings.test(name))),
    TEMPORAL_CONFIG_FILE: '/dev/null', // no profile of a developer's config file adds TLS or a key
    ...settings.env,
  };
  const logFiles: string[] = [];
  const unexpectedExits: string[] = [];
  let current: { child: ChildProcess; exited: Promise<unknown> } | undefined;
  let expectExit = false;

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = current;
    if (running === undefined) return;
    current = undefined;
    expectExit = true;
    const escalate = setTimeout(() => running.child.kill('SIGKILL'), 30_000);
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill(signal);
    await running.exited;
    clearTimeout(escalate);
    expectExit = false;
  };

  const supervisor: WorkerSupervisor = {
    logFiles,
    unexpectedExits,
    async start() {
      if (current !== undefined) throw new Error('a worker is already running');
      const file = join(settings.logDir, `worker-${logFiles.length + 1}.log`);
      logFiles.push(file);
      const log = createWriteStream(file);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          entry,
          '--workflow-bundle',
          settings.bundlePath,
          '--sources',
          settings.sourcesDir,
        ],
        { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const closed = once(child, 'close');
      const exited = closed.then(() => new Promise((resolve) => log.end(resolve)));
      current = { child, exited };
      let head = '';
      let becameReady = false;
      const ready = new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          log.write(chunk);
          if (head.length < 256 * 1024) head += chunk.toString('utf8');
          if (!becameReady && head.includes(readyMessage)) {
            becameReady = true;
            resolve();
          }
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        void closed.then(() =>
          reject(
            new Error(
              `the worker exited (${child.exitCode ?? child.signalCode}) before it was ready:\n` +
                settings.redact(head.slice(-4000)),
            ),
          ),
        );
      });
      void closed.then(() => {
        if (current?.child === child) current = undefined;
        if (expectExit || !becameReady) return; // a start that failed: `start` rejects
        unexpectedExits.push(
          `worker-${logFiles.indexOf(file) + 1} exited on its own (${child.exitCode ?? child.signalCode})`,
        );
        // The runs must still finish for the other checks to mean anything: a new worker takes over.
        supervisor.start().catch((error: unknown) => {
          unexpectedExits.push(`and the next worker did not start: ${String(error)}`);
        });
      });
      const timeout = setTimeout(() => child.kill('SIGKILL'), 90_000);
      try {
        await ready;
      } finally {
        clearTimeout(timeout);
      }
    },
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
  return supervisor;
}
