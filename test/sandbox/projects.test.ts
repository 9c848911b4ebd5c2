/** The generic parent → child routes: `/generic/projects` (page number) and `/generic/projects/{id}/tasks` (offset). */
import { describe, expect, it } from 'vitest';
import { createSandboxCommand, optionsFromFlags, type SandboxCliFlags } from '../../src/sandbox/cli.ts';
import { createProjectDataset, type Task } from '../../src/sandbox/generators-projects.ts';
import { resolveSandboxOptions } from '../../src/sandbox/options.ts';
import { genericApiKeyNames } from '../../src/sandbox/routes-generic.ts';
import { projectTasksPath, projectsPath, tasksPathOf } from '../../src/sandbox/routes-generic-children.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { asObject, fetchJson, usingSandbox, withSandbox } from './helpers.ts';

const context = withSandbox({ seed: 21, projects: 25, pageSize: 10 });

const keyHeader = (sandbox: Sandbox): Record<string, string> => ({
  [genericApiKeyNames.header]: sandbox.generic.apiKey,
});

/** Follows `/generic/projects` the way dlt's page_number paginator does (`total_path: total_pages`). */
async function walkProjects(sandbox: Sandbox, pageSize: number): Promise<{ data: unknown[]; pages: number }> {
  const data: unknown[] = [];
  let pages = 0;
  for (let page = 1; pages < 1000; page += 1) {
    const response = await fetchJson(`${sandbox.url}${projectsPath}?page=${page}&page_size=${pageSize}`, {
      headers: keyHeader(sandbox),
    });
    expect(response.status).toBe(200);
    pages += 1;
    const body = asObject(response.json);
    data.push(...(body.data as unknown[]));
    if (page >= Number(body.total_pages)) break;
  }
  return { data, pages };
}

/** Follows one project's tasks the way dlt's offset paginator does (`total_path: total`). */
async function walkTasks(sandbox: Sandbox, projectId: number, limit: number) {
  const data: unknown[] = [];
  let pages = 0;
  for (let offset = 0; pages < 1000; offset += limit) {
    const response = await fetchJson(
      `${sandbox.url}${tasksPathOf(projectId)}?offset=${offset}&limit=${limit}`,
      {
        headers: keyHeader(sandbox),
      },
    );
    expect(response.status).toBe(200);
    pages += 1;
    const body = asObject(response.json);
    expect(body).toMatchObject({ offset, limit });
    data.push(...(body.data as unknown[]));
    if (offset + limit >= Number(body.total)) break;
  }
  return { data, pages };
}

