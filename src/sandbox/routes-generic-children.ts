/**
 * Generic parent → child routes, for the engine's tests of resources that depend on another one (dlt `resolve`
 * and `include_from_parent`): a page-number paginated list of projects, and an offset paginated list of tasks per
 * project. Both need the generic api key in the `X-API-Key` header (401 without it); an unknown project is a 404.
 * The data is `services.projects` ({@link createProjectDataset}).
 */
import type { AuthOutcome } from './auth.ts';
import { jsonReply, type Reply } from './reply.ts';
import { badRequest, checkGenericAuth, maxPageSize, unauthorizedReply } from './routes-generic.ts';
import { authorize, intParam, type Route, type RouteContext } from './routing.ts';
import type { SandboxServices } from './services.ts';

/** The parent list: `?page=N&page_size=K` → `{data, page, page_size, total_pages, total_items}`. */
export const projectsPath = '/generic/projects';

/** The child list: `?offset=O&limit=L` → `{data, total, offset, limit}`; `{projectId}` is a project's `id`. */
export const projectTasksPath = '/generic/projects/{projectId}/tasks';

/** The URL path of the tasks of one project. */
export function tasksPathOf(projectId: number | string): string {
  return projectTasksPath.replace('{projectId}', encodeURIComponent(String(projectId)));
}

/** The two routes. */
export function genericChildRoutes(services: SandboxServices): Route[] {
  return [
    { method: 'GET', template: projectsPath, handle: (ctx) => serveProjects(services, ctx) },
    { method: 'GET', template: projectTasksPath, handle: (ctx) => serveTasks(services, ctx) },
  ];
}

/** The 401 reply when the `X-API-Key` header is missing or wrong (on the main origin), else undefined. */
function refused(services: SandboxServices, ctx: RouteContext): Reply | undefined {
  const outcome: AuthOutcome = ctx.enforceAuth
    ? checkGenericAuth(services, 'api-key-header', ctx)
    : 'not-required';
  return authorize(ctx, () => outcome) ? undefined : unauthorizedReply('api-key-header', outcome);
}

function serveProjects(services: SandboxServices, ctx: RouteContext): Reply {
  const denied = refused(services, ctx);
  if (denied !== undefined) return denied;
  const { projects, settings } = services;
  const size = intParam(ctx.url, 'page_size', settings.pageSize, 1);
  if (size === undefined || size > maxPageSize)
    return badRequest(`page_size must be an integer from 1 to ${maxPageSize}.`);
  const page = intParam(ctx.url, 'page', 1, 1);
  if (page === undefined) return badRequest('page must be an integer ≥ 1.');
  const start = Math.min((page - 1) * size, projects.count);
  return jsonReply(200, {
    data: projects.projectRange(start, start + size),
    page,
    page_size: size,
    total_pages: Math.ceil(projects.count / size),
    total_items: projects.count,
  });
}

function serveTasks(services: SandboxServices, ctx: RouteContext): Reply {
  const denied = refused(services, ctx);
  if (denied !== undefined) return denied;
  const { projects, settings } = services;
  const raw = ctx.params['projectId'] ?? '';
  const tasks = /^\d{1,15}$/.test(raw) ? projects.tasksOf(Number(raw)) : undefined;
  if (tasks === undefined) {
    return jsonReply(404, { error: 'not_found', message: `No project with id ${JSON.stringify(raw)}.` });
  }
  const limit = intParam(ctx.url, 'limit', settings.pageSize, 1);
  if (limit === undefined || limit > maxPageSize)
    return badRequest(`limit must be an integer from 1 to ${maxPageSize}.`);
  const offset = intParam(ctx.url, 'offset', 0, 0);
  if (offset === undefined) return badRequest('offset must be an integer ≥ 0.');
  return jsonReply(200, {
    data: tasks.slice(offset, offset + limit),
    total: tasks.length,
    offset,
    limit,
  });
}
