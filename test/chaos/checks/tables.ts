/**
 * Every resource table equals the sandbox's data — as the e2e tests compare them (each record's canonical JSON),
 * but record by record under its key and in constant memory per row, so that a million rows compare in seconds:
 * - the dataset resources (communications' nine, messaging's contacts, phones and registrations): exactly the
 *   records the sandbox serves, none missing, none extra, none different, none marked deleted;
 * - `sms`: the reply of the case's one send when the resource succeeded (nothing else, ever);
 * - `messages`: the message of that send, in the final status the sandbox gives it.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { canonicalJson } from '../../../src/config/plan-hash.ts';
import type { SentMessage } from '../../../src/sandbox/messaging-store.ts';
import {
  communicationsResources,
  messagingResources,
  primaryKeyOf,
  type SandboxResource,
} from '../../../src/sandbox/resources.ts';
import type { Sandbox } from '../../../src/sandbox/server.ts';
import type { LoadReport } from '../../../src/shared/ingest-types.ts';
import type { CheckResult } from './result.ts';
import { quoteIdentifier } from '../../../src/local/postgres.ts';

/** Shown per kind of difference, at most. */
const examples = 5;

/** A record's fingerprint: the digest of its canonical JSON. */
function fingerprint(value: unknown): string {
  return createHash('sha1').update(canonicalJson(value)).digest('base64');
}

/** The sandbox's records of a resource by key → fingerprint; computed once per suite (the dataset never changes). */
export function expectedRecords(
  sandbox: Sandbox,
): (resource: SandboxResource) => ReadonlyMap<string, string> {
  const cache = new Map<SandboxResource, Map<string, string>>();
  return (resource) => {
    let records = cache.get(resource);
    if (records === undefined) {
      records = new Map();
      const key = primaryKeyOf(resource);
      for (const record of sandbox.dataset.records(resource)) {
        records.set(String((record as Record<string, unknown>)[key]), fingerprint(record));
      }
      cache.set(resource, records);
    }
    return records;
  };
}

export interface TablesInput {
  /** A connection to the case's database. */
  readonly client: pg.Client;
  readonly sandbox: Sandbox;
  readonly expected: (resource: SandboxResource) => ReadonlyMap<string, string>;
  /** The messaging run's report (undefined when the run left none). */
  readonly messaging: LoadReport | undefined;
  /** The sends the sandbox received during the case. */
  readonly sends: readonly SentMessage[];
}

/** Compares every table of both sources with the sandbox. */
export async function checkTables(input: TablesInput): Promise<CheckResult> {
  const problems: string[] = [];
  let rows = 0;
  const datasets: readonly (readonly [string, SandboxResource])[] = [
    ...communicationsResources.map((resource) => ['communications', resource] as const),
    ...messagingResources.map((resource) => ['messaging', resource] as const),
  ];
  for (const [source, resource] of datasets) {
    const expected = input.expected(resource);
    const key = primaryKeyOf(resource);
    const seen = new Set<string>();
    const extra: string[] = [];
    const changed: string[] = [];
    const deleted: string[] = [];
    for await (const row of readTable(input.client, source, resource)) {
      rows += 1;
      const id = String((row.data as Record<string, unknown>)[key]);
      seen.add(id);
      const want = expected.get(id);
      if (want === undefined) extra.push(id);
      else if (want !== fingerprint(row.data)) changed.push(id);
      if (row.deleted) deleted.push(id);
    }
    const missing: string[] = [];
    for (const id of expected.keys()) if (!seen.has(id)) missing.push(id);
    const differences = { missing, extra, changed, 'marked deleted': deleted };
    for (const [what, ids] of Object.entries(differences)) {
      if (ids.length > 0)
        problems.push(
          `${source}.${resource}: ${ids.length} ${what} (${ids.slice(0, examples).join(', ')}${ids.length > examples ? ', …' : ''})`,
        );
    }
  }
  rows += await checkSms(input, problems);
  return { check: 'tables', problems, facts: `${rows} rows` };
}

/** `sms` and `messages` against the case's sends; returns the rows read. */
async function checkSms(input: TablesInput, problems: string[]): Promise<number> {
  const sms = await collect(readTable(input.client, 'messaging', 'sms'));
  const messages = await collect(readTable(input.client, 'messaging', 'messages'));
  const sent = new Map(input.sends.map((send) => [send.requestId, send]));
  const smsOk = input.messaging?.resources.find((r) => r.resource === 'sms')?.status === 'ok';
  const only = input.sends[0];
  if (smsOk) {
    if (input.sends.length !== 1 || only === undefined) {
      problems.push(`messaging.sms succeeded, but the sandbox received ${input.sends.length} sends`);
    } else {
      const reply = {
        requestId: only.requestId,
        status: 'ACCEPTED',
        to: only.to,
        from: only.from,
        submitDate: only.submitDate,
        href: `${input.sandbox.url}/messaging/v1/messages/${only.requestId}`,
      };
      const stored = sms.map((row) => canonicalJson(row.data));
      if (stored.length !== 1 || stored[0] !== canonicalJson(reply))
        problems.push(
          `messaging.sms: ${stored.length} rows, expected exactly the reply of send ${only.requestId}`,
        );
    }
  } else {
    // Its outcome may be unknown (the reply lost to a crash): then the table holds no reply, whatever was sent.
    for (const row of sms) {
      const id = String((row.data as Record<string, unknown>)['requestId']);
      if (!sent.has(id)) problems.push(`messaging.sms: a row for ${id}, which the sandbox never sent`);
    }
  }
  for (const row of messages) {
    const message = row.data as Record<string, unknown>;
    const id = String(message['requestId']);
    const send = sent.get(id);
    if (send === undefined) {
      problems.push(`messaging.messages: a row for ${id}, which no send of this case created`);
      continue;
    }
    const final = input.sandbox.messaging.finalStatusOf(id);
    if (message['status'] !== final || message['to'] !== send.to || message['from'] !== send.from)
      problems.push(`messaging.messages: ${id} is ${String(message['status'])}, the sandbox says ${final}`);
  }
  const messagesOk = input.messaging?.resources.find((r) => r.resource === 'messages')?.status === 'ok';
  if (smsOk && messagesOk && messages.length !== 1)
    problems.push(`messaging.messages: ${messages.length} rows, expected the message of the one send`);
  return sms.length + messages.length;
}

interface StoredRow {
  readonly data: unknown;
  readonly deleted: boolean;
}

/**
 * The rows of a resource's table (located through `ingest.resource_tables`; none when it has no table), read
 * through a cursor in batches: a table of a million rows never sits in memory at once.
 */
async function* readTable(client: pg.Client, source: string, resource: string): AsyncGenerator<StoredRow> {
  const found = await client.query<{ table_schema: string; table_name: string }>(
    'SELECT table_schema, table_name FROM ingest.resource_tables WHERE source = $1 AND resource = $2',
    [source, resource],
  );
  const table = found.rows[0];
  if (table === undefined) return; // never created: no rows (what is expected of them is checked by the caller)
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(
      `DECLARE chaos_rows NO SCROLL CURSOR FOR SELECT data, _deleted_at IS NOT NULL AS deleted
       FROM ${quoteIdentifier(table.table_schema)}.${quoteIdentifier(table.table_name)}`,
    );
    for (;;) {
      const batch = await client.query<StoredRow>('FETCH 20000 FROM chaos_rows');
      if (batch.rows.length === 0) break;
      yield* batch.rows;
    }
  } finally {
    await client.query('ROLLBACK');
  }
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const row of rows) out.push(row);
  return out;
}
