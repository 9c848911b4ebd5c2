/**
 * `ingest plan <source>`: what a run of the source would do, without doing any of it — per resource the request(s)
 * it makes (method and URL, credentials redacted), the paginator, the disposition, the incremental window, the
 * resources skipped and why, and the config warnings. Nothing is requested and nothing is written. The stored
 * cursor of an incremental resource is read (read-only) when DATABASE_URL is set; otherwise the window shown is
 * the first run's (`initial_value`).
 */
import { decideWindow } from '../../../activities/incremental-window.ts';
import { missingSecretVariables, resolvePlan } from '../../../activities/plan-source.ts';
import { renderRequest } from '../../../config/render.ts';
import { loadSourceByName } from '../../../config/registry.ts';
import { readCursor } from '../../../db/ledger/cursors.ts';
import { describeError } from '../../../errors.ts';
import type {
  CursorValue,
  ResolvedAuth,
  ResolvedEndpoint,
  ResolvedResource,
  ResolvedSource,
  SecretOrText,
} from '../../../shared/plan.ts';
import type { CliContext, RegisterCommand } from '../context.ts';
import { redactUrl } from '../format.ts';

export const registerPlan: RegisterCommand = (program, context) => {
  program
    .command('plan')
    .description('Show what a run of <source> would request and load, without sending a request or writing')
    .argument('<source>', 'the source name (its `name` key)')
    .option('--resources <names>', 'only these resources (comma-separated; their parents are added)', list)
    .option('--json', 'print the plan as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  ingest plan communications',
        '  ingest plan messaging --resources contacts,messages',
        '  ingest plan communications --json | jq .resources[0].requests',
        '',
        'Credentials are never shown. With DATABASE_URL set, incremental windows start from the stored cursor.',
      ].join('\n'),
    )
    .action(async (source: string, options: { resources?: string[]; json?: boolean }) => {
      const ctx = context();
      const loaded = await loadSourceByName(ctx.sourcesDir, source);
      const plan = resolvePlan(
        loaded,
        { source, ...(options.resources === undefined ? {} : { resources: options.resources }) },
        { env: ctx.settings.sourceEnv },
      );
      const cursors = await storedCursors(ctx, plan);
      const shown = describePlan(plan, ctx.settings.sourceEnv, cursors);
      if (options.json === true) ctx.print(JSON.stringify(shown, null, 2));
      else for (const line of planLines(shown)) ctx.print(line);
    });
};

/** A comma-separated list option. */
export function list(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  ];
}

/** The plan as shown: JSON-ready, secret-free. */
export interface ShownPlan {
  readonly source: string;
  readonly file: string | undefined;
  readonly baseUrl: string;
  readonly planHash: string;
  readonly credentials: { readonly variables: readonly string[]; readonly missing: readonly string[] };
  /** `database`, or why the stored cursors were not read. */
  readonly cursorsRead: string;
  readonly resources: readonly ShownResource[];
  readonly warnings: readonly { readonly path: string; readonly message: string }[];
}

export interface ShownResource {
  readonly name: string;
  readonly selection: ResolvedResource['selection'];
  readonly table: string;
  readonly writeDisposition: ResolvedResource['writeDisposition'];
  readonly primaryKey: readonly string[];
  readonly deletionDetection: boolean;
  readonly skipped: string | null;
  readonly parent: {
    readonly resource: string;
    readonly fields: readonly string[];
    readonly from: string;
  } | null;
  readonly requests: readonly { readonly method: string; readonly url: string; readonly note?: string }[];
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: string | null;
  readonly paginator: string | null;
  readonly dataSelector: string | null;
  readonly incremental: {
    readonly cursorPath: string;
    readonly start: CursorValue | null;
    readonly end: CursorValue | null;
    /** `not read`: the stored cursors were not read (see `cursorsRead`). */
    readonly storedCursor: CursorValue | null | { readonly notRead: true };
  } | null;
  readonly poll: string | null;
  readonly sideEffects: boolean;
}

type Cursors = {
  readonly read: string;
  readonly values: ReadonlyMap<string, CursorValue | null> | undefined;
};

/** The stored cursors of the plan's incremental resources, when DATABASE_URL is set (read-only). */
async function storedCursors(ctx: CliContext, plan: ResolvedSource): Promise<Cursors> {
  const incremental = plan.resources.filter((r) => r.endpoint?.incremental != null);
  if (incremental.length === 0) return { read: 'no incremental resource', values: undefined };
  if (!ctx.settings.databaseUrl) return { read: 'not read (DATABASE_URL not set)', values: undefined };
  try {
    const database = await ctx.database();
    try {
      const values = new Map<string, CursorValue | null>();
      for (const r of incremental) values.set(r.name, await readCursor(database.db, plan.source, r.name));
      return { read: 'database', values };
    } finally {
      await database.close();
    }
  } catch (error) {
    ctx.warn(
      `ingest: the stored cursors could not be read, showing first-run windows: ${describeError(error)}`,
    );
    return { read: `not read (${describeError(error).split('\n')[0] ?? ''})`, values: undefined };
  }
}

