/**
 * `sendOnce` with a reply whose records are not all good: a record that is not JSON makes the outcome unknown (the
 * intent is marked so, and the error is SEND_OUTCOME_UNKNOWN, not retried), like any failure of the reply; a record
 * with a raw control character is stored with that issue; and a stored reply is read back as extraction reads
 * records — leniently, or failing with an IngestError, never a bare SyntaxError. Over real HTTP (a local server);
 * the ledger is a fake database that answers `send_intents` statements and records them.
 */
import { Buffer } from 'node:buffer';
import {
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendOnce } from '../../../src/activities/send-once.ts';
import type { Database } from '../../../src/db/schema.ts';
import { IngestError } from '../../../src/errors.ts';
import { genericPlan, requester, startLocalServer, withClient, type LocalServer } from '../http/helpers.ts';

/** The `send_intents` ledger of one (load, resource): the row found first, and the statements that changed it. */
class FakeLedger implements Driver {
  readonly changes: { readonly sql: string; readonly parameters: readonly unknown[] }[] = [];

  constructor(private readonly stored: readonly Record<string, unknown>[] = []) {}

  async init(): Promise<void> {}
  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve({
      executeQuery: <R>(query: CompiledQuery) => Promise.resolve({ rows: this.answer(query) as R[] }),
      streamQuery: () => {
        throw new Error('no streaming here');
      },
    });
  }
  async beginTransaction(): Promise<void> {}
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}

  /** The statement that last set `status` to `status`, if any. */
  statusSet(status: string): { readonly sql: string; readonly parameters: readonly unknown[] } | undefined {
    return this.changes.findLast((c) => c.sql.startsWith('update') && c.parameters[0] === status);
  }

  private answer(query: CompiledQuery): readonly unknown[] {
    if (query.sql.startsWith('select *')) return this.stored;
    // Earlier loads' sends of the resource: none.
    if (query.sql.startsWith('select')) return [];
    if (query.sql.startsWith('insert')) return [{ intended_at: new Date('2024-05-01T00:00:00Z') }];
    this.changes.push({ sql: query.sql, parameters: query.parameters });
    return [];
  }
}

function ledger(stored?: readonly Record<string, unknown>[]): { db: Kysely<Database>; ledger: FakeLedger } {
  const driver = new FakeLedger(stored);
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return { db, ledger: driver };
}

const replies: Readonly<Record<string, string>> = {
  '/malformed': '{"data":[{"id":1},{"id":2,"n":NaN}]}',
  '/raw-tab': '{"data":[{"id":1,"s":"a\tb"}]}',
};

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(replies[req.url ?? ''] ?? '{"data":[]}');
  });
});
afterAll(async () => {
  await server.stop();
});

const http = withClient();
const input = { loadId: 'load-1', source: 'generic', resource: 'items' };
const signal = new AbortController().signal;

function resourceAt(path: string) {
  return requester(genericPlan(server.url, path), 'items', { client: http.client, env: {} });
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('sendOnce', () => {
  it('makes the outcome unknown when a record of the reply is not JSON', async () => {
    const { db, ledger: fake } = ledger();
    const error = await failureOf(sendOnce(db, resourceAt('/malformed'), input, signal));
    expect(error).toMatchObject({
      code: 'SEND_OUTCOME_UNKNOWN',
      category: 'http-permanent',
      retryable: false,
    });
    expect((error as Error).message).toContain('record 1');
    expect(fake.statusSet('unknown')).toBeDefined();
    expect(fake.statusSet('sent')).toBeUndefined();
  });

  it('stores a record with a raw control character with its issue', async () => {
    const { db, ledger: fake } = ledger();
    const records = await sendOnce(db, resourceAt('/raw-tab'), input, signal);
    expect(records.map((r) => [r.value, r.issues])).toEqual([[{ id: 1, s: 'a\tb' }, ['raw-control-char']]]);
    const detail = fake.statusSet('sent')?.parameters.find((p) => typeof p === 'string' && p.startsWith('{'));
    const stored = JSON.parse(detail as string) as { records: { b64: string; issues: string[] }[] };
    expect(stored.records.map((r) => [Buffer.from(r.b64, 'base64').toString('utf8'), r.issues])).toEqual([
      ['{"id":1,"s":"a\tb"}', ['raw-control-char']],
    ]);
  });

  it('reads a stored reply back leniently, and fails on a broken one with an IngestError', async () => {
    const reply = (text: string) => [
      {
        status: 'sent',
        detail: { records: [{ b64: Buffer.from(text).toString('base64'), issues: [] }] },
      },
    ];
    const unsent = resourceAt('/never-requested');
    const received = server.received.length;

    const lenient = await sendOnce(ledger(reply('{"id":1,"s":"a\tb"}')).db, unsent, input, signal);
    expect(lenient.map((r) => [r.value, r.issues])).toEqual([[{ id: 1, s: 'a\tb' }, ['raw-control-char']]]);

    const error = await failureOf(sendOnce(ledger(reply('{"id":1,')).db, unsent, input, signal));
    expect(error).toBeInstanceOf(IngestError);
    expect(error).toMatchObject({ code: 'INVALID_JSON', category: 'response-shape' });
    expect(server.received.length).toBe(received);
  });
});
