import { describe, expect, it } from 'vitest';
import { changesPath } from '../../src/sandbox/routes-generic-changes.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { asObject, communicationsUrl, fetchJson, usingSandbox } from './helpers.ts';

interface Change {
  readonly id: number;
  readonly updatedAt: string;
  readonly version: number;
}

function changesUrl(sandbox: Sandbox, query: Record<string, string>): string {
  return `${sandbox.url}${changesPath}?${new URLSearchParams(query).toString()}`;
}

async function getChanges(sandbox: Sandbox, query: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetchJson(changesUrl(sandbox, query), {
    headers: { 'x-api-key': sandbox.generic.apiKey },
  });
  expect(response.status).toBe(200);
  return asObject(response.json);
}

/** Walks the cursor pages of a window, the way a cursor paginator would. */
async function walkChanges(
  sandbox: Sandbox,
  window: Record<string, string>,
  pageSize = 4,
): Promise<Change[]> {
  const records: Change[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard += 1) {
    const body = await getChanges(sandbox, {
      ...window,
      page_size: String(pageSize),
      ...(cursor === undefined ? {} : { cursor }),
    });
    records.push(...(body.data as Change[]));
    if (body.has_more !== true) {
      expect(body.next_cursor).toBeNull();
      return records;
    }
    cursor = body.next_cursor as string;
  }
  throw new Error('no end');
}