/** The plan of a source as shown by `ingest plan` (pure: no I/O). */
export function describePlan(
  plan: ResolvedSource,
  env: Readonly<Record<string, string | undefined>>,
  cursors: Cursors = { read: 'not read', values: undefined },
): ShownPlan {
  return {
    source: plan.source,
    file: undefined,
    baseUrl: redactUrl(plan.baseUrl),
    planHash: plan.hash,
    credentials: { variables: plan.secretVariables, missing: missingSecretVariables(plan, env) },
    cursorsRead: cursors.read,
    resources: plan.resources.map((resource) => describeResource(plan, resource, cursors)),
    warnings: plan.warnings,
  };
}

function describeResource(plan: ResolvedSource, resource: ResolvedResource, cursors: Cursors): ShownResource {
  const dependency = resource.dependency;
  const base = {
    name: resource.name,
    selection: resource.selection,
    table: resource.tableName,
    writeDisposition: resource.writeDisposition,
    primaryKey: resource.primaryKey,
    deletionDetection: resource.deletionDetection,
    parent:
      dependency === null
        ? null
        : {
            resource: dependency.parent,
            fields: dependency.fields,
            from:
              dependency.parentRecordsFrom === 'run'
                ? `the records ${dependency.parent} loads in this run`
                : `the ${dependency.parent} table${dependency.note === null ? '' : ` (${dependency.note})`}`,
          },
    poll:
      resource.poll === null
        ? null
        : `until ${resource.poll.field} is one of ${resource.poll.final.join(', ')}, every ${resource.poll.intervalMs / 1000} s`,
    sideEffects: !resource.repeatable,
  };
  if (resource.skip !== null) {
    return {
      ...base,
      skipped: resource.skip.reason,
      requests: [],
      headers: {},
      auth: null,
      paginator: null,
      dataSelector: null,
      incremental: null,
    };
  }
  const endpoint = resource.endpoint;
  const stored = cursors.values?.get(resource.name);
  let window: { start: CursorValue | null; end: CursorValue | null } | undefined;
  if (endpoint.incremental !== null) {
    try {
      const decided = decideWindow(endpoint.incremental, stored ?? null);
      window = { start: decided.start, end: decided.end };
    } catch {
      window = { start: endpoint.incremental.initialValue, end: endpoint.incremental.endValue };
    }
  }
  return {
    ...base,
    skipped: null,
    requests: [renderShown(plan.baseUrl, endpoint, resource, window)],
    headers: shownHeaders(endpoint),
    auth: describeAuth(endpoint.auth),
    paginator: describePaginator(endpoint.paginator),
    dataSelector: endpoint.dataSelector,
    incremental:
      endpoint.incremental === null || window === undefined
        ? null
        : {
            cursorPath: endpoint.incremental.cursorPath,
            start: window.start,
            end: window.end,
            storedCursor: cursors.values === undefined ? { notRead: true } : (stored ?? null),
          },
  };
}

/**
 * The request of an endpoint, rendered with `renderRequest`; a child's parent fields appear as `{parent.field}`
 * (rendered with stand-in values, then put back as the template), and an API key sent as a query parameter appears
 * as `name=***`.
 */
function renderShown(
  baseUrl: string,
  endpoint: ResolvedEndpoint,
  resource: ResolvedResource,
  window: { start: CursorValue | null; end: CursorValue | null } | undefined,
): { method: string; url: string; note?: string } {
  const fields = [...new Set(parentFieldsOf(endpoint))];
  const standIns = new Map(fields.map((field, i) => [field, `PARENTFIELD${i}X`]));
  const parent: Record<string, unknown> = {};
  for (const [field, standIn] of standIns) setPath(parent, field.split('.'), standIn);
  try {
    const rendered = renderRequest(baseUrl, endpoint, {
      resource: resource.name,
      ...(fields.length === 0 ? {} : { parent }),
      ...(window === undefined ? {} : { incremental: window }),
    });
    let url = rendered.url;
    const parentName = resource.dependency?.parent ?? 'parent';
    for (const [field, standIn] of standIns) url = url.split(standIn).join(`{${parentName}.${field}}`);
    const auth = endpoint.auth;
    if (auth?.type === 'api_key' && auth.location === 'query') {
      url = `${url}${url.includes('?') ? '&' : '?'}${encodeURIComponent(auth.name)}=***`;
    }
    const body = rendered.json === undefined ? {} : { note: `JSON body ${JSON.stringify(rendered.json)}` };
    return {
      method: rendered.method,
      url: redactUrl(url),
      ...body,
      ...(fields.length === 0 ? {} : { note: `one request per ${parentName} record` }),
    };
  } catch (error) {
    return { method: endpoint.method, url: '(cannot be rendered)', note: describeError(error) };
  }
}

