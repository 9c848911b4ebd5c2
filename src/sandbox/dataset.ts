/**
 * The deterministic dataset: record i of any resource is generated on demand from (seed, resource, i), as a JS
 * value and as the exact JSON text the sandbox serves. Tests use it to compare what reached Postgres with what was
 * served; routes use it to stream bodies of any size in constant memory.
 */
import { writeCommunicationsRecord } from './generators-communications.ts';
import { writeItem } from './generators-generic.ts';
import { writeMessagingRecord } from './generators-messaging.ts';
import { hostileKindAt, hostileRecordText, type HostileKind, type ResolvedHostile } from './hostile.ts';
import { chunksToText, recordChunks, type RecordWriter } from './json-body.ts';
import { JsonByteWriter } from './json-writer.ts';
import { createRandom, hashString, mixSeed } from './random.ts';
import {
  isCommunicationsResource,
  isMessagingResource,
  isSingleObjectResource,
  primaryKeyOf,
  sandboxResources,
  type SandboxResource,
} from './resources.ts';

/** What a dataset is made from. */
export interface DatasetSettings {
  readonly seed: number;
  readonly counts: Readonly<Record<SandboxResource, number>>;
  /** Absent: every record is clean. */
  readonly hostile?: ResolvedHostile | undefined;
  /**
   * From 2 on, every generated record has `"revision": N` (ids kept), hostile ones too (made from the revised
   * clean record): the same records, each one changed, for all-changed re-loads. Absent or 1: records as generated.
   * Appended records are as given.
   */
  readonly revision?: number | undefined;
}

/** Where a body's records sit: what comes before the first and after the last (e.g. `{"data":[` and `]}`). */
export interface BodyFrame {
  readonly prefix: string;
  readonly suffix: string;
}

/** The records of every resource, generated on demand. */
export interface Dataset {
  readonly seed: number;
  /** How many records the resource has (1 for the business-hours resources). */
  count(resource: SandboxResource): number;
  /**
   * Record `index` as a JS value: `JSON.parse` of {@link Dataset.recordText}. For hostile `big-integer` and
   * `long-decimal` records that value is lossy; compare with the text when exactness matters.
   */
  record(resource: SandboxResource, index: number): unknown;
  /** The exact JSON text of record `index`, as it appears in response bodies. */
  recordText(resource: SandboxResource, index: number): string;
  /** Records `start` (default 0) to `end` (exclusive, default the count), in order. */
  records(resource: SandboxResource, start?: number, end?: number): IterableIterator<unknown>;
  /** The exact JSON texts of records `start` to `end` (exclusive), in order. */
  recordTexts(resource: SandboxResource, start?: number, end?: number): IterableIterator<string>;
  /** The hostile variant of record `index`, or undefined when it is clean. */
  hostileKind(resource: SandboxResource, index: number): HostileKind | undefined;
  /** The exact `single_page` body of the resource (materialised: meant for small counts in tests). */
  bodyText(resource: SandboxResource): string;
  /** The `single_page` body in ≈64 KiB UTF-8 chunks, generated lazily. */
  bodyChunks(resource: SandboxResource): IterableIterator<Buffer>;
  /** Records `start` to `end` (exclusive) framed as a page body, in ≈64 KiB chunks, generated lazily. */
  pageChunks(
    resource: SandboxResource,
    start: number,
    end: number,
    frame: BodyFrame,
  ): IterableIterator<Buffer>;
}

/** The dataset as the server holds it: records can be appended (new call records, `sandbox.changes`). */
export interface MutableDataset extends Dataset {
  /** Appends records (exact JSON texts) after the generated ones; they are never hostile. */
  append(resource: SandboxResource, texts: readonly string[]): void;
  /** The generated (clean) text of record `index`, also past the configured count (for building new records). */
  generatedText(resource: SandboxResource, index: number): string;
  /** How many records were generated from the seed (the configured count, before appends). */
  generatedCount(resource: SandboxResource): number;
}