describe('GET /generic/changes: updated_since / updated_before with a keyset cursor', () => {
  it('serves every record sorted by (updatedAt, id), pairs share a timestamp', async () => {
    await usingSandbox({ seed: 3, changes: 10 }, async (sandbox) => {
      const all = await walkChanges(sandbox, {});
      expect(all).toEqual(sandbox.changes.records());
      expect(all.map((record) => record.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(all[0]).toMatchObject({ version: 1, updatedAt: '2024-06-01T00:00:00.000Z' });
      expect(all[1]?.updatedAt).toBe('2024-06-01T00:00:00.000Z');
      expect(all[2]?.updatedAt).toBe('2024-06-01T00:01:00.000Z');
    });
  });

  it('since is inclusive, before exclusive; pages within a window', async () => {
    await usingSandbox({ seed: 3, changes: 20 }, async (sandbox) => {
      const since = '2024-06-01T00:02:00.000Z'; // records 5, 6 carry it
      const before = '2024-06-01T00:07:00.000Z'; // records 15, 16 carry it
      const expected = sandbox.changes.window(since, before);
      expect(expected.map((record) => record.id)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
      expect(await walkChanges(sandbox, { updated_since: since, updated_before: before }, 3)).toEqual(
        expected,
      );
      const requests = sandbox.log.entries({ route: changesPath });
      expect(requests).toHaveLength(4);
      for (const entry of requests) {
        const query = new URL(entry.path, 'http://x').searchParams;
        expect(query.get('updated_since')).toBe(since);
        expect(query.get('updated_before')).toBe(before);
      }
    });
  });

  it('run 1 → mutate → run 2 from the stored cursor receives exactly the new and changed records', async () => {
    await usingSandbox({ seed: 9, changes: 30 }, async (sandbox) => {
      const run1 = await walkChanges(sandbox, {});
      expect(run1).toHaveLength(30);
      const cursor = run1.at(-1)?.updatedAt as string;

      const result = sandbox.changes.mutate({ add: 3, change: 4 });
      expect(result.changed).toHaveLength(4);
      expect(result.added.map((record) => record.id)).toEqual([31, 32, 33]);
      expect(result.from).toBe('2025-01-01T00:00:01.000Z');
      expect(result.to).toBe('2025-01-01T00:00:07.000Z');
      for (const record of result.changed) {
        const before = run1.find((old) => old.id === record.id);
        expect(record.version).toBe((before?.version ?? 0) + 1);
      }
      const stamps = [...result.changed, ...result.added].map((record) => record.updatedAt);
      expect([...stamps].sort()).toEqual(stamps);
      expect(new Set(stamps).size).toBe(stamps.length);

      sandbox.log.clear();
      const run2 = await walkChanges(sandbox, { updated_since: cursor });
      // The inclusive bound gives back the last record(s) of run 1 at the cursor, then every change.
      const expected = sandbox.changes.window(cursor);
      expect(run2).toEqual(expected);
      const fresh = run2.filter((record) => record.updatedAt > cursor);
      expect(fresh).toEqual([...result.changed, ...result.added]);
      const first = sandbox.log.entries({ route: changesPath })[0];
      expect(new URL(first?.path ?? '', 'http://x').searchParams.get('updated_since')).toBe(cursor);
      expect(sandbox.changes.records()).toHaveLength(33);
    });
  });

  it('mutations are deterministic per seed and the clock only moves forward', async () => {
    const run = (seed: number): Promise<unknown> =>
      usingSandbox({ seed, changes: 25 }, (sandbox) => {
        sandbox.changes.mutate({ change: 5 });
        sandbox.clock.advance(60_000);
        sandbox.changes.mutate({ add: 2, change: [1, 2] });
        const explicit = sandbox.changes.mutate({ change: 1, at: '2026-01-01T00:00:00Z' });
        expect(explicit.from).toBe('2026-01-01T00:00:00.000Z');
        expect(() => sandbox.changes.mutate({ add: 1, at: '2025-06-01T00:00:00Z' })).toThrow(/not later/);
        expect(() => sandbox.changes.mutate({ change: [999] })).toThrow(/no record/);
        return Promise.resolve(sandbox.changes.records());
      });
    const a = await run(4);
    expect(await run(4)).toEqual(a);
    expect(await run(5)).not.toEqual(a);
  });

  it('refuses bad parameters with 400 and needs the X-API-Key header', async () => {
    await usingSandbox({ changes: 5 }, async (sandbox) => {
      for (const query of [
        { updated_since: 'yesterday' },
        { updated_before: '2024-13' },
        { cursor: 'nope' },
      ]) {
        const response = await fetchJson(changesUrl(sandbox, query), {
          headers: { 'x-api-key': sandbox.generic.apiKey },
        });
        expect(response.status).toBe(400);
      }
      const missing = await fetchJson(changesUrl(sandbox, {}));
      expect(missing.status).toBe(401);
      expect(asObject(missing.json).data).toBeUndefined();
      const query = await fetchJson(changesUrl(sandbox, { api_key: sandbox.generic.apiKey }));
      expect(query.status).toBe(401);
    });
  });
});

describe('/v1/user_call_records: dateFrom / dateTo on startTime, with new calls', () => {
  interface Call {
    readonly id: string;
    readonly startTime: string;
  }

  it('filters by startTime (dateFrom inclusive, dateTo exclusive) and pages within the window', async () => {
    await usingSandbox({ seed: 2, counts: { user_call_records: 120 } }, async (sandbox) => {
      const all = [...sandbox.dataset.records('user_call_records')] as Call[];
      const times = all.map((call) => call.startTime).sort();
      const dateFrom = times[30] as string;
      const dateTo = times[80] as string;
      const expected = all.filter((call) => call.startTime >= dateFrom && call.startTime < dateTo);
      expect(expected.length).toBeGreaterThanOrEqual(49);
      expect(sandbox.callLog.window(dateFrom, dateTo)).toEqual(expected);
      expect(expected.some((call) => call.startTime === dateFrom)).toBe(true);
      expect(expected.some((call) => call.startTime === dateTo)).toBe(false);

      const single = await fetchJson(communicationsUrl(sandbox, 'user_call_records', { dateFrom, dateTo }));
      expect(single.status).toBe(200);
      expect(asObject(single.json).data).toEqual(expected);

      // json_link walk over the window: the links carry dateFrom/dateTo along.
      const records: unknown[] = [];
      let url: string | undefined = communicationsUrl(sandbox, 'user_call_records', {
        dateFrom,
        dateTo,
        page: '1',
        perPage: '20',
      });
      let pages = 0;
      while (url !== undefined) {
        pages += 1;
        const body = asObject((await fetchJson(url)).json);
        records.push(...(body.data as unknown[]));
        expect(asObject(body.paging).totalElements).toBe(expected.length);
        const next = asObject(body.navigation).nextPage as { uri: string } | undefined;
        url = next === undefined ? undefined : `${next.uri}&api_key=${sandbox.keys.communications}`;
      }
      expect(records).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 20));
      expect(sandbox.log.entries({ route: '/v1/user_call_records' }).at(-1)?.path).toContain(
        `dateFrom=${encodeURIComponent(dateFrom)}`,
      );
    });
  });

  it('new calls get strictly increasing startTimes from the clock; run 2 from the cursor gets exactly them', async () => {
    await usingSandbox({ seed: 2, counts: { user_call_records: 50 } }, async (sandbox) => {
      const run1 = (asObject((await fetchJson(communicationsUrl(sandbox, 'user_call_records'))).json).data ??
        []) as Call[];
      const cursor = run1
        .map((call) => call.startTime)
        .sort()
        .at(-1) as string;
      const added = sandbox.callLog.add(3) as Call[];
      expect(added.map((call) => call.startTime)).toEqual([
        '2025-01-01T00:00:01.000Z',
        '2025-01-01T00:00:02.000Z',
        '2025-01-01T00:00:03.000Z',
      ]);
      expect(new Set([...run1, ...added].map((call) => call.id)).size).toBe(53);
      expect(sandbox.dataset.count('user_call_records')).toBe(53);
      const run2 = asObject(
        (await fetchJson(communicationsUrl(sandbox, 'user_call_records', { dateFrom: cursor }))).json,
      ).data as Call[];
      expect(run2.filter((call) => call.startTime > cursor)).toEqual(added);
      expect(run2).toEqual(sandbox.callLog.window(cursor));
      const unfiltered = asObject((await fetchJson(communicationsUrl(sandbox, 'user_call_records'))).json);
      expect((unfiltered.data as Call[]).slice(50)).toEqual(added);
      const bad = await fetchJson(communicationsUrl(sandbox, 'user_call_records', { dateTo: 'soon' }));
      expect(bad.status).toBe(400);
    });
  });
});
