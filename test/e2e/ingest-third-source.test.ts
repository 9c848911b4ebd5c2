/**
 * A third source added as one file (`fixtures/sources/projects.yaml`) lands end to end with no code change: started
 * with `temporal workflow start` (the real CLI) on a worker serving a sources directory, over the sandbox's generic
 * routes — a paginated parent, a paginated child per parent record of this run with `include_from_parent`, header
 * auth — with the child resolved in its own child workflow. Its dispositions are its own (replace, append), and a
 * worker without its credential fails only its runs, naming the variable.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '../../src/app/settings.ts';
import { resolveTemporalCli } from '../../src/local/temporal-cli.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';

const database = withDatabase();
const temporal = withTemporal();
const fixture = fileURLToPath(new URL('./fixtures/sources/projects.yaml', import.meta.url));
const shipped = fileURLToPath(new URL('../../sources/', import.meta.url));
let sandbox: Sandbox;
let sourcesDir: string;
let runs = 0;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 5, projects: 23 });
  sourcesDir = await mkdtemp(join(tmpdir(), 'ingest-sources-'));
  // The shipped seeds and the new file, side by side: the worker serves whatever the directory holds.
  for (const seed of ['communications.yaml', 'messaging.yaml'])
    await copyFile(join(shipped, seed), join(sourcesDir, seed));
  await copyFile(fixture, join(sourcesDir, 'projects.yaml'));
  // Variants of the same file with other dispositions for the child: each a source of its own.
  const text = await readFile(fixture, 'utf8');
  // The same file with its API key written inline (discouraged, warned, but supported): read when the run needs it.
  await writeFile(
    join(sourcesDir, 'projects-inline.yaml'),
    text
      .replace('name: projects', 'name: projects_inline')
      .replace('{ $env: PROJECTS_API_KEY }', JSON.stringify(sandbox.generic.apiKey)),
  );
  for (const disposition of ['replace', 'append'] as const) {
    const variant = text
      .replace('name: projects', `name: projects_${disposition}`)
      .replace(/(- name: tasks\n\s+primary_key: id\n\s+write_disposition:) merge/, `$1 ${disposition}`);
    await writeFile(join(sourcesDir, `projects-${disposition}.yaml`), variant);
  }
});
afterAll(async () => {
  await sandbox.stop();
  await rm(sourcesDir, { recursive: true, force: true });
});

/** Environment of a worker serving the directory: the projects sources pointed at the sandbox, with their keys. */
function environment(withKeys: boolean): Record<string, string> {
  const env: Record<string, string> = {
    COMMUNICATIONS_BASE_URL: sandbox.url,
    COMMUNICATIONS_API_KEY: sandbox.keys.communications,
  };
  for (const name of ['PROJECTS', 'PROJECTS_REPLACE', 'PROJECTS_APPEND', 'PROJECTS_INLINE']) {
    env[`${name}_BASE_URL`] = sandbox.url;
    if (withKeys) env[`${name}_API_KEY`] = sandbox.generic.apiKey;
  }
  return env;
}

async function withWorker<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  return temporal.withWorker(database.db, fn, { env, sourcesDir, activities: { heartbeatIntervalMs: 200 } });
}

/** Starts `ingestSource` with the Temporal CLI, as an operator would, and waits for its result. */
async function startWithCli(
  input: object,
): Promise<{ workflowId: string; report: LoadReport; failure?: ApplicationFailure }> {
  const workflowId = `third-source/${temporal.taskQueue}/${++runs}`;
  const cli = await resolveTemporalCli({
    settings: readSettings(isolatedTemporalEnv(process.env)).temporalCli,
  });
  await promisify(execFile)(
    cli.path,
    [
      'workflow',
      'start',
      '--type',
      'ingestSource',
      '--task-queue',
      temporal.taskQueue,
      '--workflow-id',
      workflowId,
      '--input',
      JSON.stringify(input),
      '--address',
      temporal.address,
      '--namespace',
      temporal.namespace,
    ],
    { env: isolatedTemporalEnv(process.env) },
  );
  try {
    const report = (await temporal.client.workflow.getHandle(workflowId).result()) as LoadReport;
    return { workflowId, report };
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    if (!(cause instanceof ApplicationFailure)) throw error;
    return { workflowId, report: cause.details?.[0] as LoadReport, failure: cause };
  }
}

