/**
 * Everything the chaos suite runs on, its own and nobody else's: a Temporal dev server (the pinned CLI, in memory),
 * a durable embedded Postgres in a temporary folder (`postgres.ts`), the sandbox API in this process over real HTTP
 * (seeded data, fresh random API keys, every request logged and counted), payload encryption with a fresh key
 * (`codec.ts`), the workflow bundle built once for every worker process (with the codec's failure converter), and
 * the sources folder the workers serve (`sources.ts`). Started in parallel; stopped in reverse.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflows } from '../../src/app/ingest-worker.ts';
import { readSettings } from '../../src/app/settings.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';
import { resolveTemporalCli } from '../../src/local/temporal-cli.ts';
import { startDevServer, type RunningTemporal } from '../../src/local/temporal-server.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { createChaosCodec, type ChaosCodec } from './codec.ts';
import { startChaosPostgres, type ChaosPostgres } from './postgres.ts';
import { createProgress, type Progress } from './progress.ts';
import { writeChaosSources } from './sources.ts';

export interface ChaosStack {
  /** The suite's temporary folder (Postgres cluster, worker logs, bundle, sources). */
  readonly dir: string;
  readonly temporal: RunningTemporal;
  /** The suite's client: it encodes and decodes payloads as the workers do. */
  readonly client: Client;
  /** Payload encryption, on for every worker. */
  readonly codec: ChaosCodec;
  readonly postgres: ChaosPostgres;
  readonly sandbox: Sandbox;
  /** Fed by every request the sandbox finishes. */
  readonly progress: Progress;
  readonly bundlePath: string;
  readonly sourcesDir: string;
  /** Stops everything; `keep` leaves the temporary folder (logs included) for a look. */
  stop(keep: boolean): Promise<void>;
}

export interface ChaosStackOptions {
  readonly seed: number;
  /** Call records the sandbox serves. */
  readonly records: number;
}

/** Starts the suite's stack. */
export async function startChaosStack(options: ChaosStackOptions): Promise<ChaosStack> {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-chaos-'));
  await chmod(dir, 0o755); // as root, Postgres runs as the `postgres` user, who must reach its data folder
  await mkdir(join(dir, 'logs'));
  const progress = createProgress();
  const codec = createChaosCodec();
  const stops: (() => Promise<unknown>)[] = [];
  try {
    // Its own dev server, never one a developer's TEMPORAL_* variables or config file name.
    const settings = readSettings(isolatedTemporalEnv(withoutServer(process.env)));
    // Each part registers its stop as soon as it runs, so that a failure of another stops it again.
    const started = <T extends { stop(): Promise<unknown> }>(part: T): T => {
      stops.push(() => part.stop());
      return part;
    };
    const parts = await Promise.allSettled([
      resolveTemporalCli({ settings: settings.temporalCli }).then(({ path }) =>
        startDevServer({ binary: path, ui: false }).then(started),
      ),
      startChaosPostgres(join(dir, 'postgres')).then(started),
      startSandbox({
        seed: options.seed,
        counts: { user_call_records: options.records },
        // Fresh keys for every run: a key found anywhere can only have come from this run.
        keys: {
          communications: `chaos-communications-${randomBytes(12).toString('hex')}`,
          messaging: `chaos-messaging-${randomBytes(12).toString('hex')}`,
        },
        // A message is final on its first poll: the SMS path completes without the poll's 20 s wait.
        messages: { finalAfterPolls: 0 },
        logLimit: 10_000_000,
        onRequest: (entry) => progress.record(entry),
      }).then(started),
      bundleWorkflows(codec.dataConverter).then(async ({ code }) => {
        const path = join(dir, 'workflow-bundle.js');
        await writeFile(path, code);
        return path;
      }),
      writeChaosSources(join(dir, 'sources')),
    ]);
    const failed = parts.find((part) => part.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const [temporal, postgres, sandbox, bundlePath, sourcesDir] = parts.map(
      (part) => (part as PromiseFulfilledResult<unknown>).value,
    ) as [RunningTemporal, ChaosPostgres, Sandbox, string, string];
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const client = new Client({
      connection,
      namespace: temporal.namespace,
      dataConverter: codec.dataConverter,
    });
    return {
      dir,
      temporal,
      client,
      codec,
      postgres,
      sandbox,
      progress,
      bundlePath,
      sourcesDir,
      async stop(keep) {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
        if (!keep) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `env` without a Temporal address or namespace: the suite starts and uses a dev server of its own. */
function withoutServer(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { TEMPORAL_ADDRESS: _address, TEMPORAL_NAMESPACE: _namespace, ...rest } = env;
  return rest;
}
