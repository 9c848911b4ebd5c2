/**
 * The sandbox's command line: flags → {@link SandboxOptions}. Kept apart from `main.ts` so that the product CLI
 * (`ingest sandbox`) can mount the same command.
 */
import { Command, InvalidArgumentError } from 'commander';
import { parseFaultSpec } from './fault-spec.ts';
import type { FaultRule } from './faults.ts';
import type { SandboxOptions } from './options.ts';
import { isSandboxResource, sandboxResources, type SandboxResource } from './resources.ts';

/** The parsed flags. */
export interface SandboxCliFlags {
  readonly host: string;
  readonly port: number;
  readonly otherPort: number;
  readonly seed: number;
  readonly count: readonly string[];
  readonly revision?: number;
  readonly hostile?: true | string;
  readonly communicationsKey?: string;
  readonly messagingKey?: string;
  readonly pageSize?: number;
  readonly projects?: number;
  readonly finalAfterPolls?: number;
  readonly finalAfterMs?: number;
  readonly preloadMessages?: number;
  readonly tokenTtlMs?: number;
  readonly fault: readonly string[];
  readonly quiet?: boolean;
  readonly json?: boolean;
}

/** The port the standalone sandbox prefers, so that its URL stays the same between runs. */
export const defaultCliPort = 4010;

function integer(min: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`expected an integer ≥ ${min}, got "${text}"`);
    }
    return value;
  };
}

function collect(value: string, previous: readonly string[]): readonly string[] {
  return [...previous, value];
}

/** The `sandbox` command (without an action: the caller decides what to do with the options). */
export function createSandboxCommand(): Command {
  return new Command('sandbox')
    .description(
      'Serve the local sandbox of both seed APIs (communications, messaging) and the generic test routes.',
    )
    .option('--host <host>', 'interface to bind (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <port>', 'port of the API (0 = any free port)', integer(0), defaultCliPort)
    .option(
      '--other-port <port>',
      'port of the "other origin" used by cross-origin redirect faults',
      integer(0),
      0,
    )
    .option('--seed <n>', 'seed of the generated data (same seed = same data)', integer(0), 1)
    .option(
      '--count <resource=n>',
      `records of a resource, repeatable (${sandboxResources.join(', ')})`,
      collect,
      [] as readonly string[],
    )
    .option(
      '--revision <n>',
      'every record ends with "revision": n from n = 2 on (the same ids, every record changed; default 1)',
      integer(1),
    )
    .option('--hostile [every]', 'serve hostile records (every Nth record, default 10) for loader tests')
    .option('--communications-key <key>', 'expected api_key query parameter of the communications API')
    .option('--messaging-key <key>', 'expected api_key header of the messaging API')
    .option('--page-size <n>', 'default page size of the paginated routes', integer(1))
    .option('--projects <n>', 'projects of /generic/projects (each with its tasks)', integer(0))
    .option('--final-after-polls <n>', 'polls a message answers with a non-final status', integer(0))
    .option('--final-after-ms <ms>', 'time after the send from which a message is final', integer(0))
    .option('--preload-messages <n>', 'create N "old" messages at start (their ids are printed)', integer(0))
    .option('--token-ttl-ms <ms>', 'lifetime of OAuth2 access tokens', integer(1))
    .option(
      '--fault <spec>',
      'fault rule, repeatable: "[METHOD ]PATH:KIND[:key=value]..." e.g. "GET /v1/call_queues:429:retry-after=2:times=3"',
      collect,
      [] as readonly string[],
    )
    .option('--quiet', 'do not log each request')
    .option('--json', 'print one JSON line with the URLs and keys when ready (for scripts)');
}

/** Turns parsed flags into sandbox options; throws a readable error for a bad `--count` or `--fault`. */
export function optionsFromFlags(flags: SandboxCliFlags): SandboxOptions {
  const counts: Partial<Record<SandboxResource, number>> = {};
  for (const pair of flags.count) {
    const [name = '', value = ''] = pair.split('=');
    if (!isSandboxResource(name)) {
      throw new Error(
        `--count ${pair}: unknown resource "${name}" (expected one of ${sandboxResources.join(', ')})`,
      );
    }
    counts[name] = integer(0)(value);
  }
  const faults: FaultRule[] = flags.fault.map(parseFaultSpec);
  const hostile =
    flags.hostile === undefined
      ? undefined
      : flags.hostile === true
        ? true
        : { every: integer(1)(flags.hostile) };
  const keys = {
    ...(flags.communicationsKey === undefined ? {} : { communications: flags.communicationsKey }),
    ...(flags.messagingKey === undefined ? {} : { messaging: flags.messagingKey }),
  };
  const messages = {
    ...(flags.finalAfterPolls === undefined ? {} : { finalAfterPolls: flags.finalAfterPolls }),
    ...(flags.finalAfterMs === undefined ? {} : { finalAfterMs: flags.finalAfterMs }),
    ...(flags.preloadMessages === undefined ? {} : { preload: { count: flags.preloadMessages } }),
  };
  return {
    host: flags.host,
    port: flags.port,
    otherOriginPort: flags.otherPort,
    seed: flags.seed,
    counts,
    keys,
    messages,
    faults,
    ...(hostile === undefined ? {} : { hostile }),
    ...(flags.revision === undefined ? {} : { revision: flags.revision }),
    ...(flags.pageSize === undefined ? {} : { pageSize: flags.pageSize }),
    ...(flags.projects === undefined ? {} : { projects: flags.projects }),
    ...(flags.tokenTtlMs === undefined ? {} : { generic: { tokenTtlMs: flags.tokenTtlMs } }),
  };
}
