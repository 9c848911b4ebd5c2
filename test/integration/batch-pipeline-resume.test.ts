/**
 * `ingestResource` with several batches per page in flight (a small `batchBytes`), against a real HTTP server and
 * the real Postgres: a batch that Postgres refuses (a trigger on the batch registry, armed for one sequence number)
 * fails the attempt, and the retried attempt resumes after the last page checkpointed and ends with exactly the
 * records the API serves; a batch lost after it committed (as a Postgres crash can take it) fails the page's
 * checkpoint instead of being counted by it, and the retry fetches it again; and a batch refused while the next
 * page's request fails is what the attempt reports.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestResource } from '../../src/activities/ingest-resource.ts';
import { resolveSource } from '../../src/config/resolve.ts';
import type { SourceConfig } from '../../src/config/schema.ts';
import { readCheckpoint } from '../../src/db/ledger/checkpoints.ts';
import { startLoad } from '../../src/db/ledger/ledger.ts';
import { batchSeq } from '../../src/db/staging/stage-records.ts';
import { createHttpClient } from '../../src/http/client.ts';
import type { PaginationState } from '../../src/http/paginate/types.ts';
import type { IngestResourceInput, ResourceCounts } from '../../src/shared/ingest-types.ts';
import { withDatabase } from '../helpers/database.ts';

const database = withDatabase();
const source = 'pipesrc';
const totalPages = 4;
const perPage = 12;
/** About 60 bytes a record: 3–4 batches a page. */
const batchBytes = 200;

/** Pages requested, in order. */
const requested: number[] = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const page = Number(url.searchParams.get('page'));
    requested.push(page);
    if (url.pathname === '/gone' && page >= 3) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"gone"}');
      return;
    }
    const data = Array.from({ length: perPage }, (_, i) => ({
      id: `r${(page - 1) * perPage + i}`,
      name: 'n'.repeat(30),
    }));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ data, paging: { totalPages } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A fault Postgres raises for one batch while armed: a real failed staging transaction, no mock.
  await sql`CREATE TABLE public.batch_fault (seq bigint NOT NULL)`.execute(database.db);
  // A sequence, not a column: its count survives the refused transaction's rollback.
  await sql`CREATE SEQUENCE public.batch_fault_fired`.execute(database.db);
  await sql`CREATE FUNCTION public.batch_fault() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM public.batch_fault WHERE seq = NEW.seq) THEN
        PERFORM nextval('public.batch_fault_fired');
        RAISE EXCEPTION 'batch_fault: refused batch %', NEW.seq;
      END IF;
      RETURN NEW;
    END $$`.execute(database.db);
  await sql`CREATE TRIGGER batch_fault BEFORE INSERT ON ingest.staged_batches
    FOR EACH ROW EXECUTE FUNCTION public.batch_fault()`.execute(database.db);
  // A batch a crash took: while armed for a sequence number, its registry row is gone once its transaction commits,
  // as a batch committed without a WAL flush is after a Postgres crash — and the attempt goes on.
  await sql`CREATE TABLE public.batch_loss (seq bigint NOT NULL)`.execute(database.db);
  await sql`CREATE FUNCTION public.batch_loss() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM public.batch_loss WHERE seq = NEW.seq) THEN
        DELETE FROM ingest.staged_batches
        WHERE load_id = NEW.load_id AND resource = NEW.resource AND seq = NEW.seq;
      END IF;
      RETURN NULL;
    END $$`.execute(database.db);
  await sql`CREATE TRIGGER batch_loss AFTER INSERT ON ingest.staged_batches
    FOR EACH ROW EXECUTE FUNCTION public.batch_loss()`.execute(database.db);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A source with one paged resource `name`, served at `/<name>`. */
function config(name: string) {
  return {
    name: source,
    client: { base_url: baseUrl },
    resources: [
      {
        name,
        primary_key: 'id',
        write_disposition: 'merge',
        endpoint: {
          path: `/${name}`,
          data_selector: 'data',
          paginator: {
            type: 'page_number',
            page_param: 'page',
            base_page: 1,
            total_path: 'paging.totalPages',
          },
        },
      },
    ],
  };
}

