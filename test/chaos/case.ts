/**
 * One case: a full load of both sources (`communications` and `messaging`, started together as two `ingestSource`
 * runs) into a database of its own, while its disruptions land — worker SIGKILLs (a new worker process is started
 * at once), immediate Postgres stops (started again at once) and, with `storm`, the sandbox's fault storm. Each
 * disruption waits for its step of progress (`schedule.ts`) and for one more page served after the previous one,
 * so every one of them lands while work is in flight. Returns what the checks need; checking is `verify.ts`'s job.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { configEnvVar } from '../../src/config/env.ts';
import { migrateToLatest } from '../../src/db/migrations.ts';
import { createDatabase } from '../../src/db/database.ts';
import { describeError } from '../../src/errors.ts';
import { migrationsFolder } from '../../src/local/paths.ts';
import { createDatabaseIfMissing } from '../../src/local/postgres.ts';
import type { SentMessage } from '../../src/sandbox/messaging-store.ts';
import type { RequestLogEntry } from '../../src/sandbox/request-log.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import { taskQueue } from '../../src/shared/names.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import type { RunOutcome } from './checks/result.ts';
import type { RequestTally } from './progress.ts';
import { planDisruptions, type Disruption } from './schedule.ts';
import { callRecordsPerPage } from './sources.ts';
import type { ChaosStack } from './stack.ts';
import { stormRules } from './storm.ts';
import { superviseWorkers } from './worker.ts';

/** What a case throws at the runs. */
export interface CaseSpec {
  readonly name: string;
  readonly kills: number;
  readonly postgresStops: number;
  readonly storm: boolean;
}

export interface CaseSettings {
  readonly stack: ChaosStack;
  readonly seed: number;
  readonly records: number;
  /** The runs are terminated (and the case fails) after this long. */
  readonly timeoutMs: number;
  /** For lines a person follows live (`--verbose`); secrets are redacted by the caller's function. */
  readonly say: (line: string) => void;
  readonly redact: (text: string) => string;
}

/** A disruption that landed, and the step it landed at. */
export interface LandedDisruption extends Disruption {
  readonly landedAt: number;
  readonly tookMs: number;
}

/** What happened in a case. */
export interface CaseRun {
  readonly spec: CaseSpec;
  readonly databaseUrl: string;
  /** Every workflow of the case (runs and children) has an id starting with it. */
  readonly workflowPrefix: string;
  readonly runs: readonly RunOutcome[];
  readonly landed: readonly LandedDisruption[];
  /** Disruptions whose step the runs never reached. */
  readonly missed: readonly Disruption[];
  readonly unexpectedExits: readonly string[];
  /** A disruption that could not be carried out (the worker or Postgres did not come back), described. */
  readonly disruptionFailure: string | undefined;
  readonly timedOut: boolean;
  readonly tally: RequestTally;
  readonly entries: readonly RequestLogEntry[];
  /** The SMS sends the sandbox received during the case. */
  readonly sends: readonly SentMessage[];
  readonly logFiles: readonly string[];
  /** From the runs' start to their end (set-up and checks apart). */
  readonly runMs: number;
}

const sources = ['communications', 'messaging'] as const;

