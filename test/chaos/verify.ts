/**
 * The checks every case ends with, the same functions for each: the disruptions all landed and the worker never
 * died on its own; tables equal the sandbox's data; the ledger is consistent; no staging is left; no request came
 * before its `Retry-After`; no SMS was sent twice; the API keys appear nowhere.
 */
import type { PayloadCodec } from '@temporalio/common';
import pg from 'pg';
import type { SandboxResource } from '../../src/sandbox/resources.ts';
import type { CaseRun } from './case.ts';
import { checkLedger } from './checks/ledger.ts';
import type { CheckResult } from './checks/result.ts';
import { checkRetryAfter } from './checks/retry-after.ts';
import { checkSecrets } from './checks/secrets.ts';
import type { SecretForm } from './checks/secret-forms.ts';
import { checkSends } from './checks/sends.ts';
import { checkNoStaging } from './checks/staging.ts';
import { checkTables } from './checks/tables.ts';
import type { ChaosStack } from './stack.ts';

export interface VerifySettings {
  readonly stack: ChaosStack;
  readonly expected: (resource: SandboxResource) => ReadonlyMap<string, string>;
  readonly forms: readonly SecretForm[];
  readonly codec?: PayloadCodec | undefined;
}

/** Runs every check on a finished case. */
export async function verifyCase(run: CaseRun, settings: VerifySettings): Promise<readonly CheckResult[]> {
  const { stack } = settings;
  const client = new pg.Client({ connectionString: run.databaseUrl });
  client.on('error', () => undefined); // a dropped connection fails the query in progress: that is the report
  await client.connect();
  try {
    const messaging = run.runs.find((r) => r.source === 'messaging')?.report;
    return [
      checkDisruptions(run),
      await checkTables({
        client,
        sandbox: stack.sandbox,
        expected: settings.expected,
        messaging,
        sends: run.sends,
      }),
      await checkLedger({ client, sandbox: stack.sandbox, runs: run.runs }),
      await checkNoStaging(client),
      checkRetryAfter(run.entries),
      checkSends({ sends: run.sends, entries: run.entries }),
      await checkSecrets({
        temporal: stack.client,
        codec: settings.codec,
        workflowPrefix: run.workflowPrefix,
        runs: run.runs,
        client,
        logFiles: run.logFiles,
        entries: run.entries,
        forms: settings.forms,
      }),
    ];
  } finally {
    await client.end();
  }
}

/** Every planned disruption landed, each was carried out, the worker died only when killed, the runs ended in time. */
function checkDisruptions(run: CaseRun): CheckResult {
  const problems: string[] = [];
  if (run.missed.length > 0)
    problems.push(
      `${run.missed.length} disruptions never landed (the runs ended first): ` +
        run.missed.map((d) => `${d.kind} at step ${d.atStep}`).join(', '),
    );
  if (run.disruptionFailure !== undefined) problems.push(`a disruption failed: ${run.disruptionFailure}`);
  problems.push(...run.unexpectedExits);
  if (run.timedOut) problems.push('the runs did not finish in time: they were terminated');
  const count = (kind: string) => run.landed.filter((d) => d.kind === kind).length;
  return {
    check: 'disruptions',
    problems,
    facts: `${count('kill')} kills, ${count('postgres-stop')} Postgres stops`,
  };
}
