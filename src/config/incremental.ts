/**
 * Incremental loading on the config side: which of dlt's three forms a resource uses — `endpoint.incremental`, a
 * param `{ type: incremental }` (its name is the start param) or `{incremental.start_value}` placeholders (which need
 * one of the other two for the cursor) — the rules checked when a source is loaded, and the plan's
 * `ResolvedIncremental` with dlt's defaults (range_start `closed`, range_end `open`, on_cursor_value_missing
 * `raise`, no lag). Refused: two incremental configs on one resource, placeholders without one, and incremental on a
 * child (a cursor per parent record), with `replace` or deletion detection (a run sees only a window, so the rest of
 * the table would be emptied or marked deleted) and with `side_effects`.
 */
import type { AnalysedResource } from './analyse-resource.ts';
import { normaliseCursorPath } from './data-selector.ts';
import type { MergedResource } from './defaults.ts';
import type { ResourceLocator } from './locate.ts';
import type { ConfigProblem } from './problems.ts';
import type { IncrementalParamConfig, ParamValueConfig } from './schema.ts';
import type { ResolvedIncremental } from '../shared/plan.ts';

/** The keys both forms share (dlt's `IncrementalArgs`). */
export type IncrementalArgsConfig = Omit<IncrementalParamConfig, 'type'>;

/** `{incremental.start_value}` or `{incremental.end_value}`, where it is written. */
export interface IncrementalPlaceholder {
  readonly location: string;
  readonly source: string;
}

/** The incremental config of one resource. */
export interface AnalysedIncremental {
  readonly form: 'endpoint' | 'param';
  /** Where it is written: `…endpoint.incremental` or `…endpoint.params.<name>`. */
  readonly location: string;
  readonly args: IncrementalArgsConfig;
  readonly startParam: string | null;
  readonly endParam: string | null;
  readonly placeholders: readonly IncrementalPlaceholder[];
}

/** True for `{ type: incremental, … }`. */
export function isIncrementalParam(value: ParamValueConfig | undefined): value is IncrementalParamConfig {
  return value !== null && typeof value === 'object' && 'type' in value && value.type === 'incremental';
}

function describe(config: AnalysedIncremental): string {
  return config.form === 'endpoint'
    ? 'endpoint.incremental'
    : `the incremental param "${config.startParam ?? ''}"`;
}

/**
 * The incremental config of a resource (null without one), from its endpoint and params and the placeholders its
 * templates use; problems are added to `problems`.
 */
export function analyseIncremental(
  resource: MergedResource,
  locate: ResourceLocator,
  placeholders: readonly IncrementalPlaceholder[],
  problems: ConfigProblem[],
): AnalysedIncremental | null {
  const { endpoint } = resource;
  const found: AnalysedIncremental[] = [];
  if (endpoint.incremental !== undefined) {
    const { start_param: start, end_param: end, ...args } = endpoint.incremental;
    found.push({
      form: 'endpoint',
      location: locate.endpoint('incremental'),
      args,
      startParam: start ?? null,
      endParam: end ?? null,
      placeholders,
    });
  }
  const params = endpoint.params ?? {};
  for (const [name, value] of Object.entries(params)) {
    if (!isIncrementalParam(value)) continue;
    const { type: _type, ...args } = value;
    found.push({
      form: 'param',
      location: locate.endpointEntry('params', name),
      args,
      startParam: name,
      endParam: null,
      placeholders,
    });
  }
  const [first, ...others] = found;
  if (first === undefined) {
    for (const placeholder of placeholders) {
      problems.push({
        path: placeholder.location,
        message: `${placeholder.source} needs an incremental config: set endpoint.incremental (with cursor_path) or a param { type: incremental, cursor_path }`,
      });
    }
    return null;
  }
  for (const other of others) {
    problems.push({
      path: other.location,
      message: `"${resource.name}" already loads incrementally by ${describe(first)} (${first.location}): a resource has one cursor, so keep one of endpoint.incremental and the params with type: incremental`,
    });
  }
  checkValues(first, problems);
  for (const [key, name] of [
    ['start_param', first.startParam],
    ['end_param', first.endParam],
  ] as const) {
    if (first.form !== 'endpoint' || name === null) continue;
    const value = params[name];
    if (value !== undefined && value !== null && !isIncrementalParam(value)) {
      problems.push({
        path: first.location,
        message: `${key} "${name}" is also set in params (${locate.endpointEntry('params', name)}): the window would overwrite it; remove one`,
      });
    }
  }
  if (first.startParam !== null && first.startParam === first.endParam) {
    problems.push({
      path: first.location,
      message: 'start_param and end_param name the same query parameter',
    });
  }
  return first;
}

