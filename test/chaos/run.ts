/**
 * `npm run test:chaos`: the chaos suite. Proves the product exact under crashes and faults by loading both sources
 * from the sandbox while worker processes are SIGKILLed, Postgres is stopped the hard way and the API throws a fault
 * storm — then checking, after each case, that the tables equal the sandbox's data, the ledger is consistent, no
 * staging is left, no request came before its Retry-After, no SMS was sent twice and the API keys appear nowhere.
 * Prints the seed first, one line per case, a table; exits 1 when any check failed, with what differed.
 * Not part of `npm test` (it runs its own Temporal, Postgres and workers for minutes); CI runs `--small`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setLogLevel } from '../../src/logging.ts';
import { runCase, type CaseSpec } from './case.ts';
import { expectedRecords } from './checks/tables.ts';
import { redactSecrets, secretForms } from './checks/secret-forms.ts';
import { parseOptions } from './options.ts';
import { allPassed, caseLine, differences, summaryTable, type CaseVerdict } from './report.ts';
import { startChaosStack } from './stack.ts';
import { describeStorm } from './storm.ts';
import { verifyCase } from './verify.ts';

const options = parseOptions(process.argv.slice(2));
const say = (line = '') => process.stdout.write(`${line}\n`);
// The suite's own process logs nothing of interest (the workers log to their files).
setLogLevel('warn');

const repeat = [
  `--seed ${options.seed}`,
  options.small ? '--small' : '',
  `--records ${options.records}`,
  `--cases ${options.cases.map((c) => c.name).join(',')}`,
]
  .filter(Boolean)
  .join(' ');
say(`chaos seed ${options.seed} (repeat: npm run test:chaos -- ${repeat})`);
say(
  `${options.records} call records; cases: ${options.cases
    .map(
      (c) =>
        `${c.name} (${c.kills} kills, ${c.postgresStops} Postgres stops, storm ${c.storm ? 'on' : 'off'})`,
    )
    .join(', ')}`,
);
if (options.cases.some((c) => c.storm)) say(`storm: ${describeStorm()}`);

const started = performance.now();
const stack = await startChaosStack({ seed: options.seed, records: options.records });
let exitCode = 1;
try {
  // The API keys, the codec key, and the database password the workers get in DATABASE_URL.
  const databasePassword = decodeURIComponent(new URL(stack.postgres.url('postgres')).password);
  const forms = secretForms([
    { name: 'COMMUNICATIONS_API_KEY', value: stack.sandbox.keys.communications },
    { name: 'MESSAGING_API_KEY', value: stack.sandbox.keys.messaging },
    stack.codec.secret,
    ...(databasePassword === '' ? [] : [{ name: 'the database password', value: databasePassword }]),
  ]);
  const redact = (text: string) => redactSecrets(text, forms);
  const expected = expectedRecords(stack.sandbox);
  say(`stack ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const verdicts: CaseVerdict[] = [];
  for (const spec of options.cases) {
    const caseStarted = performance.now();
    const run = await runCase(spec, {
      stack,
      seed: options.seed,
      records: options.records,
      timeoutMs: caseTimeoutMs(spec, options.records),
      say: options.verbose ? (line) => say(redact(line)) : () => {},
      redact,
    });
    const checks = await verifyCase(run, { stack, expected, forms, codec: stack.codec.codec });
    if (options.keep) {
      // The sandbox's log of the case (credentials already redacted by the sandbox), for a look afterwards.
      const lines = run.entries.map((entry) => redact(JSON.stringify(entry)));
      await writeFile(join(stack.dir, 'logs', spec.name, 'requests.jsonl'), `${lines.join('\n')}\n`);
    }
    const verdict = { run, checks, durationMs: performance.now() - caseStarted };
    verdicts.push(verdict);
    say(redact(caseLine(verdict)));
  }
  say('');
  say(summaryTable(verdicts, performance.now() - started));
  if (allPassed(verdicts)) {
    exitCode = 0;
  } else {
    say('');
    say(redact(differences(verdicts)));
  }
} finally {
  await stack.stop(options.keep);
  if (options.keep) say(`kept ${stack.dir} (Postgres cluster; worker logs and request logs in logs/<case>/)`);
}
process.exit(exitCode);

/**
 * How long a case's runs may take before they are terminated: generous (a slow machine must not fail a correct
 * product), yet finite. A kill costs the 20 s heartbeat timeout, then the retry policy's backoff for the attempt
 * that timed out (up to a minute after many attempts); a storm's failure about a second each.
 */
function caseTimeoutMs(spec: CaseSpec, records: number): number {
  const perThousand = spec.storm ? 2_000 : 300;
  return 120_000 + (records / 1000) * perThousand + spec.kills * 90_000 + spec.postgresStops * 60_000;
}