/** Every `{parentField}` of an endpoint's path, params, headers and body. */
function parentFieldsOf(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap(parentFieldsOf);
  const record = value as Record<string, unknown>;
  if (typeof record['parentField'] === 'string') return [record['parentField']];
  return Object.values(record).flatMap(parentFieldsOf);
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const next = (target[head] ??= {}) as Record<string, unknown>;
  setPath(next, rest, value);
}

function secretText(value: SecretOrText): string {
  if (typeof value === 'string') return value;
  return '$env' in value ? `*** ($${value.$env})` : `*** (inline at ${value.$inline})`;
}

function shownHeaders(endpoint: ResolvedEndpoint): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(endpoint.headers)) {
    headers[name] =
      typeof value === 'string' ? value : 'template' in value ? '(built per request)' : secretText(value);
  }
  return headers;
}

function describeAuth(auth: ResolvedAuth | null): string | null {
  if (auth === null) return null;
  switch (auth.type) {
    case 'api_key':
      return `api_key in ${auth.location} "${auth.name}" = ${secretText(auth.apiKey)}`;
    case 'bearer':
      return `bearer token ${secretText(auth.token)}`;
    case 'http_basic':
      return `http_basic user ${typeof auth.username === 'string' ? auth.username : secretText(auth.username)}, password ***`;
    case 'oauth2_client_credentials':
      return `oauth2_client_credentials from ${redactUrl(auth.accessTokenUrl)}, client secret ***`;
  }
}

function describePaginator(paginator: ResolvedEndpoint['paginator']): string {
  const { type, ...rest } = paginator;
  const facts = Object.entries(rest)
    .filter(([, value]) => value !== null && value !== false)
    .map(([key, value]) => `${key} ${JSON.stringify(value)}`);
  return facts.length === 0 ? type : `${type} (${facts.join(', ')})`;
}

/** The plan as text. */
export function planLines(plan: ShownPlan): string[] {
  const lines = [
    `source ${plan.source}  base URL ${plan.baseUrl}  plan ${plan.planHash.slice(0, 12)}`,
    `credentials: ${plan.credentials.variables.length === 0 ? 'none' : plan.credentials.variables.join(', ')}` +
      (plan.credentials.missing.length === 0
        ? ''
        : `  — NOT SET: ${plan.credentials.missing.join(', ')} (a run fails with SECRET_NOT_SET)`),
  ];
  for (const r of plan.resources) {
    const key = r.primaryKey.length === 0 ? '' : ` on ${r.primaryKey.join(', ')}`;
    const deletion = r.deletionDetection ? ', deletion detection' : '';
    const why = r.selection === 'parent' ? ', as the parent of a selected resource' : '';
    lines.push('');
    lines.push(`${r.name}  → ${r.table}  (${r.writeDisposition}${key}${deletion}${why})`);
    if (r.skipped !== null) {
      lines.push(`  SKIPPED: ${r.skipped}`);
      continue;
    }
    for (const request of r.requests) {
      lines.push(`  ${request.method} ${request.url}`);
      if (request.note !== undefined) lines.push(`    ${request.note}`);
    }
    if (r.parent !== null)
      lines.push(
        `  parent: ${r.parent.resource} (fields ${r.parent.fields.join(', ')}), from ${r.parent.from}`,
      );
    if (r.auth !== null) lines.push(`  auth: ${r.auth}`);
    const headers = Object.entries(r.headers);
    if (headers.length > 0) lines.push(`  headers: ${headers.map(([n, v]) => `${n}: ${v}`).join('; ')}`);
    lines.push(
      `  paginator: ${r.paginator ?? 'none'}${r.dataSelector === null ? '' : `; records at ${r.dataSelector}`}`,
    );
    if (r.incremental !== null) {
      const stored =
        r.incremental.storedCursor !== null && typeof r.incremental.storedCursor === 'object'
          ? `stored cursor ${plan.cursorsRead}`
          : `stored cursor ${JSON.stringify(r.incremental.storedCursor)}`;
      lines.push(
        `  incremental on ${r.incremental.cursorPath}: from ${JSON.stringify(r.incremental.start)}` +
          `${r.incremental.end === null ? '' : ` to ${JSON.stringify(r.incremental.end)}`} (${stored})`,
      );
    }
    if (r.poll !== null) lines.push(`  poll: ${r.poll}`);
    if (r.sideEffects) lines.push('  side effects: sent at most once per load, never paginated');
  }
  if (plan.warnings.length > 0) {
    lines.push('', 'warnings:');
    for (const warning of plan.warnings) lines.push(`  ${warning.path}: ${warning.message}`);
  }
  lines.push('', 'Nothing was requested or written.');
  return lines;
}