/** initial_value and end_value must be of one kind, and the window not empty. */
function checkValues(config: AnalysedIncremental, problems: ConfigProblem[]): void {
  const { initial_value: initial, end_value: end } = config.args;
  if (initial === undefined || initial === null || end === undefined || end === null) return;
  if (typeof initial !== typeof end) {
    problems.push({
      path: config.location,
      message: `initial_value (${JSON.stringify(initial)}) and end_value (${JSON.stringify(end)}) must both be numbers or both be text`,
    });
  } else if (typeof initial === 'number' && typeof end === 'number' && end < initial) {
    problems.push({ path: config.location, message: `end_value ${end} is before initial_value ${initial}` });
  }
}

/** Incremental combined with what it cannot run with: a parent, `replace`, deletion detection, side effects. */
export function checkIncrementalRules(analysed: AnalysedResource, problems: ConfigProblem[]): void {
  const { incremental, resource, locate } = analysed;
  if (incremental === null) return;
  const at = incremental.location;
  const name = resource.name;
  if (analysed.parent !== null) {
    problems.push({
      path: at,
      message: `"${name}" is requested per record of the parent "${analysed.parent.name}": a child's cursor per parent record is not supported; load the parent incrementally instead, or remove incremental`,
    });
  }
  if (analysed.writeDisposition === 'replace') {
    problems.push({
      path: at,
      message: `incremental loading cannot be combined with write_disposition replace (${locate.key('write_disposition')}): an incremental run sees only its window, so replace would empty the rest of the table; use merge`,
    });
  }
  if (resource.deletion_detection === true) {
    problems.push({
      path: at,
      message: `incremental loading cannot be combined with deletion detection (${locate.key('deletion_detection')}): an incremental run sees only its window, so every row outside it would be marked deleted`,
    });
  }
  if (
    analysed.writeDisposition === 'append' &&
    ((incremental.args.range_start ?? 'closed') === 'closed' || (incremental.args.lag ?? 0) > 0)
  ) {
    problems.push({
      path: at,
      message: `incremental loading with write_disposition append needs range_start: open and no lag (${locate.key('write_disposition')}): each run fetches again the records at the stored cursor${(incremental.args.lag ?? 0) > 0 ? ' and within the lag' : ''}, and append would add them again; use merge (with a primary key), or set range_start: open`,
    });
  }
  if (resource.side_effects === true) {
    problems.push({
      path: at,
      message: `"${name}" has side effects (${locate.key('side_effects')}): its request is sent once per load, so it has no cursor to advance; remove incremental`,
    });
  }
}

/** The plan's incremental config, dlt's defaults filled in; null without one. */
export function resolveIncremental(analysed: AnalysedResource): ResolvedIncremental | null {
  const incremental = analysed.incremental;
  if (incremental === null) return null;
  const { args } = incremental;
  const cursorPath = normaliseCursorPath(args.cursor_path);
  return {
    // The schema refused a cursor path that does not normalise.
    cursorPath: cursorPath.ok ? cursorPath.normalised : args.cursor_path,
    startParam: incremental.startParam,
    endParam: incremental.endParam,
    initialValue: args.initial_value ?? null,
    endValue: args.end_value ?? null,
    lag: args.lag ?? null,
    rangeStart: args.range_start ?? 'closed',
    rangeEnd: args.range_end ?? 'open',
    onCursorValueMissing: args.on_cursor_value_missing ?? 'raise',
  };
}
