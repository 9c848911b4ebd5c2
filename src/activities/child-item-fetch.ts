/**
 * One item of a dependent resource's work list, fetched: the item's pages requested with its parent values, staged
 * under the item's own sequence numbers (`include_from_parent` fields added to each record, and the fields of the
 * resource's own children kept), and what an earlier fetch of the item staged dropped first. Which failures belong
 * to the item alone (a 404, a parent value that cannot make its request) is decided here too.
 */
import type { Kysely } from 'kysely';
import type { ChildItem } from '../db/ledger/child-items.ts';
import { discardParentRecords, writeParentRecords } from '../db/ledger/parent-records.ts';
import type { Database } from '../db/schema.ts';
import { discardStagedRange, type Staging } from '../db/staging/registry.ts';
import { batchSeq, stageRecords } from '../db/staging/stage-records.ts';
import { maxBodyDepth } from '../db/tables/json-depth.ts';
import { IngestError, isIngestError } from '../errors.ts';
import { paginate, paginationInput } from '../http/paginate/paginate.ts';
import { pageSender, type ResourceRequester } from '../http/resource-request.ts';
import type { FetchChildBatchInput } from '../shared/ingest-types.ts';
import type { ResolvedPoll, ResolvedResource } from '../shared/plan.ts';
import { readField, recordOfFields } from '../shared/record-fields.ts';
import type { ExtractedRecord } from '../shared/records.ts';
import type { AttemptObserver } from './observe.ts';
import { parentAdditions, withParentFields } from './parent-fields.ts';

/** What one item's fetch staged. `final`: a polled child's records all reached a final value. */
export interface ItemFetch {
  readonly records: number;
  readonly rejected: number;
  readonly pages: number;
  readonly ignored: boolean;
  readonly final: boolean;
}

/** Fetches one item's pages and stages them under the item's sequence numbers. */
export async function fetchItem(
  db: Kysely<Database>,
  args: {
    readonly staging: Staging;
    readonly requester: ResourceRequester;
    readonly input: FetchChildBatchInput;
    readonly item: ChildItem;
    readonly signal: AbortSignal;
    readonly batchBytes: number | undefined;
    readonly observer: AttemptObserver;
  },
): Promise<ItemFetch> {
  const { staging, requester, input, item, signal } = args;
  const { resource } = input;
  const poll = pollOf(resource);
  const dependency = dependencyOf(input);
  const additions = parentAdditions(dependency.includeFromParent ?? [], item.fields);
  assertExact(item.fields, dependency.fields);
  const rendered = requester.render(recordOfFields(item.fields));
  let records = 0;
  let rejected = 0;
  let pages = 0;
  let part = 0;
  let ignored = false;
  let final = true;
  for await (const event of paginate(
    paginationInput(resource.name, requester.endpoint, rendered, {}),
    pageSender(requester, rendered),
    { signal, extract: { batchBytes: args.batchBytes ?? 1024 * 1024, maxDepth: maxBodyDepth } },
  )) {
    if (event.type === 'records') {
      const batch = event.batch.records.map((record) => withParentFields(record, additions));
      const seq = batchSeq(item.item, part++);
      const staged = await args.observer.stage(seq, batch.length, () =>
        stageRecords(db, staging, seq, batch),
      );
      rejected += staged.rejected;
      records += batch.length;
      if (poll !== null) final &&= batch.every((record) => isFinal(record, poll));
      if (childFieldsOf(resource).length > 0) {
        await writeParentRecords(db, {
          loadId: input.loadId,
          resource: resource.name,
          seq,
          paths: childFieldsOf(resource),
          values: batch.map((record) => record.value),
        });
      }
      continue;
    }
    pages = event.page;
    ignored = event.state.done === 'response-ignored';
  }
  return { records, rejected, pages, ignored, final: final && records > 0 };
}

/** Drops what an earlier fetch of the item staged (and kept for grandchildren), before it is fetched again. */
export async function forgetItem(
  db: Kysely<Database>,
  staging: Staging,
  input: FetchChildBatchInput,
  item: number,
): Promise<void> {
  const from = batchSeq(item, 0);
  const to = batchSeq(item + 1, 0);
  await discardStagedRange(db, staging, from, to);
  if (childFieldsOf(input.resource).length > 0) {
    await discardParentRecords(db, { loadId: input.loadId, resource: input.resource.name, from, to });
  }
}

function isFinal(record: ExtractedRecord, poll: ResolvedPoll): boolean {
  const value = readField(record.value, poll.field);
  return poll.final.some((final) => final === value);
}

export function isNotFound(error: unknown): error is Error {
  return isIngestError(error) && error.details['status'] === 404;
}

/**
 * A number beyond 2^53 has lost digits on its way here (JavaScript numbers): a request built from it would name
 * another record. Such a parent record is unresolvable, with the reason, rather than silently fetched wrong.
 */
function assertExact(fields: Readonly<Record<string, unknown>>, requestPaths: readonly string[]): void {
  for (const path of requestPaths) {
    const value = fields[path];
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw new IngestError(
        'response-shape',
        'PARENT_FIELD_IMPRECISE',
        `the parent field ${path} is an integer beyond 2^53 (${value}), which cannot be used exactly in a request`,
        { retryable: false },
      );
    }
  }
}

/** A failure that belongs to one parent record: a 404, or a parent field its request cannot use. */
export function isItemOutcome(error: unknown): error is Error {
  return isNotFound(error) || (isIngestError(error) && error.code.startsWith('PARENT_'));
}

/** `poll`, `childFields` and `includeFromParent` are absent from plans recorded before they existed. */
export function pollOf(resource: ResolvedResource): ResolvedPoll | null {
  return (resource as { poll?: ResolvedPoll | null }).poll ?? null;
}

function childFieldsOf(resource: ResolvedResource): readonly string[] {
  return (resource as { childFields?: readonly string[] }).childFields ?? [];
}

/** The child's dependency on its parent (`NOT_DEPENDENT` for a resource without one). */
export function dependencyOf(input: { readonly source: string; readonly resource: ResolvedResource }) {
  const { dependency } = input.resource;
  if (dependency === null) {
    throw new IngestError(
      'config',
      'NOT_DEPENDENT',
      `${input.source}.${input.resource.name} has no parent resource`,
      {
        retryable: false,
      },
    );
  }
  return dependency;
}
