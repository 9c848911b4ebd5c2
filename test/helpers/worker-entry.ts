/**
 * `spawnWorkerEntry(args, env)`: the product's worker entry (`npm run worker`, `src/app/worker.ts`) in a child
 * process, with what it printed on stdout and stderr kept, for the tests that need the real process — its flags,
 * its start-up lines, its exit code, a pid of its own. (`worker-process.ts` starts the crash-test fixture instead.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot } from '../../src/local/paths.ts';

export interface WorkerEntryProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Resolves once `text` was printed; rejects when the process exits first, or after 60 s. */
  waitFor(text: string): Promise<void>;
  /** SIGTERM (unless it has exited), then its exit code and everything it printed. */
  stop(): Promise<{ code: number | null; output: string }>;
}

/**
 * Starts `node --import tsx src/app/worker.ts …args` in the repository with exactly `env`; `entry` replaces what
 * comes before `args` (e.g. the production start's flags and the built `worker.js`).
 */
export function spawnWorkerEntry(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  entry: readonly string[] = ['--import', 'tsx', 'src/app/worker.ts'],
): WorkerEntryProcess {
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const printed = new Set<() => void>();
  const read = (chunk: Buffer) => {
    output += chunk.toString();
    for (const check of printed) check();
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (value) => {
      code = value;
      resolve(value);
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          printed.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (output.includes(text)) done();
        };
        const timer = setTimeout(
          () => done(new Error(`timed out waiting for "${text}":\n${output}`)),
          60_000,
        );
        void exited.then((value) =>
          done(new Error(`the worker exited (${String(value)}) before "${text}":\n${output}`)),
        );
        printed.add(check);
        check();
      }),
    async stop() {
      if (code === undefined) child.kill('SIGTERM');
      return { code: await exited, output };
    },
  };
}
