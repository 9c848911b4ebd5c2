/**
 * `ingest schedule …` against the real dev server: a sources folder whose communications file declares a schedule;
 * `sync` creates it, `trigger` starts a run that a worker (this file's task queue) lands in Postgres, pause and
 * unpause survive a sync, removing the key and syncing deletes it, and hand-made schedules — even one with the id
 * sync wants — are never touched. With INGEST_CODEC_KEYS, sync rewrites a schedule stored in clear or under an older
 * key (what Temporal copies into each run), and list and sync report one they cannot decode and leave it alone.
 */
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, ScheduleNotFoundError, type ScheduleDescription } from '@temporalio/client';
import { sql } from 'kysely';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkDescribeScheduleResponse } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { runSchedule } from '../../src/app/cli/commands/schedule.ts';
import { CliError, type CliContext } from '../../src/app/cli/context.ts';
import { codecDataConverter } from '../../src/app/codec/data-converter.ts';
import { payloadKeys } from '../../src/app/codec/payload-key-ids.ts';
import { readSettings } from '../../src/app/settings.ts';
import { shippedSourcesDir } from '../../src/config/registry.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
const scheduleId = 'ingest/communications';
const handMadeIds = ['ingest/hand-made', 'nightly-export'];
let sandbox: Sandbox;
let sourcesDir: string;
let sourceFile: string;
let original: string;
const output: string[] = [];
// Half an hour away from now, so the schedule never fires on its own during the test (only `trigger` starts runs).
const offsetMinutes = (new Date().getUTCMinutes() + 30) % 60;
const times = offsetMinutes === 0 ? 'every 1h' : `every 1h (offset ${offsetMinutes}m)`;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 11, counts: { user_call_records: 50 } });
  sourcesDir = await mkdtemp(join(tmpdir(), 'ingest-schedule-'));
  sourceFile = join(sourcesDir, 'communications.yaml');
  original = await readFile(join(shippedSourcesDir, 'communications.yaml'), 'utf8');
  await writeFile(
    sourceFile,
    `${original}\nschedule:\n  interval: 1h\n  offset: ${offsetMinutes}m\n  resources: [call_queues]\n`,
  );
});
afterAll(async () => {
  await sandbox.stop();
  await rm(sourcesDir, { recursive: true, force: true });
  for (const id of [scheduleId, ...handMadeIds]) {
    await temporal.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  }
});

/** The INGEST_CODEC_KEYS of the CLI (`useKeys`), and its client, which encrypts with them; none: in clear. */
let codecKeys: string | undefined;
let codecClient: Client | undefined;

function useKeys(keys: string | undefined): void {
  codecKeys = keys;
  const dataConverter = codecDataConverter(readSettings({ INGEST_CODEC_KEYS: keys }).codec);
  codecClient =
    dataConverter === undefined
      ? undefined
      : new Client({ connection: temporal.client.connection, namespace: temporal.namespace, dataConverter });
}

function contextFor(client: () => Client): CliContext {
  return {
    settings: readSettings({
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      INGEST_CODEC_KEYS: codecKeys,
    }),
    sourcesDir,
    print: (line) => output.push(line),
    warn: (line) => output.push(line),
    verbose: false,
    temporal: () => Promise.resolve({ client: codecClient ?? client(), close: () => Promise.resolve() }),
    database: () => Promise.reject(new Error('the schedule commands need no database')),
  };
}

/** Runs `ingest schedule <argv>` and returns what it printed. */
async function schedule(...argv: string[]): Promise<string[]> {
  output.length = 0;
  await runSchedule(
    argv,
    contextFor(() => temporal.client),
  );
  return [...output];
}

async function failure(...argv: string[]): Promise<CliError> {
  output.length = 0;
  const error = await runSchedule(
    argv,
    contextFor(() => temporal.client),
  ).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  return error;
}

const sync = (...extra: string[]) => schedule('sync', '--task-queue', temporal.taskQueue, ...extra);