async function attempt(loadId: string, attemptNo: number, name = 'items'): Promise<ResourceCounts | Error> {
  const plan = resolveSource(config(name) as unknown as SourceConfig, { env: {} });
  const input: IngestResourceInput = {
    loadId,
    source,
    baseUrl,
    planHash: 'h'.repeat(64),
    resource: plan.resources[0]!,
  };
  const deps = {
    db: database.db,
    client: createHttpClient(),
    env: {},
    heartbeatIntervalMs: 60_000,
    batchBytes,
  };
  return new MockActivityEnvironment({ attempt: attemptNo })
    .run(() => ingestResource(input, deps, Context.current()))
    .then(
      (counts) => counts as ResourceCounts,
      (error: unknown) => error as Error,
    );
}

describe('ingestResource with batches in flight', () => {
  it('fails on a refused batch mid-page, and the retry resumes after the last checkpoint and ends exact', async () => {
    const loadId = 'pipe-1';
    await startLoad(database.db, { loadId, source });
    await sql`INSERT INTO public.batch_fault (seq) VALUES (${batchSeq(3, 1)})`.execute(database.db);
    const before = await fired();

    const failed = await attempt(loadId, 1);
    expect(failed).toMatchObject({ type: 'STAGE_FAILED' });
    expect(await fired()).toBe(before + 1);
    // Page 3's second batch failed: no checkpoint past page 2 (page 2's may or may not have been saved in time).
    const saved = (await readCheckpoint(database.db, loadId, 'items')) as PaginationState | undefined;
    const resumeAfter = saved?.pages ?? 0;
    expect(resumeAfter).toBeLessThanOrEqual(2);

    await sql`DELETE FROM public.batch_fault`.execute(database.db);
    requested.length = 0;
    const counts = await attempt(loadId, 2);
    expect(counts).toMatchObject({ inserted: totalPages * perPage, rejected: 0 });
    expect(requested[0]).toBe(resumeAfter + 1);
    const { rows } = await sql<{ n: number; ids: number }>`
      SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM pipesrc.items`.execute(database.db);
    expect(rows).toEqual([{ n: totalPages * perPage, ids: totalPages * perPage }]);
  });

  it('a batch lost after it committed fails its page checkpoint, and the retry resumes before it and ends exact', async () => {
    const loadId = 'pipe-3';
    await startLoad(database.db, { loadId, source });
    await sql`INSERT INTO public.batch_loss (seq) VALUES (${batchSeq(3, 1)})`.execute(database.db);

    const failed = await attempt(loadId, 1, 'lost');
    expect(failed).toMatchObject({ type: 'STAGED_BATCHES_MISSING', nonRetryable: false });
    // Page 3's checkpoint was refused: none counts the lost batch.
    const saved = (await readCheckpoint(database.db, loadId, 'lost')) as PaginationState | undefined;
    const resumeAfter = saved?.pages ?? 0;
    expect(resumeAfter).toBeLessThanOrEqual(2);

    await sql`DELETE FROM public.batch_loss`.execute(database.db);
    requested.length = 0;
    const counts = await attempt(loadId, 2, 'lost');
    expect(counts).toMatchObject({ inserted: totalPages * perPage, rejected: 0 });
    expect(requested[0]).toBe(resumeAfter + 1);
    const { rows } = await sql<{ n: number; ids: number }>`
      SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM pipesrc.lost`.execute(database.db);
    expect(rows).toEqual([{ n: totalPages * perPage, ids: totalPages * perPage }]);
  });

  it('reports a batch that failed while the next page was requested, not that request failing after it', async () => {
    const loadId = 'pipe-2';
    await startLoad(database.db, { loadId, source });
    // Page 2's last batch: refused while page 3 (a 404) is being requested.
    await sql`INSERT INTO public.batch_fault (seq) VALUES (${batchSeq(2, 2)})`.execute(database.db);
    const before = await fired();
    const failed = await attempt(loadId, 1, 'gone');
    await sql`DELETE FROM public.batch_fault`.execute(database.db);
    expect(await fired()).toBe(before + 1);
    expect(failed).toMatchObject({ type: 'STAGE_FAILED' });
  });
});

/** How many batches the fault has refused so far. */
async function fired(): Promise<number> {
  const { rows } = await sql<{ fired: number }>`
    SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::int AS fired FROM public.batch_fault_fired`.execute(
    database.db,
  );
  return rows[0]!.fired;
}
