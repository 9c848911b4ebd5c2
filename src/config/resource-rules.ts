/**
 * The rules of the keys that shape how a resource runs, checked when a source is loaded (every one is knowable
 * before a request): `include_from_parent` needs a parent; `side_effects` (ours) is a request sent once per load,
 * so it has no parent and no paginator other than `single_page`; `poll` (ours) needs a parent and `merge`; a
 * paginator that writes to the JSON body (`*_body_path`) needs a POST; incremental's rules (`incremental.ts`). Also
 * the paginator a resource ends up with, and its `poll` block in the plan's units.
 */
import type { AnalysedResource } from './analyse-resource.ts';
import type { ResolvedPoll } from '../shared/plan.ts';
import { checkIncrementalRules } from './incremental.ts';
import { joinPath, type ConfigProblem } from './problems.ts';
import { paginatorBodyPaths, resolvePaginator } from './resolve-paginator.ts';
import type { PaginatorConfig, SourceConfig } from './schema.ts';
import { isSingleEntityPath } from './templates.ts';

/** `poll` defaults, in seconds. */
export const pollDefaults = { intervalSeconds: 20, runForSeconds: 300, maxAgeSeconds: 86_400 } as const;

/**
 * The paginator a resource runs with: its endpoint's (or the defaults'), else `single_page` for a single-entity
 * path, else the client's; `undefined` is dlt's auto. `location` is where it is written (null: nowhere).
 */
export function effectivePaginator(
  analysed: AnalysedResource,
  config: SourceConfig,
): { readonly paginator: PaginatorConfig | undefined; readonly location: string | null } {
  const { endpoint } = analysed.resource;
  if (endpoint.paginator !== undefined)
    return { paginator: endpoint.paginator, location: analysed.locate.endpoint('paginator') };
  if (isSingleEntityPath(endpoint.path)) return { paginator: 'single_page', location: null };
  if (config.client.paginator !== undefined)
    return { paginator: config.client.paginator, location: 'client.paginator' };
  return { paginator: undefined, location: null };
}

/** The resource's `poll` block in milliseconds, defaults filled in; null without one. */
export function pollOf(analysed: AnalysedResource): ResolvedPoll | null {
  const poll = analysed.resource.poll;
  if (poll === undefined) return null;
  const ms = (seconds: number): number => Math.round(seconds * 1000);
  return {
    field: poll.field,
    final: [...poll.final],
    intervalMs: ms(poll.interval_seconds ?? pollDefaults.intervalSeconds),
    runForMs: ms(poll.run_for_seconds ?? pollDefaults.runForSeconds),
    maxAgeMs: ms(poll.max_age_seconds ?? pollDefaults.maxAgeSeconds),
  };
}

function checkIncludeFromParent(analysed: AnalysedResource, problems: ConfigProblem[]): void {
  const { resource, locate } = analysed;
  const fields = resource.include_from_parent;
  if (fields === undefined || fields.length === 0) return;
  const at = locate.key('include_from_parent');
  if (analysed.parent === null) {
    problems.push({
      path: at,
      message: `"${resource.name}" has no parent: include_from_parent copies fields of the parent record a child's request is made for (add a resolve param, or remove it${at.startsWith('resource_defaults') ? ' from resource_defaults' : ''})`,
    });
    return;
  }
  const byName = new Map<string, string>();
  analysed.includeFromParent.forEach(({ field, as }, index) => {
    const other = byName.get(as);
    if (other !== undefined && other !== field) {
      problems.push({
        path: joinPath(at, index),
        message: `"${field}" and "${other}" would both be stored as ${as}`,
      });
    }
    byName.set(as, field);
  });
}

function checkSideEffects(analysed: AnalysedResource, config: SourceConfig, problems: ConfigProblem[]): void {
  const { resource, locate } = analysed;
  if (resource.side_effects !== true) return;
  if (analysed.parent !== null) {
    problems.push({
      path: locate.key('side_effects'),
      message: `"${resource.name}" has side effects, so it is sent once per load, not once per record of a parent: it cannot depend on the parent "${analysed.parent.name}"`,
    });
  }
  const { paginator, location } = effectivePaginator(analysed, config);
  const type = resolvePaginator(paginator).type;
  if (type === 'single_page') return;
  const why =
    location === null
      ? 'it has no paginator, so one would be detected from the response (auto)'
      : location === 'client.paginator'
        ? `it inherits the ${type} paginator of client.paginator`
        : `its paginator is ${type}`;
  problems.push({
    path: location ?? locate.endpoint('paginator'),
    message: `"${resource.name}" has side effects: its request is sent once and never paginates, but ${why}; set endpoint.paginator: single_page on "${resource.name}"`,
  });
}

function checkPoll(analysed: AnalysedResource, problems: ConfigProblem[]): void {
  const { resource, locate } = analysed;
  if (resource.poll === undefined) return;
  const at = locate.key('poll');
  if (analysed.parent === null) {
    problems.push({
      path: at,
      message: `"${resource.name}" has no parent: poll fetches a child again for each parent record until it is final (add a resolve param, or remove poll)`,
    });
  }
  if (analysed.writeDisposition === 'append') {
    problems.push({
      path: at,
      message: `poll needs write_disposition merge: with append${resource.write_disposition === undefined ? ' (the default)' : ''}, each pass would append the child again`,
    });
  } else if (analysed.writeDisposition === 'replace') {
    problems.push({
      path: at,
      message:
        'poll needs write_disposition merge: with replace, the rows of the children already final (which are not fetched again) would be deleted',
    });
  }
}

/** A paginator that puts its value in the JSON body needs a request that has one (dlt sends a GET without a body). */
function checkBodyPaths(analysed: AnalysedResource, config: SourceConfig, problems: ConfigProblem[]): void {
  const method = analysed.resource.endpoint.method ?? 'GET';
  if (method !== 'GET') return;
  const { paginator, location } = effectivePaginator(analysed, config);
  for (const [key] of paginatorBodyPaths(paginator)) {
    problems.push({
      path: joinPath(location ?? analysed.locate.endpoint('paginator'), key),
      message: `"${analysed.resource.name}" is a GET request, which has no JSON body: set method: POST on it, or send the value as a query parameter (${key.replace('_body_path', '_param')})`,
    });
  }
}

/**
 * Adds the problems of `include_from_parent`, `side_effects`, `poll`, paginator body paths and incremental loading
 * on one resource to `problems`.
 */
export function checkResourceRules(
  analysed: AnalysedResource,
  config: SourceConfig,
  problems: ConfigProblem[],
): void {
  checkIncludeFromParent(analysed, problems);
  checkSideEffects(analysed, config, problems);
  checkPoll(analysed, problems);
  checkBodyPaths(analysed, config, problems);
  checkIncrementalRules(analysed, problems);
}