const expectedTasks = () =>
  sandbox.projects
    .projects()
    .flatMap((p) => (sandbox.projects.tasksOf(p.id) ?? []).map((t) => ({ task: t, project: p })));

describe('a third source, added as one file', () => {
  it('lands its parent and its child (with the parent fields) from `temporal workflow start`', async () => {
    const { workflowId, report, failure } = await withWorker(environment(true), () =>
      startWithCli({ source: 'projects' }),
    );
    expect(failure).toBeUndefined();
    expect(report.resources.map((r) => [r.resource, r.status])).toEqual([
      ['projects', 'ok'],
      ['tasks', 'ok'],
    ]);
    const projects = await sql<{
      key: string;
      data: { id: number };
    }>`SELECT key, data FROM projects.projects ORDER BY key`.execute(database.db);
    expect(projects.rows.map((r) => r.data.id).sort()).toEqual(
      sandbox.projects
        .projects()
        .map((p) => p.id)
        .sort(),
    );

    const tasks = await sql<{ data: Record<string, unknown> }>`SELECT data FROM projects.tasks`.execute(
      database.db,
    );
    const expected = expectedTasks();
    expect(tasks.rows).toHaveLength(expected.length);
    const byId = new Map(tasks.rows.map((r) => [r.data['id'], r.data]));
    for (const { task, project } of expected) {
      expect(byId.get(task.id)).toEqual({ ...task, _projects_id: project.id, _projects_key: project.key });
    }
    // One request per project record for its first page, and more for the projects with more than 5 tasks.
    const taskPages =
      expected.length === 0
        ? 0
        : sandbox.projects
            .projects()
            .reduce((n, p) => n + Math.max(1, Math.ceil(sandbox.projects.taskCountOf(p.id) / 5)), 0);
    expect(sandbox.log.entries({ route: '/generic/projects/{projectId}/tasks' })).toHaveLength(taskPages);

    // The child ran as its own workflow, visible in the parent's history.
    const child = await temporal.client.workflow.getHandle(`${workflowId}/tasks`).describe();
    expect(child.type).toBe('resolveChildren');
    expect(child.status.name).toBe('COMPLETED');
  });

  it('gives the child its own disposition: replace keeps this run’s children, append adds them again', async () => {
    for (const disposition of ['replace', 'append'] as const) {
      const source = `projects_${disposition}`;
      await withWorker(environment(true), async () => {
        for (let i = 0; i < 2; i++) {
          const { failure } = await startWithCli({ source });
          expect(failure).toBeUndefined();
        }
      });
      const { rows } = await sql<{
        n: string;
      }>`SELECT count(*) AS n FROM ${sql.table(`${source}.tasks`)}`.execute(database.db);
      expect(Number(rows[0]?.n)).toBe(expectedTasks().length * (disposition === 'append' ? 2 : 1));
    }
  });

  it('runs with a credential written inline in its file, which never reaches the history', async () => {
    const { workflowId, failure } = await withWorker(environment(false), () =>
      startWithCli({ source: 'projects_inline' }),
    );
    expect(failure).toBeUndefined();
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM projects_inline.tasks`.execute(
      database.db,
    );
    expect(Number(rows[0]?.n)).toBe(expectedTasks().length);
    for (const id of [workflowId, `${workflowId}/tasks`]) {
      const history = JSON.stringify(await temporal.client.workflow.getHandle(id).fetchHistory());
      expect(history).not.toContain(sandbox.generic.apiKey);
      expect(history).not.toContain(Buffer.from(sandbox.generic.apiKey).toString('base64'));
    }
  });

  it('without its credential fails only its own runs, naming the variable', async () => {
    await withWorker(environment(false), async () => {
      const { failure } = await startWithCli({ source: 'projects' });
      expect(failure).toBeDefined();
      expect(failure?.nonRetryable).toBe(true);
      expect(failure?.message).toContain('PROJECTS_API_KEY');
      expect(failure?.type).toBe('SECRET_NOT_SET'); // at planning, before any resource loaded
      const other = await startWithCli({ source: 'communications', resources: ['call_queues'] });
      expect(other.failure).toBeUndefined();
      expect(other.report.outcome).toBe('ok');
    });
  });
});