describe('generic parent → child routes', () => {
  it('pages through every project, each with an integer id distinct from its string key', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const { data, pages } = await walkProjects(sandbox, 4);
    expect(pages).toBe(7);
    expect(data).toEqual(sandbox.projects.projects());
    expect(data).toHaveLength(25);
    for (const project of sandbox.projects.projects()) {
      expect(Number.isInteger(project.id)).toBe(true);
      expect(project.key).toMatch(/^PRJ-\d+$/);
      expect(String(project.id)).not.toBe(project.key.slice(4));
      expect(typeof project.owner.name).toBe('string');
      expect(project.owner.email).toMatch(/@example\.com$/);
    }
    expect(new Set(sandbox.projects.projects().map((project) => project.key)).size).toBe(25);
    const logged = sandbox.log.entries({ route: projectsPath });
    expect(logged).toHaveLength(7);
    expect(logged.every((entry) => entry.auth === 'ok' && entry.status === 200)).toBe(true);
  });

  it('the page body has the page-number fields; a page past the end is empty', async () => {
    const { sandbox } = context;
    const first = await fetchJson(`${sandbox.url}${projectsPath}`, { headers: keyHeader(sandbox) });
    expect(asObject(first.json)).toMatchObject({ page: 1, page_size: 10, total_pages: 3, total_items: 25 });
    expect(asObject(first.json).data).toEqual(sandbox.projects.projectRange(0, 10));
    const past = await fetchJson(`${sandbox.url}${projectsPath}?page=9`, { headers: keyHeader(sandbox) });
    expect(asObject(past.json).data).toEqual([]);
  });

  it('pages through the tasks of every project; task ids are unique across projects', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const limit = 3;
    const all: Task[] = [];
    let requests = 0;
    const sizes: number[] = [];
    for (const project of sandbox.projects.projects()) {
      const { data, pages } = await walkTasks(sandbox, project.id, limit);
      expect(data).toEqual(sandbox.projects.tasksOf(project.id));
      expect(pages).toBe(Math.max(1, Math.ceil(data.length / limit)));
      requests += pages;
      sizes.push(data.length);
      all.push(...(data as Task[]));
    }
    expect(sizes.some((size) => size === 0)).toBe(true);
    expect(sizes.some((size) => size > limit)).toBe(true);
    expect(new Set(sizes).size).toBeGreaterThan(3);
    expect(all).toHaveLength(sandbox.projects.taskTotal);
    expect(new Set(all.map((task) => task.id)).size).toBe(all.length);
    for (const task of all) {
      expect(Object.keys(task).sort()).toEqual(['assignee', 'createdAt', 'done', 'id', 'priority', 'title']);
      expect(typeof task.done).toBe('boolean');
    }
    expect(sandbox.log.entries({ route: projectTasksPath })).toHaveLength(requests);
  });

  it('the tasks body has the offset fields; the default limit is the page size', async () => {
    const { sandbox } = context;
    const project = sandbox.projects.projects()[0];
    if (project === undefined) throw new Error('no project');
    const response = await fetchJson(`${sandbox.url}${tasksPathOf(project.id)}`, {
      headers: keyHeader(sandbox),
    });
    const tasks = sandbox.projects.tasksOf(project.id) ?? [];
    expect(asObject(response.json)).toEqual({
      data: tasks.slice(0, 10),
      total: tasks.length,
      offset: 0,
      limit: 10,
    });
  });

  it.each([
    ['no key', {}, 'missing'],
    ['a wrong key', { [genericApiKeyNames.header]: 'wrong' }, 'invalid'],
    ['the key under another header', { authorization: 'Bearer sandbox-generic-key' }, 'missing'],
  ] as const)('refuses %s with 401 on both routes', async (_, headers, auth) => {
    const { sandbox } = context;
    const project = sandbox.projects.projects()[0];
    for (const path of [projectsPath, tasksPathOf(project?.id ?? 0), tasksPathOf(424242)]) {
      const response = await fetchJson(`${sandbox.url}${path}`, { headers });
      expect(response.status).toBe(401);
      expect(asObject(response.json)).not.toHaveProperty('data');
      expect(asObject(response.json).error).toBeDefined();
      expect(sandbox.log.entries().at(-1)?.auth).toBe(auth);
    }
  });

  it('refuses the key in the query string', async () => {
    const { sandbox } = context;
    const response = await fetchJson(`${sandbox.url}${projectsPath}?api_key=${sandbox.generic.apiKey}`);
    expect(response.status).toBe(401);
  });

  it.each(['999999', '1000', '1001', 'PRJ-1', '-7'])(
    'answers 404 JSON for unknown project %s',
    async (id) => {
      const { sandbox } = context;
      const response = await fetchJson(`${sandbox.url}${tasksPathOf(id)}`, { headers: keyHeader(sandbox) });
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(asObject(response.json)).toMatchObject({ error: 'not_found' });
      expect(sandbox.log.entries().at(-1)?.route).toBe(projectTasksPath);
    },
  );

  it.each([
    `${projectsPath}?page=0`,
    `${projectsPath}?page_size=1001`,
    `${projectsPath}?page=x`,
    `${tasksPathOf(1007)}?offset=-1`,
    `${tasksPathOf(1007)}?limit=0`,
  ])('answers 400 to bad paging values: %s', async (path) => {
    const { sandbox } = context;
    const response = await fetchJson(`${sandbox.url}${path}`, { headers: keyHeader(sandbox) });
    expect(response.status).toBe(400);
    expect(asObject(response.json).error).toBe('invalid_request');
  });

  it('the other origin serves both routes without credentials', async () => {
    const { sandbox } = context;
    const response = await fetchJson(`${sandbox.otherOrigin.url}${tasksPathOf(1007)}?limit=100`);
    expect(response.status).toBe(200);
    expect(asObject(response.json).data).toEqual(sandbox.projects.tasksOf(1007));
  });
});

