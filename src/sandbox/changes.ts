/**
 * Data that changes between runs, for incremental loading tests: a sandbox clock that only moves forward, the
 * mutable records of `GET /generic/changes` (`{id, name, status, createdAt, updatedAt, version}`), and new call
 * records appended to `user_call_records`. Everything is deterministic: the same seed and the same calls give the
 * same records and timestamps, whatever the wall clock says.
 */
import type { MutableDataset } from './dataset.ts';
import { createRandom, hashString, intBetween, mixSeed, pick } from './random.ts';

/** A record of `/generic/changes`. */
export interface ChangeRecord {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

/** What one {@link ChangesState.mutate} did. */
export interface MutationResult {
  /** The changed records, as served now (new `updatedAt`, `version` + 1), in the order they were stamped. */
  readonly changed: readonly ChangeRecord[];
  /** The new records, in the order they were stamped (changes first, then additions). */
  readonly added: readonly ChangeRecord[];
  /** The first and last timestamp given out (undefined when nothing was touched). */
  readonly from: string | undefined;
  readonly to: string | undefined;
}

export interface MutateOptions {
  /** New records to add (ids continue after the largest). Default 0. */
  readonly add?: number;
  /** Existing records to change: how many (picked by the seeded PRNG) or which ids. Default none. */
  readonly change?: number | readonly number[];
  /**
   * The timestamp of the first touched record (ISO 8601 or epoch ms); it must be later than every timestamp given
   * out so far. Default: the clock's last timestamp + 1 s. Each following record gets 1 s more.
   */
  readonly at?: string | number;
}

/** The clock every mutation reads: strictly increasing, starts at 2025-01-01T00:00:00.000Z (after all seed data). */
export interface SandboxClock {
  /** The last timestamp given out (ISO 8601). */
  now(): string;
  nowMs(): number;
  /** Moves the clock forward by `ms` (> 0) without stamping anything; returns the new time. */
  advance(ms: number): string;
}

/** The test-facing side of the changing data (`sandbox.changes`). */
export interface ChangesState {
  readonly clock: SandboxClock;
  /** Every record of `/generic/changes` as served now, sorted by (updatedAt, id). */
  records(): readonly ChangeRecord[];
  /** The records with `since ≤ updatedAt < before` (either bound optional), sorted by (updatedAt, id). */
  window(since?: string, before?: string): readonly ChangeRecord[];
  /** Changes then adds records, each stamped with the next clock tick. */
  mutate(options: MutateOptions): MutationResult;
  /** How many mutations ran. */
  readonly mutationCount: number;
}

export const clockStartMs = Date.UTC(2025, 0, 1);

/** Timestamps of the initial records: 2024-06-01T00:00Z + ⌊i / 2⌋ minutes (pairs share a timestamp). */
const initialStartMs = Date.UTC(2024, 5, 1);

const adjectives = ['Quiet', 'Bright', 'Rapid', 'Çalm', 'Ünique', 'Silent', '静か', 'Bold'] as const;
const nouns = ['Falcon', 'River', 'Harbor', 'Comet', 'Maple', 'Canyon', 'Отряд', 'Lantern'] as const;
const statuses = ['draft', 'active', 'paused', 'archived'] as const;

/** Parses an ISO 8601 timestamp (or epoch ms); undefined when it is not one. */
export function parseTimestamp(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Orders records by (updatedAt, id). */
export function compareChanges(a: ChangeRecord, b: ChangeRecord): number {
  return a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : a.id - b.id;
}

export function createClock(): SandboxClock & { tick(at?: string | number): number } {
  let last = clockStartMs;
  return {
    now: () => new Date(last).toISOString(),
    nowMs: () => last,
    advance(ms) {
      if (!Number.isSafeInteger(ms) || ms <= 0)
        throw new RangeError('advance(ms): ms must be an integer > 0');
      last += ms;
      return new Date(last).toISOString();
    },
    /** The next timestamp: `at` (must be later than the last) or the last + 1 s. */
    tick(at) {
      if (at === undefined) {
        last += 1000;
        return last;
      }
      const ms = parseTimestamp(at);
      if (ms === undefined) throw new RangeError(`at: ${JSON.stringify(at)} is not an ISO 8601 timestamp`);
      if (ms <= last) {
        throw new RangeError(
          `at: ${new Date(ms).toISOString()} is not later than the clock (${new Date(last).toISOString()})`,
        );
      }
      last = ms;
      return last;
    },
  };
}

/** The initial records and the mutations of `/generic/changes`. */
export function createChanges(
  seed: number,
  initialCount: number,
  clock: ReturnType<typeof createClock>,
): ChangesState {
  const salt = hashString('generic-changes');
  const nameOf = (id: number): string => {
    const random = createRandom(mixSeed(seed, salt, id));
    return `${pick(random, adjectives)} ${pick(random, nouns)} ${id}`;
  };
  const statusOf = (id: number, version: number): string =>
    pick(createRandom(mixSeed(seed, salt, id, version)), statuses);
  const byId = new Map<number, ChangeRecord>();
  for (let i = 0; i < initialCount; i += 1) {
    const id = i + 1;
    const at = new Date(initialStartMs + Math.floor(i / 2) * 60_000).toISOString();
    byId.set(id, { id, name: nameOf(id), status: statusOf(id, 1), createdAt: at, updatedAt: at, version: 1 });
  }
  let sorted: ChangeRecord[] | undefined;
  let maxId = initialCount;
  let mutations = 0;
  const all = (): ChangeRecord[] => (sorted ??= [...byId.values()].sort(compareChanges));

  return {
    clock,
    records: () => all(),
    window(since, before) {
      const from = since === undefined ? undefined : parseTimestamp(since);
      const to = before === undefined ? undefined : parseTimestamp(before);
      if (since !== undefined && from === undefined)
        throw new RangeError(`since: ${since} is not an ISO 8601 timestamp`);
      if (before !== undefined && to === undefined)
        throw new RangeError(`before: ${before} is not an ISO 8601 timestamp`);
      return all().filter((record) => inWindow(Date.parse(record.updatedAt), from, to));
    },
    get mutationCount() {
      return mutations;
    },
    mutate(options) {
      const add = options.add ?? 0;
      if (!Number.isSafeInteger(add) || add < 0) throw new RangeError('add must be an integer ≥ 0');
      if (options.at !== undefined) {
        const ms = parseTimestamp(options.at);
        if (ms === undefined)
          throw new RangeError(`at: ${JSON.stringify(options.at)} is not an ISO 8601 timestamp`);
        if (ms <= clock.nowMs())
          throw new RangeError(
            `at: ${new Date(ms).toISOString()} is not later than the clock (${clock.now()})`,
          );
      }
      let ids: number[];
      if (typeof options.change === 'number' || options.change === undefined) {
        const count = options.change ?? 0;
        if (!Number.isSafeInteger(count) || count < 0 || count > byId.size)
          throw new RangeError(`change must be an integer from 0 to ${byId.size}`);
        // A seeded partial shuffle of the existing ids, then id order.
        const pool = [...byId.keys()].sort((a, b) => a - b);
        const random = createRandom(mixSeed(seed, salt, 0x6d757461, mutations + 1));
        for (let i = 0; i < count; i += 1) {
          const j = intBetween(random, i, pool.length - 1);
          [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
        }
        ids = pool.slice(0, count).sort((a, b) => a - b);
      } else {
        ids = [...new Set(options.change)];
        for (const id of ids) if (!byId.has(id)) throw new RangeError(`change: no record with id ${id}`);
      }
      mutations += 1;
      let at = options.at;
      const stamp = (): string => {
        const ms = clock.tick(at);
        at = undefined;
        return new Date(ms).toISOString();
      };
      const changed: ChangeRecord[] = [];
      for (const id of ids) {
        const old = byId.get(id) as ChangeRecord;
        const version = old.version + 1;
        const record = { ...old, status: statusOf(id, version), updatedAt: stamp(), version };
        byId.set(id, record);
        changed.push(record);
      }
      const added: ChangeRecord[] = [];
      for (let i = 0; i < add; i += 1) {
        maxId += 1;
        const updatedAt = stamp();
        const record = {
          id: maxId,
          name: nameOf(maxId),
          status: statusOf(maxId, 1),
          createdAt: updatedAt,
          updatedAt,
          version: 1,
        };
        byId.set(maxId, record);
        added.push(record);
      }
      sorted = undefined;
      const touched = [...changed, ...added];
      return { changed, added, from: touched[0]?.updatedAt, to: touched.at(-1)?.updatedAt };
    },
  };
}

/** `since ≤ ms < before`, either bound optional. */
export function inWindow(ms: number, since: number | undefined, before: number | undefined): boolean {
  return (since === undefined || ms >= since) && (before === undefined || ms < before);
}

/** The test-facing side of new call records (`sandbox.callLog`). */
export interface CallLogState {
  /**
   * Appends `count` new call records to `user_call_records` (ids continue the resource's), each with a `startTime`
   * of the next clock tick (`at` = the first one's, as in {@link MutateOptions.at}). Returns them as served.
   */
  add(count: number, options?: { readonly at?: string | number }): readonly unknown[];
  /** The indexes of the records with `dateFrom ≤ startTime < dateTo` (either bound optional), in served order. */
  indexesIn(dateFrom?: number, dateTo?: number): number[];
  /** The records with `dateFrom ≤ startTime < dateTo` (ISO 8601, either optional), in served order. */
  window(dateFrom?: string, dateTo?: string): unknown[];
}

const startTimePattern = /"startTime":"([^"]*)"/;

/** `startTime` of a call record's text, in ms (NaN when missing or malformed). */
export function startTimeOf(text: string): number {
  const found = startTimePattern.exec(text);
  return found === null ? Number.NaN : Date.parse(found[1] as string);
}

/** New call records and the `dateFrom`/`dateTo` window over `user_call_records`. */
export function createCallLog(dataset: MutableDataset, clock: ReturnType<typeof createClock>): CallLogState {
  const resource = 'user_call_records';
  let generatedTimes: Float64Array | undefined;
  const appendedTimes: number[] = [];
  const timeAt = (index: number): number => {
    const generated = dataset.generatedCount(resource);
    if (index >= generated) return appendedTimes[index - generated] ?? Number.NaN;
    if (generatedTimes === undefined) {
      generatedTimes = new Float64Array(generated);
      let i = 0;
      for (const text of dataset.recordTexts(resource, 0, generated)) {
        generatedTimes[i] = startTimeOf(text);
        i += 1;
      }
    }
    return generatedTimes[index] ?? Number.NaN;
  };
  const indexesIn = (from?: number, to?: number): number[] => {
    const out: number[] = [];
    const count = dataset.count(resource);
    for (let index = 0; index < count; index += 1) {
      const ms = timeAt(index);
      if (!Number.isNaN(ms) && inWindow(ms, from, to)) out.push(index);
    }
    return out;
  };
  const bound = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const ms = parseTimestamp(value);
    if (ms === undefined) throw new RangeError(`${name}: ${value} is not an ISO 8601 timestamp`);
    return ms;
  };
  return {
    add(count, options = {}) {
      if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count must be an integer ≥ 0');
      let at = options.at;
      const texts: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const index = dataset.count(resource) + i;
        const ms = clock.tick(at);
        at = undefined;
        const iso = new Date(ms).toISOString();
        texts.push(dataset.generatedText(resource, index).replace(startTimePattern, `"startTime":"${iso}"`));
        appendedTimes.push(ms);
      }
      dataset.append(resource, texts);
      return texts.map((text) => JSON.parse(text) as unknown);
    },
    indexesIn,
    window: (dateFrom, dateTo) =>
      indexesIn(bound('dateFrom', dateFrom), bound('dateTo', dateTo)).map((index) =>
        dataset.record(resource, index),
      ),
  };
}