function describeSchedule(id = scheduleId): Promise<ScheduleDescription> {
  return temporal.client.schedule.getHandle(id).describe();
}

async function exists(id: string): Promise<boolean> {
  return describeSchedule(id).then(
    () => true,
    (error: unknown) => {
      if (error instanceof ScheduleNotFoundError) return false;
      throw error;
    },
  );
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function createHandMade(id: string): Promise<void> {
  await temporal.client.schedule.create({
    scheduleId: id,
    spec: { intervals: [{ every: '1d' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'ingestSource',
      taskQueue: `${temporal.taskQueue}-nobody`,
      workflowId: `${id}/run`,
      args: [{ source: 'communications' }],
    },
    state: { paused: true },
  });
}

describe('ingest schedule', () => {
  it('sync --dry-run says what it would do and changes nothing', async () => {
    for (const id of handMadeIds) await createHandMade(id);
    expect(await sync('--dry-run')).toEqual([
      `would create ${scheduleId}: ${times}; overlap skip; resources call_queues`,
      'dry run: 1 to create',
    ]);
    expect(await exists(scheduleId)).toBe(false);
  });

  it('sync creates the schedule the file declares, then finds it unchanged', async () => {
    expect(await sync()).toEqual([
      `created ${scheduleId}: ${times}; overlap skip; resources call_queues`,
      '1 created',
    ]);
    const described = await describeSchedule();
    expect(described.memo).toEqual({ managedBy: 'ingest', source: 'communications' });
    expect(described.spec.intervals).toEqual([{ every: 3_600_000, offset: offsetMinutes * 60_000 }]);
    expect(described.policies.overlap).toBe('SKIP');
    expect(described.state.paused).toBe(false);
    expect(described.action).toMatchObject({
      workflowType: 'ingestSource',
      taskQueue: temporal.taskQueue,
      workflowId: 'ingest/communications/scheduled',
      args: [{ source: 'communications', resources: ['call_queues'] }],
    });
    expect(await sync()).toEqual([`unchanged ${scheduleId}`, '1 unchanged']);
  });

  it('list and describe show it, matching its file', async () => {
    const listed = await schedule('list');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatch(/^ingest\/communications {2}source communications {2}active {2}next \d{4}-/);
    const described = await schedule('describe', 'communications');
    expect(described).toEqual(
      expect.arrayContaining([
        'schedule  ingest/communications (made by ingest schedule sync)',
        `times     ${times}`,
        'policies  overlap skip; catch-up window 365d',
        'state     active',
        `file      matches ${sourceFile}`,
      ]),
    );
  });

  it('trigger starts a run with the schedule input, and its data lands', async () => {
    const report = await temporal.withWorker(
      database.db,
      async () => {
        const before = (await describeSchedule()).info.numActionsTaken;
        const printed = await schedule('trigger', 'communications');
        expect(printed[0]).toMatch(/^triggered ingest\/communications: /);
        const started = await until('the triggered run', async () => {
          const { info } = await describeSchedule();
          return info.numActionsTaken > before ? info.recentActions.at(-1)?.action.workflow : undefined;
        });
        expect(started.workflowId).toMatch(/^ingest\/communications\/scheduled-/);
        return temporal.client.workflow
          .getHandle(started.workflowId, undefined, { firstExecutionRunId: started.firstExecutionRunId })
          .result() as Promise<LoadReport>;
      },
      {
        env: { COMMUNICATIONS_API_KEY: sandbox.keys.communications },
        baseUrls: { communications: sandbox.url },
        sourcesDir,
      },
    );
    expect(report.outcome).toBe('ok');
    expect(report.resources.map((resource) => resource.resource)).toEqual(['call_queues']);
    const { rows } = await sql<{ n: string }>`
      SELECT count(*)::text AS n FROM communications.call_queues`.execute(database.db);
    expect(Number(rows[0]?.n)).toBe([...sandbox.dataset.records('call_queues')].length);
    expect(Number(rows[0]?.n)).toBeGreaterThan(0);
  });

  it('pause survives a sync; unpause resumes; a backfill of a period with no due time starts nothing', async () => {
    expect(await schedule('pause', 'communications', '--note', 'maintenance')).toEqual([
      'paused ingest/communications (a sync keeps it paused; "ingest schedule unpause communications" resumes it)',
    ]);
    expect((await describeSchedule()).state).toMatchObject({ paused: true, note: 'maintenance' });
    expect(await sync()).toEqual([
      `unchanged ${scheduleId} (paused by hand: left paused; "ingest schedule unpause" resumes it)`,
      '1 unchanged',
    ]);
    expect((await describeSchedule()).state.paused).toBe(true);
    expect(await schedule('unpause', 'communications')).toEqual(['unpaused ingest/communications']);
    expect((await describeSchedule()).state.paused).toBe(false);

    const taken = (await describeSchedule()).info.numActionsTaken;
    // Five minutes that hold no due time (the schedule runs at minute offsetMinutes of each hour).
    const start = new Date(Date.UTC(2026, 0, 1, 0, (offsetMinutes + 10) % 60));
    const end = new Date(start.getTime() + 5 * 60_000);
    const printed = await schedule(
      'backfill',
      'communications',
      '--start',
      start.toISOString(),
      '--end',
      end.toISOString(),
    );
    expect(printed[0]).toMatch(/^backfill of ingest\/communications from 2026-01-01T00:\d\d:00.000Z/);
    expect((await describeSchedule()).info.numActionsTaken).toBe(taken);
    expect(
      (await failure('backfill', 'communications', '--start', '2026-01-02', '--end', '2026-01-01')).message,
    ).toBe('--start must be before --end');
  });

  it('an edit of the file is an update', async () => {
    await writeFile(
      sourceFile,
      `${original}\nschedule:\n  cron: "0 3 * * *"\n  timezone: Europe/Paris\n  overlap: buffer_one\n`,
    );
    expect(await sync()).toEqual([
      `updated ${scheduleId} (interval, cron, timezone, overlap, resources): cron "0 3 * * *"; in Europe/Paris; overlap buffer_one`,
      '1 updated',
    ]);
    const described = await describeSchedule();
    expect(described.spec.intervals ?? []).toEqual([]);
    expect(described.spec.calendars).toHaveLength(1);
    expect(described.spec.timezone).toBe('Europe/Paris');
    expect(described.action.args).toEqual([{ source: 'communications' }]);
    expect(await sync()).toEqual([`unchanged ${scheduleId}`, '1 unchanged']);
  });

  it('removing the key and syncing deletes the schedule; hand-made schedules are left alone', async () => {
    await writeFile(sourceFile, original);
    expect(await sync()).toEqual([
      `deleted ${scheduleId}: the source "communications" no longer declares a schedule`,
      '1 deleted',
    ]);
    expect(await exists(scheduleId)).toBe(false);
    for (const id of handMadeIds) expect(await exists(id), id).toBe(true);
    expect(await sync()).toEqual(['no schedules']);
  });

  it('never takes over a hand-made schedule with the id it wants', async () => {
    await createHandMade(scheduleId);
    await writeFile(sourceFile, `${original}\nschedule:\n  interval: 2h\n`);
    const error = await failure('sync', '--task-queue', temporal.taskQueue);
    expect(error.message).toBe('sync incomplete: 1 schedule id is taken by hand-made schedules (see above)');
    expect(output[0]).toMatch(
      /^conflict ingest\/communications: a schedule with this id exists but was not made/,
    );
    expect((await describeSchedule()).spec.intervals).toEqual([{ every: 86_400_000 }]);
    expect((await failure('delete', 'communications')).message).toMatch(
      /was not made by "ingest schedule sync"/,
    );
    await temporal.client.schedule.getHandle(scheduleId).delete();
  });

  it('an unknown schedule, and an unreachable Temporal, are errors that say so', async () => {
    expect((await failure('describe', 'communicationz')).message).toBe(
      `no schedule ingest/communicationz in Temporal: there is no source "communicationz" in ${sourcesDir}; the sources that declare a schedule are: communications`,
    );
    expect((await failure('trigger', 'nope')).message).toMatch(/^no schedule ingest\/nope in Temporal/);

    const port = await getPort();
    const unreachable: CliContext = {
      ...contextFor(() => temporal.client),
      settings: readSettings({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` }),
      async temporal() {
        const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 });
        return { client: new Client({ connection }), close: () => connection.close() };
      },
    };
    const error = await runSchedule(['list'], unreachable).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(
      new RegExp(`^cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(namespace default\\): `),
    );
  });
});

describe('ingest schedule with encrypted payloads', () => {
  const newKey = () => randomBytes(32).toString('base64');
  const [k1, k2, k3] = [newKey(), newKey(), newKey()];
  const declared = `${times}; overlap skip; resources call_queues`;
  /** The key ids of what Temporal stores for the schedule (and copies into each run), read without keys. */
  const stored = async () =>
    payloadKeys(
      await temporal.client.workflowService.describeSchedule({ namespace: temporal.namespace, scheduleId }),
      walkDescribeScheduleResponse,
    );
  afterAll(() => useKeys(undefined));

  it('sync rewrites a schedule under the encrypting key: once encryption is on, and after a rotation', async () => {
    await writeFile(
      sourceFile,
      `${original}\nschedule:\n  interval: 1h\n  offset: ${offsetMinutes}m\n  resources: [call_queues]\n`,
    );
    useKeys(undefined);
    expect(await sync()).toEqual([`created ${scheduleId}: ${declared}`, '1 created']);
    expect((await stored()).keyIds).toEqual([]);

    useKeys(`k1:${k1}`);
    expect(await sync()).toEqual([
      `recreated ${scheduleId} (encryption (in clear → key k1)): ${declared}`,
      '1 updated',
    ]);
    expect(await stored()).toEqual({ keyIds: ['k1'], clear: 0 });
    expect(await sync()).toEqual([`unchanged ${scheduleId}`, '1 unchanged']);

    // Rotation, step 2: the new key first, the old one still there.
    useKeys(`k2:${k2},k1:${k1}`);
    expect(await sync()).toEqual([
      `recreated ${scheduleId} (encryption (key k1 → key k2)): ${declared}`,
      '1 updated',
    ]);
    expect(await stored()).toEqual({ keyIds: ['k2'], clear: 0 });
    // The old key dropped: nothing stored needs it any more.
    useKeys(`k2:${k2}`);
    expect(await sync()).toEqual([`unchanged ${scheduleId}`, '1 unchanged']);
    const listed = await until('the schedule listed under k2', async () => {
      const lines = await schedule('list');
      return lines[0]?.startsWith(`${scheduleId}  source communications  active`) ? lines : undefined;
    });
    expect(listed).toHaveLength(1);
  });

  it('list, sync and describe report a schedule they cannot decode, and leave it alone', async () => {
    useKeys(`k3:${k3}`);
    const undecodable = `${scheduleId}  cannot decode (key id k2): INGEST_CODEC_KEYS lacks that key`;
    expect(await schedule('list')).toEqual([undecodable]);
    const error = await failure('sync', '--task-queue', temporal.taskQueue);
    expect(error.message).toBe(
      'sync incomplete: 1 schedule cannot be decoded with INGEST_CODEC_KEYS (see above)',
    );
    expect(output[0]).toMatch(
      /^ingest\/communications: cannot decode \(key id k2\): INGEST_CODEC_KEYS lacks that key; left as it is/,
    );
    expect(await stored()).toEqual({ keyIds: ['k2'], clear: 0 });

    useKeys(undefined);
    expect(await schedule('list')).toEqual([
      `${scheduleId}  cannot decode (key id k2): INGEST_CODEC_KEYS is not set`,
    ]);
    expect((await failure('describe', 'communications')).message).toBe(
      `${scheduleId}: cannot decode (key id k2): INGEST_CODEC_KEYS is not set`,
    );
  });
});