describe('project dataset', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = createProjectDataset({ seed: 21, count: 25 });
    const b = createProjectDataset({ seed: 21, count: 25 });
    const other = createProjectDataset({ seed: 22, count: 25 });
    expect(b.projects()).toEqual(a.projects());
    expect(a.projects().map((p) => b.tasksOf(p.id))).toEqual(a.projects().map((p) => a.tasksOf(p.id)));
    expect(other.projects()).not.toEqual(a.projects());
    expect(context.sandbox.projects.projects()).toEqual(a.projects());
  });

  it('a larger count keeps the first projects and their tasks', () => {
    const small = createProjectDataset({ seed: 3, count: 10 });
    const large = createProjectDataset({ seed: 3, count: 40 });
    expect(large.projectRange(0, 10)).toEqual(small.projects());
    for (const project of small.projects())
      expect(large.tasksOf(project.id)).toEqual(small.tasksOf(project.id));
  });

  it('knows ids, not keys or indexes', () => {
    const dataset = createProjectDataset({ seed: 1, count: 3 });
    const ids = dataset.projects().map((project) => project.id);
    expect(ids).toEqual([1007, 1014, 1021]);
    expect(dataset.project(1014)?.key).toBe('PRJ-2');
    expect(dataset.tasksOf(1)).toBeUndefined();
    expect(dataset.tasksOf(1028)).toBeUndefined();
    expect(dataset.taskCountOf(1007)).toBe(dataset.tasksOf(1007)?.length);
  });

  it('same seed, two sandboxes: identical bodies', async () => {
    const body = (sandbox: Sandbox, path: string) =>
      fetchJson(`${sandbox.url}${path}`, { headers: keyHeader(sandbox) }).then((response) => response.text);
    const paths = [`${projectsPath}?page=2&page_size=5`, `${tasksPathOf(1007)}?offset=2&limit=4`];
    const first = await usingSandbox({ seed: 8 }, (sandbox) =>
      Promise.all(paths.map((p) => body(sandbox, p))),
    );
    const second = await usingSandbox({ seed: 8 }, (sandbox) =>
      Promise.all(paths.map((p) => body(sandbox, p))),
    );
    expect(second).toEqual(first);
  });

  it('the `projects` option sets the count (default 25; 0 serves an empty list)', async () => {
    const defaultCount = await usingSandbox({}, (sandbox) => Promise.resolve(sandbox.projects.count));
    expect(defaultCount).toBe(25);
    await usingSandbox({ projects: 0 }, async (sandbox) => {
      const response = await fetchJson(`${sandbox.url}${projectsPath}`, { headers: keyHeader(sandbox) });
      expect(asObject(response.json)).toMatchObject({ data: [], total_pages: 0, total_items: 0 });
    });
  });
});

describe('the projects option', () => {
  it('is validated', () => {
    expect(() => resolveSandboxOptions({ projects: -1 })).toThrow(/projects/);
    expect(() => resolveSandboxOptions({ projects: 1.5 })).toThrow(/projects/);
    expect(resolveSandboxOptions({}).projects).toBe(25);
  });

  it('has a command-line flag', () => {
    const command = createSandboxCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    command.parse(['--projects', '7'], { from: 'user' });
    expect(optionsFromFlags(command.opts<SandboxCliFlags>()).projects).toBe(7);
  });
});