/** Builds the dataset of the given seed and counts. */
export function createDataset(settings: DatasetSettings): MutableDataset {
  const { seed, hostile } = settings;
  const generated = settings.counts;
  const appended = new Map<SandboxResource, string[]>();
  // Current counts: the generated records plus the appended ones.
  const counts: Record<SandboxResource, number> = { ...generated };
  // Per-resource constants, computed once: the salt of each record's PRNG and the base of its numeric ids.
  const salts = new Map(sandboxResources.map((resource) => [resource, hashString(resource)]));
  const idBases = new Map(
    sandboxResources.map((resource) => [
      resource,
      1_000_000_000 + (mixSeed(seed, hashString(`id:${resource}`)) % 900_000_000),
    ]),
  );

  const checkIndex = (resource: SandboxResource, index: number): void => {
    if (!Number.isSafeInteger(index) || index < 0 || index >= counts[resource]) {
      throw new RangeError(`${resource} has ${counts[resource]} records: no record ${index}`);
    }
  };

  // Every record is one JSON object, written whole: a revision replaces its closing brace.
  const revisionEnd =
    settings.revision === undefined || settings.revision <= 1
      ? undefined
      : Buffer.from(`,"revision":${settings.revision}}`);

  /** The clean record, written by its generator. */
  const writeClean = (writer: JsonByteWriter, resource: SandboxResource, index: number): void => {
    const random = createRandom(mixSeed(seed, salts.get(resource) ?? 0, index));
    const ctx = { random, index, idBase: idBases.get(resource) ?? 0 };
    if (isCommunicationsResource(resource)) writeCommunicationsRecord(writer, resource, ctx);
    else if (isMessagingResource(resource)) writeMessagingRecord(writer, resource, ctx);
    else writeItem(writer, ctx);
    if (revisionEnd !== undefined) {
      writer.position -= 1;
      writer.bytes(revisionEnd);
    }
  };

  const scratch = new JsonByteWriter(Buffer.allocUnsafeSlow(16 * 1024));
  const cleanText = (resource: SandboxResource, index: number): string => {
    scratch.position = 0;
    writeClean(scratch, resource, index);
    return scratch.buffer.toString('utf8', 0, scratch.position);
  };

  const textOf = (resource: SandboxResource, index: number): string => {
    if (index >= generated[resource]) return appended.get(resource)?.[index - generated[resource]] ?? '';
    const kind = hostileKindAt(hostile, index);
    const text = cleanText(resource, index);
    return kind === undefined
      ? text
      : hostileRecordText(JSON.parse(text) as Record<string, unknown>, kind, primaryKeyOf(resource));
  };

  const writerFor =
    (resource: SandboxResource): RecordWriter =>
    (writer, index) => {
      if (index >= generated[resource]) writer.text(textOf(resource, index));
      else if (hostileKindAt(hostile, index) === undefined) writeClean(writer, resource, index);
      else writer.text(textOf(resource, index));
    };

  const range = (resource: SandboxResource, start: number, end: number | undefined): [number, number] => {
    const stop = Math.min(end ?? counts[resource], counts[resource]);
    return [Math.max(0, start), Math.max(Math.max(0, start), stop)];
  };

  function* texts(resource: SandboxResource, start = 0, end?: number): Generator<string, void, undefined> {
    const [from, to] = range(resource, start, end);
    for (let index = from; index < to; index += 1) yield textOf(resource, index);
  }

  function* values(resource: SandboxResource, start = 0, end?: number): Generator<unknown, void, undefined> {
    for (const text of texts(resource, start, end)) yield JSON.parse(text) as unknown;
  }

  const pageChunks = (
    resource: SandboxResource,
    start: number,
    end: number,
    frame: BodyFrame,
  ): IterableIterator<Buffer> => {
    const [from, to] = range(resource, start, end);
    return recordChunks(frame.prefix, from, to, writerFor(resource), frame.suffix);
  };

  const bodyChunks = (resource: SandboxResource): IterableIterator<Buffer> =>
    isSingleObjectResource(resource)
      ? pageChunks(resource, 0, 1, { prefix: '{"data":', suffix: '}' })
      : pageChunks(resource, 0, counts[resource], { prefix: '{"data":[', suffix: ']}' });

  return {
    seed,
    count: (resource) => counts[resource],
    record: (resource, index) => {
      checkIndex(resource, index);
      return JSON.parse(textOf(resource, index)) as unknown;
    },
    recordText: (resource, index) => {
      checkIndex(resource, index);
      return textOf(resource, index);
    },
    records: values,
    recordTexts: texts,
    hostileKind: (resource, index) => {
      checkIndex(resource, index);
      return index >= generated[resource] ? undefined : hostileKindAt(hostile, index);
    },
    bodyText: (resource) => chunksToText(bodyChunks(resource)),
    bodyChunks,
    pageChunks,
    append(resource, texts) {
      const list = appended.get(resource) ?? [];
      list.push(...texts);
      appended.set(resource, list);
      counts[resource] = generated[resource] + list.length;
    },
    generatedText: (resource, index) => cleanText(resource, index),
    generatedCount: (resource) => generated[resource],
  };
}
