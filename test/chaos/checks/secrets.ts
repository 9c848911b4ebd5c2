/**
 * The API keys appear nowhere they do not belong, in any form (`secret-forms.ts`): not in the workflow histories
 * (payloads decoded), the worker's logs, the database (every text of every table), the error texts and reports the
 * runs returned, nor on any request that reached the sandbox's other origin — where the storm's cross-origin
 * redirects lead, and where no credential may follow.
 */
import { readFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type pg from 'pg';
import type { RequestLogEntry } from '../../../src/sandbox/request-log.ts';
import { sweepDatabase } from './database-sweep.ts';
import { sweepHistories } from './history-sweep.ts';
import type { CheckResult, RunOutcome } from './result.ts';
import { findSecrets, type SecretForm } from './secret-forms.ts';

export interface SecretsInput {
  readonly temporal: Client;
  /** Payloads are decoded with it before they are searched, when the workers encode them. */
  readonly codec?: PayloadCodec | undefined;
  /** The case's workflow id prefix, and its two runs. */
  readonly workflowPrefix: string;
  readonly runs: readonly RunOutcome[];
  /** A connection to the case's database. */
  readonly client: pg.Client;
  readonly logFiles: readonly string[];
  readonly entries: readonly RequestLogEntry[];
  readonly forms: readonly SecretForm[];
}

/** Sweeps every place of the case for the keys. */
export async function checkSecrets(input: SecretsInput): Promise<CheckResult> {
  const { forms } = input;
  const problems: string[] = [];
  const histories = await sweepHistories(
    input.temporal,
    input.workflowPrefix,
    input.runs.map((run) => run.workflowId),
    forms,
    input.codec,
  );
  problems.push(...histories.found.map((where) => `in the history of ${where}`));

  let logBytes = 0;
  for (const file of input.logFiles) {
    const text = await readFile(file, 'utf8');
    logBytes += text.length;
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      for (const secret of findSecrets(line, forms))
        problems.push(`in ${file}, line ${index + 1}: ${secret}`);
    });
  }

  const database = await sweepDatabase(input.client, forms);
  problems.push(...database.found.map((where) => `in the database, ${where}`));

  for (const run of input.runs) {
    const text = `${run.failure ?? ''}\n${JSON.stringify(run.report ?? null)}`;
    for (const secret of findSecrets(text, forms))
      problems.push(`in the error text or report of ${run.workflowId}: ${secret}`);
  }

  const elsewhere = input.entries.filter((entry) => entry.origin === 'other');
  for (const entry of elsewhere) {
    for (const sighting of entry.credentials)
      problems.push(
        `request ${entry.seq} to the other origin carried a credential: ${sighting.location} ${sighting.name}` +
          `${sighting.matched ? ' (a key the sandbox knows)' : ''}`,
      );
    for (const secret of findSecrets(`${entry.path}\n${entry.requestBody ?? ''}`, forms))
      problems.push(`request ${entry.seq} to the other origin carried ${secret} in its target`);
  }

  return {
    check: 'secrets',
    problems,
    facts:
      `${histories.histories} histories (${histories.payloads} payloads), ${input.logFiles.length} worker logs ` +
      `(${Math.round(logBytes / 1024)} KiB), ${database.tables} tables (${database.rows} rows), ` +
      `${elsewhere.length} requests to the other origin`,
  };
}
