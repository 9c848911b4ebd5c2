/**
 * `npm run codec-server` (and `ingest codec-server`): serves the payload codec of INGEST_CODEC_KEYS over Temporal's
 * codec-server protocol, so the Web UI (its codec server endpoint) and `temporal workflow show --codec-endpoint` show
 * encrypted payloads decoded. Listens on loopback unless `--address` says otherwise — and another address needs a
 * token, or `--no-auth` said out loud; answers the Web UI's origin only (`--ui-origin`); with `--auth-token` or
 * INGEST_CODEC_AUTH_TOKEN, asks every request for that bearer token.
 * Runs until SIGINT/SIGTERM.
 */
import { Command, InvalidArgumentError } from 'commander';
import { describeError, IngestError } from '../errors.ts';
import { setLogLevel } from '../logging.ts';
import { AesGcmCodec } from './codec/aes-gcm-codec.ts';
import { startCodecServer } from './codec/server.ts';
import { isEntry } from './cli/entry.ts';
import { readSettings } from './settings.ts';

/** The default origins of the Web UI: the one `npm start`'s dev server serves, by either local name. */
export const localUiOrigins = ['http://localhost:8233', 'http://127.0.0.1:8233'] as const;

/** Where it listens unless told otherwise: loopback, so decrypted payloads stay on this machine. */
export const defaultAddress = '127.0.0.1';
export const defaultPort = 8888;

/** Whether an `--address` is loopback (only this machine reaches it); a host name other than localhost is not. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/**
 * Refuses (`CODEC_SERVER_UNPROTECTED`) to serve decryption to the network without a token: anyone who reaches a
 * non-loopback address could decrypt every payload. `noAuth` (`--no-auth`) is the explicit "I know" — a proxy in front
 * that signs users in, say.
 */
export function assertProtected(host: string, token: string | undefined, noAuth: boolean): void {
  if (token !== undefined || noAuth || isLoopback(host)) return;
  throw new IngestError(
    'environment',
    'CODEC_SERVER_UNPROTECTED',
    `--address ${host} is not loopback, and anyone who reaches it could decrypt every payload: give --auth-token ` +
      '(or INGEST_CODEC_AUTH_TOKEN), or --no-auth to serve it without a token anyway (behind a proxy that signs ' +
      'users in, say)',
  );
}

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('expected a port, 0 to 65535');
  return n;
};

const origin = (value: string, previous: readonly string[] | undefined) => {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an origin such as http://localhost:8233');
  }
  if (parsed.origin === 'null') throw new InvalidArgumentError('expected an http(s) origin');
  return [...(previous ?? []), parsed.origin];
};

/** Serves until SIGINT/SIGTERM (or `stop` settles); the exit code (1: it could not start). */
export async function main(
  argv: readonly string[],
  name = 'npm run codec-server --',
  stop?: Promise<unknown>,
): Promise<number> {
  const program = new Command(name)
    .description(
      'Serve the payload codec of INGEST_CODEC_KEYS to the Temporal Web UI and CLI, which then show encrypted ' +
        'payloads decoded.',
    )
    .option(
      '--address <host>',
      'the interface to listen on (decrypted payloads cross it; not loopback: a token is required)',
      defaultAddress,
    )
    .option('--port <n>', 'the port (0: a free one)', port, defaultPort)
    .option(
      '--ui-origin <origin>',
      `an origin of the Web UI allowed to call (repeatable; default ${localUiOrigins.join(' and ')})`,
      origin,
    )
    .option(
      '--auth-token <token>',
      'ask every request for Authorization: Bearer <token> (or INGEST_CODEC_AUTH_TOKEN)',
    )
    .option('--no-auth', 'serve a non-loopback --address without a token (refused otherwise)')
    .option('--namespace <namespace>', 'the namespace served (default TEMPORAL_NAMESPACE, else default)')
    .addHelpText(
      'after',
      [
        '',
        `Then, with the defaults (http://${defaultAddress}:${defaultPort}), set that URL as the Web UI's codec server`,
        'endpoint (its Codec Server settings; the UI cannot send an --auth-token), or:',
        `  temporal workflow show --workflow-id <id> --codec-endpoint http://${defaultAddress}:${defaultPort} [--codec-auth "Bearer <token>"]`,
      ].join('\n'),
    )
    .parse(argv, { from: 'user' });
  const options = program.opts<{
    address: string;
    port: number;
    uiOrigin?: string[];
    authToken?: string;
    auth: boolean;
    namespace?: string;
  }>();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const settings = readSettings();
    setLogLevel(settings.logLevel);
    const auth = options.authToken ?? settings.codecAuthToken;
    assertProtected(options.address, auth, !options.auth);
    if (settings.codec === undefined) {
      throw new IngestError(
        'environment',
        'CODEC_KEYS_MISSING',
        'Set INGEST_CODEC_KEYS (id:base64key,…: the keys the workers encrypt with) — the codec server decodes with them.',
      );
    }
    const namespace = options.namespace ?? settings.temporal.namespace;
    const uiOrigins = options.uiOrigin ?? [...localUiOrigins];
    const server = await startCodecServer({
      codec: new AesGcmCodec(settings.codec),
      host: options.address,
      port: options.port,
      uiOrigins,
      authToken: auth,
      namespaces: [namespace],
    });
    say(`codec server: ${server.url}`);
    say(`  keys        ${settings.codec.ids.join(', ')} (${settings.codec.encryptWith} encrypts)`);
    say(`  namespace   ${namespace}`);
    say(`  UI origins  ${uiOrigins.join(', ')}`);
    say(`  auth        ${auth === undefined ? 'none' : 'Authorization: Bearer token required'}`);
    // The Web UI sends no static token (only its own sign-in's access token, when told to): with one required, only
    // the CLI and scripts can use this server.
    say(
      auth === undefined
        ? `Web UI: set ${server.url} as the codec server endpoint (its Codec Server settings)`
        : 'Web UI: cannot use this server (it sends no --auth-token); for a browser on this machine, run one on ' +
            'loopback without a token',
    );
    say(
      `CLI:    temporal workflow show --workflow-id <id> --codec-endpoint ${server.url}` +
        (auth === undefined ? '' : ` --codec-auth "Bearer <token>"`),
    );
    await untilStopped(stop);
    await server.close();
    return 0;
  } catch (error) {
    console.error(`codec-server: ${describeError(error)}`);
    return 1;
  }
}

function untilStopped(stop: Promise<unknown> | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    void stop?.then(done, done);
  });
}

if (isEntry(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
