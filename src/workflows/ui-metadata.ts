/**
 * What a run says about itself in the Temporal Web UI and CLI (user metadata): a one-line summary on every
 * activity, timer and child workflow it starts ("ingest contacts (merge)", "fetch messages: items 1–50"), static
 * details on each child workflow, and the run's current details (phase and counts, markdown) that the UI reads
 * with the `__temporal_workflow_metadata` query. Pure functions of what the workflow already holds: user metadata
 * is not matched on replay, so changing these strings never breaks a history.
 */
import type { ResolvedResource } from '../shared/plan.ts';
import type {
  FetchChildBatchResult,
  IngestOutcome,
  IngestProgress,
  ResourceCounts,
  ResourceReport,
} from '../shared/ingest-types.ts';

/** `plan messaging` or `plan messaging: contacts, phones` (the resources the run input selects). */
export function planSummary(source: string, selected: readonly string[] | undefined): string {
  return selected === undefined || selected.length === 0
    ? `plan ${source}`
    : `plan ${source}: ${selected.join(', ')}`;
}

/** `begin load of messaging: 5 resources (takes the source's lease)`. */
export function beginLoadSummary(source: string, resources: number): string {
  return `begin load of ${source}: ${plural(resources, 'resource')} (takes the source's lease)`;
}

/** `ingest contacts (merge)`, `ingest events (append, window)`, `ingest events (merge, reset)`. */
export function ingestSummary(
  resource: ResolvedResource,
  ask: { readonly window?: unknown; readonly reset?: true },
): string {
  const notes = [
    resource.writeDisposition,
    ...(ask.window === undefined ? [] : ['window']),
    ...(ask.reset === true ? ['reset'] : []),
  ];
  return `ingest ${resource.name} (${notes.join(', ')})`;
}

/** `finish load of messaging: partial (releases the lease)`. */
export function finishLoadSummary(source: string, outcome: IngestOutcome): string {
  return `finish load of ${source}: ${outcome} (releases the lease)`;
}

/** `run deadline of messaging: 2 hours`. */
export function deadlineSummary(source: string, deadline: string): string {
  return `run deadline of ${source}: ${deadline}`;
}

/**
 * The child workflow's summary: `resolve messages ← sms (poll)`, `resolve tasks ← projects (once per parent)`,
 * `… (stored parents, poll)` when the parent did not run and its table is read instead.
 */
export function resolveSummary(resource: ResolvedResource): string {
  const dependency = resource.dependency;
  const notes = [
    ...(dependency?.parentRecordsFrom === 'storage' ? ['stored parents'] : []),
    resource.poll === null ? 'once per parent' : 'poll',
  ];
  return `resolve ${resource.name} ← ${dependency?.parent ?? '?'} (${notes.join(', ')})`;
}

/** The child workflow's static details (markdown, several lines): what it fetches, how, and where it writes. */
export function resolveDetails(resource: ResolvedResource): string {
  const dependency = resource.dependency;
  const parent = dependency?.parent ?? '?';
  const fields = (dependency?.fields ?? []).map((field) => `\`${field}\``).join(', ');
  const lines = [
    `Fetches \`${resource.name}\` once per distinct ${fields || 'value'} of \`${parent}\` records, ` +
      (dependency?.parentRecordsFrom === 'storage'
        ? `read from its table (${dependency.note ?? 'the parent does not run'}).`
        : 'loaded by this run.'),
    `Writes \`${resource.tableName}\` (${resource.writeDisposition}) in one merge at the end.`,
  ];
  const poll = resource.poll;
  if (poll !== null) {
    lines.push(
      `Polls \`${poll.field}\` until ${poll.final.join(', ')}: every ${duration(poll.intervalMs)}, ` +
        `for up to ${duration(poll.runForMs)} per run; given up after ${duration(poll.maxAgeMs)}.`,
    );
  }
  return lines.join('\n');
}

/** `begin messages: build the work list from sms`. */
export function beginChildrenSummary(resource: ResolvedResource): string {
  return `begin ${resource.name}: build the work list from ${resource.dependency?.parent ?? '?'}`;
}

/** `list messages: pending items after 500 (pass 2)`. */
export function listItemsSummary(resource: ResolvedResource, after: number, pass: number): string {
  return `list ${resource.name}: pending items after ${after}${passNote(resource, pass)}`;
}

