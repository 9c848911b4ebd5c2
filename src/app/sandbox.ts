/**
 * Standalone entry of the sandbox (`npm run sandbox -- [flags]`): starts it, prints where it listens and which keys
 * it expects, logs each request as a JSON line on stderr, and stops cleanly on SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import { createSandboxCommand, optionsFromFlags, type SandboxCliFlags } from '../sandbox/cli.ts';
import type { RequestLogEntry } from '../sandbox/request-log.ts';
import { sandboxResources } from '../sandbox/resources.ts';
import { startSandbox, type Sandbox } from '../sandbox/server.ts';
import { isEntry } from './cli/entry.ts';

/** Starts the sandbox and returns once it listens (it serves until SIGINT/SIGTERM). `ingest sandbox` calls it too. */
export async function main(argv: readonly string[], name?: string): Promise<void> {
  const command: Command = createSandboxCommand();
  if (name !== undefined) command.name(name);
  command.parse(argv, { from: 'user' });
  const flags = command.opts<SandboxCliFlags>();
  const logger = pino({ base: { component: 'sandbox' } }, pino.destination(2));
  const logRequest = (entry: RequestLogEntry): void =>
    logger.info(
      {
        seq: entry.seq,
        origin: entry.origin,
        method: entry.method,
        path: entry.path,
        status: entry.status,
        fault: entry.fault,
        auth: entry.auth,
        outcome: entry.outcome,
        bytes: entry.bytes,
        ms: Math.round(entry.durationMs ?? 0),
      },
      'request',
    );

  let sandbox: Sandbox;
  try {
    const options = optionsFromFlags(flags);
    sandbox = await startSandbox({ ...options, ...(flags.quiet === true ? {} : { onRequest: logRequest }) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = message.includes('EADDRINUSE') ? ' (pass --port 0 for any free port)' : '';
    command.error(`${message}${hint}`);
  }

  if (flags.json === true) {
    const ready = {
      url: sandbox.url,
      otherOrigin: sandbox.otherOrigin.url,
      keys: sandbox.keys,
      generic: sandbox.generic,
      preloadedMessageIds: sandbox.preloadedMessageIds,
    };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  } else {
    const counts = sandboxResources.map((name) => `${name}=${sandbox.dataset.count(name)}`).join(' ');
    const ids = sandbox.preloadedMessageIds;
    process.stdout.write(
      [
        `Sandbox API listening on ${sandbox.url} (other origin ${sandbox.otherOrigin.url})`,
        `  communications: curl '${sandbox.url}/v1/call_queues?api_key=${sandbox.keys.communications}'`,
        `  messaging:      curl -H 'api_key: ${sandbox.keys.messaging}' ${sandbox.url}/byon/contacts/v1`,
        `  seed ${sandbox.settings.seed}: ${counts}`,
        ...(ids.length === 0
          ? []
          : [`  preloaded ${ids.length} messages: ${ids[0]} … ${ids[ids.length - 1]}`]),
        `  ${sandbox.faults.list().length} fault rule(s); Ctrl-C stops`,
        '',
      ].join('\n'),
    );
  }

  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'stopping');
    void sandbox.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (isEntry(import.meta.url)) await main(process.argv.slice(2));