/** Runs one case on the stack. */
export async function runCase(spec: CaseSpec, settings: CaseSettings): Promise<CaseRun> {
  const { stack } = settings;
  const { sandbox, progress, client } = stack;
  const database = `chaos_${spec.name.replaceAll('-', '_')}`;
  await createDatabaseIfMissing(stack.postgres.url('postgres'), database);
  const databaseUrl = stack.postgres.url(database);
  const db = createDatabase(databaseUrl, { maxConnections: 1 });
  try {
    await migrateToLatest(db, { folder: migrationsFolder });
  } finally {
    await db.destroy();
  }

  sandbox.faults.clear();
  if (spec.storm) for (const rule of stormRules()) sandbox.faults.add(rule);
  sandbox.log.clear();
  progress.reset();
  const sendsBefore = sandbox.messaging.sends().length;
  // The config values the sandbox suggests, bound as `npm start` binds them (`MESSAGING_CONFIG_TO`, …): the SMS
  // is sent and its message resolved.
  const configValues = Object.entries(sandbox.configValues).flatMap(([source, values]) =>
    Object.entries(values).map(([key, value]) => [configEnvVar(source, key), value] as const),
  );
  const logDir = join(stack.dir, 'logs', spec.name);
  await mkdir(logDir, { recursive: true });
  const workers = superviseWorkers({
    bundlePath: stack.bundlePath,
    sourcesDir: stack.sourcesDir,
    logDir,
    redact: settings.redact,
    env: {
      TEMPORAL_ADDRESS: stack.temporal.address,
      TEMPORAL_NAMESPACE: stack.temporal.namespace,
      DATABASE_URL: databaseUrl,
      COMMUNICATIONS_API_KEY: sandbox.keys.communications,
      MESSAGING_API_KEY: sandbox.keys.messaging,
      COMMUNICATIONS_BASE_URL: sandbox.url,
      MESSAGING_BASE_URL: sandbox.url,
      ...Object.fromEntries(configValues),
      ...stack.codec.env,
      LOG_LEVEL: 'info',
    },
  });
  await workers.start();

  const workflowPrefix = `chaos/${spec.name}/`;
  const started = performance.now();
  const handles = await Promise.all(
    sources.map((source) =>
      client.workflow.start<typeof ingestSource>('ingestSource', {
        taskQueue,
        workflowId: `${workflowPrefix}${source}`,
        args: [{ source }],
      }),
    ),
  );
  const finished = new AbortController();
  const results = Promise.all(
    handles.map(async (handle, i) => {
      const outcome = await outcomeOf(sources[i] ?? '', handle);
      settings.say(
        `  ${spec.name}: ${outcome.source} ${outcome.report?.outcome ?? 'ended'}, ${seconds(performance.now() - started)} in`,
      );
      return outcome;
    }),
  ).finally(() => finished.abort());

  const plan = planDisruptions({
    seed: settings.seed,
    caseName: spec.name,
    kills: spec.kills,
    postgresStops: spec.postgresStops,
    callRecordPages: Math.ceil(settings.records / callRecordsPerPage),
  });
  const landed: LandedDisruption[] = [];
  const missed: Disruption[] = [];
  let disruptionFailure: string | undefined;
  const disrupting = (async () => {
    let floor = 0;
    for (const disruption of plan) {
      if (!(await progress.reach(Math.max(disruption.atStep, floor + 1), finished.signal))) {
        missed.push(disruption);
        continue;
      }
      const landedAt = progress.served;
      const t0 = performance.now();
      if (disruption.kind === 'kill') {
        await workers.kill();
        await workers.start();
      } else {
        await stack.postgres.crash();
      }
      const tookMs = performance.now() - t0;
      landed.push({ ...disruption, landedAt, tookMs });
      settings.say(
        `  ${spec.name}: ${disruption.kind} at step ${landedAt}, ${seconds(t0 - started)} in (back in ${seconds(tookMs)})`,
      );
      floor = progress.served;
    }
  })().catch(async (error: unknown) => {
    // A worker that would not start, a Postgres that would not come back: the case cannot go on.
    disruptionFailure = settings.redact(describeError(error));
    for (const handle of handles) await handle.terminate('a chaos disruption failed').catch(() => undefined);
  });

  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    results.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), settings.timeoutMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    for (const handle of handles) await handle.terminate('the chaos case timed out').catch(() => undefined);
  }
  const runs = await results;
  const runMs = performance.now() - started;
  await disrupting;
  await workers.stop();
  sandbox.faults.clear();
  await sandbox.log.settled();
  return {
    spec,
    databaseUrl,
    workflowPrefix,
    runs,
    landed,
    missed,
    unexpectedExits: workers.unexpectedExits,
    disruptionFailure,
    timedOut,
    tally: progress.tally(),
    entries: sandbox.log.entries(),
    sends: sandbox.messaging.sends().slice(sendsBefore),
    logFiles: workers.logFiles,
    runMs,
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** How a run ended: its report (the result, or the details of its typed failure) and the failure's text. */
async function outcomeOf(source: string, handle: WorkflowHandle<typeof ingestSource>): Promise<RunOutcome> {
  const base = { source, workflowId: handle.workflowId };
  try {
    return { ...base, report: await handle.result(), failure: undefined };
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    if (cause instanceof ApplicationFailure) {
      return {
        ...base,
        report: cause.details?.[0] as LoadReport | undefined,
        failure: `${cause.type ?? 'failure'}: ${cause.message}`,
      };
    }
    return { ...base, report: undefined, failure: describeError(error) };
  }
}