/** `fetch messages: items 1–50 (pass 2)` — the item numbers of the work list the batch holds. */
export function fetchBatchSummary(
  resource: ResolvedResource,
  items: readonly number[],
  pass: number,
): string {
  const first = items[0];
  const last = items[items.length - 1];
  const range = first === last ? `item ${first ?? '?'}` : `items ${first ?? '?'}–${last ?? '?'}`;
  return `fetch ${resource.name}: ${range}${passNote(resource, pass)}`;
}

/** `wait 20 s, then poll messages again (pass 3)`. */
export function pollWaitSummary(resource: ResolvedResource, intervalMs: number, nextPass: number): string {
  return `wait ${duration(intervalMs)}, then poll ${resource.name} again (pass ${nextPass})`;
}

/** `merge messages (merge)`. */
export function mergeChildrenSummary(resource: ResolvedResource): string {
  return `merge ${resource.name} (${resource.writeDisposition})`;
}

/** `finish messages: record the counts`. */
export function finishChildrenSummary(resource: ResolvedResource): string {
  return `finish ${resource.name}: record the counts`;
}

/**
 * The run's current details: its phase, how many resources are done, and the counts so far, e.g.
 *
 *     **loading** messaging · 3 of 5 resources done (1 skipped), 2 running
 *     120 fetched · 120 new · 0 changed · 0 unchanged · 0 rejected · 4 pages
 */
export function runDetails(
  source: string,
  phase: IngestProgress['phase'],
  reports: Iterable<ResourceReport>,
  outcome?: IngestOutcome,
): string {
  const all = [...reports];
  const count = (status: ResourceReport['status']) => all.filter((r) => r.status === status).length;
  const done = count('ok') + count('failed') + count('skipped');
  const notes = [
    ...(count('failed') > 0 ? [`${count('failed')} failed`] : []),
    ...(count('skipped') > 0 ? [`${count('skipped')} skipped`] : []),
  ];
  const head =
    `**${phase}${outcome === undefined ? '' : `: ${outcome}`}** ${source}` +
    (all.length === 0
      ? ''
      : ` · ${done} of ${plural(all.length, 'resource')} done` +
        (notes.length === 0 ? '' : ` (${notes.join(', ')})`) +
        (count('running') > 0 ? `, ${count('running')} running` : ''));
  if (done === 0) return head;
  const total = all.reduce(addCounts, {
    fetched: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    pages: 0,
  });
  return `${head}\n${countsLine(total)}`;
}

/**
 * The child workflow's current details: `**fetching** messages ← sms · pass 2 · 100 items done, 3 pending` (items
 * done over every pass; pending in the current one), then the records fetched so far or, once merged, the counts.
 */
export function resolveProgressDetails(
  resource: ResolvedResource,
  phase: 'building the work list' | 'fetching' | 'waiting to poll' | 'merging' | 'finishing' | 'done',
  pass: number,
  fetched: FetchChildBatchResult,
  pendingThisPass: number,
  counts?: ResourceCounts,
): string {
  const head =
    `**${phase}** ${resource.name} ← ${resource.dependency?.parent ?? '?'}` +
    ` · pass ${pass} · ${plural(fetched.done, 'item')} done` +
    (pendingThisPass > 0 ? `, ${pendingThisPass} pending` : '') +
    (fetched.unresolvable > 0 ? `, ${fetched.unresolvable} unresolvable` : '');
  return counts === undefined
    ? `${head}\n${fetched.fetched} fetched · ${fetched.rejected} rejected · ${fetched.pages} pages`
    : `${head}\n${countsLine(counts)}`;
}

type CountsLine = Pick<
  ResourceCounts,
  'fetched' | 'inserted' | 'updated' | 'unchanged' | 'rejected' | 'pages'
>;

function addCounts(total: CountsLine, report: ResourceReport): CountsLine {
  const c = report.counts;
  return {
    fetched: total.fetched + c.fetched,
    inserted: total.inserted + c.inserted,
    updated: total.updated + c.updated,
    unchanged: total.unchanged + c.unchanged,
    rejected: total.rejected + c.rejected,
    pages: total.pages + c.pages,
  };
}

function countsLine(c: CountsLine): string {
  return (
    `${c.fetched} fetched · ${c.inserted} new · ${c.updated} changed · ${c.unchanged} unchanged · ` +
    `${c.rejected} rejected · ${c.pages} pages`
  );
}

function passNote(resource: ResolvedResource, pass: number): string {
  return resource.poll === null ? '' : ` (pass ${pass})`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `20 s`, `5 min`, `1 h 30 min`, `1 day`. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const min = Math.round((s % 3600) / 60);
    return min === 0 ? `${h} h` : `${h} h ${min} min`;
  }
  const days = Math.round(s / 86_400);
  return plural(days, 'day');
}
