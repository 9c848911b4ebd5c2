/**
 * The Temporal connection settings as the `temporal` CLI reads them (`TEMPORAL_*` over a config file profile): what
 * reaches the connections, and each mistake refused as one `SETTING_INVALID` error naming the variable or the file —
 * never the API key or a key's content.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings, type Environment } from '../../../src/app/settings.ts';
import { clientConnectionOptions, workerConnectionOptions } from '../../../src/app/temporal/connection.ts';
import { describeAddressOrigin, describeConnectOptions } from '../../../src/app/temporal/client-config.ts';
import { isolatedTemporalEnv } from '../../helpers/temporal-env.ts';
import { createTestCertificates, type TestCertificates } from '../../helpers/tls-certificates.ts';

const apiKey = 'sk-secret-0123456789';
let dir: string;
let certs: TestCertificates;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ingest-temporal-settings-'));
  certs = await createTestCertificates(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/**
 * How a PEM private key can appear in printed output: its header line and a line of its body (the secret part) as
 * text, and the header's bytes as a Buffer prints them (`<Buffer 2d 2d …>`, the first 50 bytes) and as JSON or a
 * byte array does (`[45,45,…]`).
 */
function keyRenderings(pem: Buffer): string[] {
  const [header = '', , secretLine = ''] = pem.toString('utf8').split('\n');
  const bytes = [...Buffer.from(header, 'utf8')];
  expect(header).toContain('PRIVATE KEY');
  expect(secretLine.length).toBeGreaterThan(40);
  return [
    header,
    secretLine,
    bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(' '),
    bytes.join(','),
    bytes.join(', '),
  ];
}

/** The error `readSettings(env)` throws (the test fails when it does not throw). */
function refusal(env: Environment): Error & { code?: string; category?: string } {
  try {
    readSettings(env);
  } catch (error) {
    return error as Error & { code?: string; category?: string };
  }
  throw new Error(`readSettings accepted ${JSON.stringify(Object.keys(env))}`);
}

function expectRefused(env: Environment, ...named: string[]): Error {
  const error = refusal(env);
  expect(error).toMatchObject({ code: 'SETTING_INVALID', category: 'environment' });
  for (const name of named) expect(error.message).toContain(name);
  return error;
}

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('Temporal settings', () => {
  it('connects plainly to TEMPORAL_ADDRESS alone, and ignores TLS settings without an address', () => {
    expect(readSettings({ TEMPORAL_ADDRESS: 'temporal.example:7233' }).temporal.connection).toBeUndefined();
    const local = readSettings({ TEMPORAL_API_KEY: apiKey, TEMPORAL_TLS: 'true' }).temporal;
    expect(local).toMatchObject({ address: undefined, namespace: 'default', connection: undefined });
  });

  it('gives client and worker connections TLS and the API key (TLS implied by the key)', () => {
    const { temporal } = readSettings({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_API_KEY: apiKey,
      TEMPORAL_GRPC_META_X_TENANT: 'blue',
    });
    if (!temporal.address) throw new Error('no address');
    const target = { ...temporal, address: temporal.address };
    expect(temporal.namespace).toBe('ns.acct');
    for (const options of [clientConnectionOptions(target), workerConnectionOptions(target)]) {
      expect(options).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', apiKey, tls: true });
      expect(options.metadata).toEqual({ 'x-tenant': 'blue' });
    }
    expect(describeConnectOptions(temporal.connection)).toBe('TLS, API key, gRPC metadata');
  });

  it('reads the mTLS files and the server name into the TLS options', () => {
    const { temporal } = readSettings({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
      TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
    });
    const tls = temporal.connection?.tls;
    if (typeof tls !== 'object') throw new Error('expected TLS options');
    expect(tls.serverNameOverride).toBe('frontend.internal');
    expect(Buffer.from(tls.clientCertPair?.crt ?? []).toString()).toContain('BEGIN CERTIFICATE');
    expect(Buffer.from(tls.serverRootCACertificate ?? []).toString()).toContain('BEGIN CERTIFICATE');
    expect(describeConnectOptions(temporal.connection)).toBe('mTLS');
  });

  it('never prints the API key or the private key: not its text, not its bytes', async () => {
    const { temporal } = readSettings({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_API_KEY: apiKey,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
    });
    expect(temporal.connection?.apiKey).toBe(apiKey);
    const tls = temporal.connection?.tls;
    const key = typeof tls === 'object' ? tls.clientCertPair?.key : undefined;
    expect(key && Buffer.from(key).equals(await readFile(certs.clientKey))).toBe(true);

    let logLine = '';
    pino({}, { write: (line: string) => (logLine += line) }).info({ temporal }, 'settings');
    const printed = [
      describeConnectOptions(temporal.connection),
      JSON.stringify(temporal),
      inspect(temporal, { depth: 10 }),
      inspect(temporal.connection, { depth: 10 }),
      logLine,
    ];
    const forbidden = [apiKey, ...keyRenderings(await readFile(certs.clientKey))];
    for (const shown of printed) {
      for (const secret of forbidden) expect(shown).not.toContain(secret);
      expect(shown).toContain('mTLS, API key');
    }
  });

  it('takes the profile TEMPORAL_PROFILE names, with the variables over it', async () => {
    const file = await configFile(
      'profiles.toml',
      [
        '[profile.default]',
        'address = "default.example:7233"',
        '[profile.cloud]',
        'address = "ns.acct.tmprl.cloud:7233"',
        'namespace = "ns.acct"',
        `api_key = "${apiKey}"`,
        '[profile.broken]', // a mistake in a profile not chosen does not matter
        'address = "broken.example:7233"',
        '[profile.broken.tls]',
        'client_cert_path = "/a.pem"',
        'client_cert_data = "b"',
      ].join('\n'),
    );
    expectRefused(
      { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'broken' },
      'tls.client_cert_path of profile "broken"',
      'tls.client_cert_data',
    );
    const cloud = readSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' }).temporal;
    expect(cloud).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct' });
    expect(cloud.connection).toMatchObject({ apiKey, tls: true });
    expect(readSettings({ TEMPORAL_CONFIG_FILE: file }).temporal.address).toBe('default.example:7233');
    const over = readSettings({
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_NAMESPACE: 'other.acct',
    }).temporal;
    expect(over.namespace).toBe('other.acct');
  });

  it('reads the default config file: $XDG_CONFIG_HOME/temporalio/temporal.toml, else ~/.config/…', async () => {
    const home = join(dir, 'home');
    const xdg = join(dir, 'xdg');
    const homeFile = join(home, '.config', 'temporalio', 'temporal.toml');
    const xdgFile = join(xdg, 'temporalio', 'temporal.toml');
    await mkdir(dirname(homeFile), { recursive: true });
    await mkdir(dirname(xdgFile), { recursive: true });
    await writeFile(homeFile, '[profile.default]\naddress = "from-home.example:7233"\n');
    await writeFile(xdgFile, '[profile.default]\naddress = "from-xdg.example:7233"\n');
    const fromHome = readSettings({ HOME: home }).temporal;
    expect(fromHome.address).toBe('from-home.example:7233');
    expect(fromHome.addressFrom).toEqual({ profile: 'default', file: homeFile });
    const fromXdg = readSettings({ HOME: home, XDG_CONFIG_HOME: xdg }).temporal;
    expect(fromXdg.address).toBe('from-xdg.example:7233');
    expect(fromXdg.addressFrom).toEqual({ profile: 'default', file: xdgFile });
  });

  it('says which profile of which file gave the address, and nothing when TEMPORAL_ADDRESS did', async () => {
    const file = await configFile('origin.toml', '[profile.staging]\naddress = "staging.example:7233"\n');
    const fromFile = readSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' }).temporal;
    const origin = describeAddressOrigin(fromFile);
    expect(origin).toContain('"staging"');
    expect(origin).toContain(file);
    expect(origin).toContain('TEMPORAL_ADDRESS');
    const fromVariable = readSettings({
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'staging',
      TEMPORAL_ADDRESS: 'mine.example:7233',
    }).temporal;
    expect(fromVariable).toMatchObject({ address: 'mine.example:7233', addressFrom: undefined });
    expect(describeAddressOrigin(fromVariable)).toBeUndefined();
  });

  it('reads a config file without any profile (empty, comments only, /dev/null) as one with no profile', async () => {
    const files = [
      await configFile('empty.toml', ''),
      await configFile('comments.toml', '# profiles come later\n'),
      '/dev/null',
    ];
    for (const file of files) {
      expect(readSettings({ TEMPORAL_CONFIG_FILE: file }).temporal).toMatchObject({
        address: undefined,
        namespace: 'default',
      });
      const named = { TEMPORAL_CONFIG_FILE: file, TEMPORAL_ADDRESS: 'a.example:1', TEMPORAL_NAMESPACE: 'ns' };
      expect(readSettings(named).temporal).toMatchObject({ address: 'a.example:1', namespace: 'ns' });
      const error = expectRefused(
        { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' },
        'TEMPORAL_PROFILE',
      );
      expect(error.message).toContain('has no profile');
    }
    // The default file too: one with only a comment must not stop every process.
    const home = join(dir, 'home-comments');
    await mkdir(join(home, '.config', 'temporalio'), { recursive: true });
    await writeFile(join(home, '.config', 'temporalio', 'temporal.toml'), '# nothing yet\n');
    expect(readSettings({ HOME: home, TEMPORAL_ADDRESS: 'a.example:1' }).temporal.address).toBe(
      'a.example:1',
    );
  });

  it("gives tests only the Temporal they name: not the user's config file, profile or credentials", async () => {
    const home = join(dir, 'home-of-a-developer');
    await mkdir(join(home, '.config', 'temporalio'), { recursive: true });
    await writeFile(
      join(home, '.config', 'temporalio', 'temporal.toml'),
      `[profile.default]\naddress = "cloud.example:7233"\napi_key = "${apiKey}"\n`,
    );
    const developer = { HOME: home, TEMPORAL_TLS: 'true', TEMPORAL_CLI_PATH: '/opt/temporal' };
    expect(readSettings(developer).temporal.address).toBe('cloud.example:7233');
    const isolated = isolatedTemporalEnv({ ...developer, TEMPORAL_ADDRESS: '127.0.0.1:7233' });
    expect(isolated).toMatchObject({ TEMPORAL_CONFIG_FILE: '/dev/null', TEMPORAL_CLI_PATH: '/opt/temporal' });
    expect(isolated['TEMPORAL_TLS']).toBeUndefined();
    const settings = readSettings(isolated);
    expect(settings.temporal).toMatchObject({ address: '127.0.0.1:7233', connection: undefined });
    expect(settings.temporalCli.path).toBe('/opt/temporal');
  });

  it('refuses an API key together with an authorization header, naming both settings', async () => {
    const address = { TEMPORAL_ADDRESS: 'temporal.internal:7233' };
    const header = 'Bearer another-credential';
    const both = expectRefused(
      { ...address, TEMPORAL_API_KEY: apiKey, TEMPORAL_GRPC_META_AUTHORIZATION: header },
      'TEMPORAL_API_KEY',
      'TEMPORAL_GRPC_META_AUTHORIZATION',
    );
    expect(both.message).not.toContain(apiKey);
    expect(both.message).not.toContain(header);
    const keyInFile = await configFile(
      'key.toml',
      `[profile.default]\naddress = "a:1"\napi_key = "${apiKey}"\n`,
    );
    expectRefused(
      { TEMPORAL_CONFIG_FILE: keyInFile, TEMPORAL_GRPC_META_AUTHORIZATION: header },
      'api_key of profile "default"',
      'TEMPORAL_GRPC_META_AUTHORIZATION',
    );
    const headerInFile = await configFile(
      'header.toml',
      `[profile.default]\naddress = "a:1"\n[profile.default.grpc_meta]\nAuthorization = "${header}"\n`,
    );
    expectRefused(
      { TEMPORAL_CONFIG_FILE: headerInFile, TEMPORAL_API_KEY: apiKey },
      'TEMPORAL_API_KEY',
      'grpc_meta.Authorization of profile "default"',
    );
    // Removing the file's header with an empty variable, or another header, is fine.
    const cleared = readSettings({
      TEMPORAL_CONFIG_FILE: keyInFile,
      TEMPORAL_GRPC_META_AUTHORIZATION: '',
      TEMPORAL_GRPC_META_X_TENANT: 'blue',
    }).temporal.connection;
    expect(cleared).toMatchObject({ apiKey, metadata: { 'x-tenant': 'blue' } });
  });

  it('refuses a profile the file does not have, listing the ones it has', async () => {
    const file = await configFile(
      'two.toml',
      '[profile.dev]\naddress = "a:1"\n[profile.prod]\naddress = "b:1"\n',
    );
    const error = expectRefused(
      { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' },
      'TEMPORAL_PROFILE',
    );
    expect(error.message).toContain('staging');
    expect(error.message).toContain('"dev", "prod"');
  });

  it('refuses a config file that is not TOML by line, without quoting the line (it may hold the key)', async () => {
    const file = await configFile('broken.toml', `[profile.default]\napi_key = "${apiKey}\n`);
    const error = expectRefused({ TEMPORAL_CONFIG_FILE: file }, file, 'line 2');
    expect(error.message).not.toContain(apiKey);
    expect(inspect(error)).not.toContain(apiKey);
  });

  it('refuses a TEMPORAL_CONFIG_FILE that does not exist', () => {
    expectRefused(
      { TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') },
      'TEMPORAL_CONFIG_FILE',
      'missing.toml',
    );
  });

  it('refuses a certificate file that does not exist, naming the variable and the path', () => {
    const missing = join(dir, 'nope.pem');
    expectRefused(
      {
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_TLS_CLIENT_CERT_PATH: missing,
        TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
      },
      'TEMPORAL_TLS_CLIENT_CERT_PATH',
      missing,
    );
  });

  it('names the profile key when the file set the missing certificate', async () => {
    const file = await configFile(
      'mtls.toml',
      '[profile.default]\naddress = "a:1"\n[profile.default.tls]\nserver_ca_cert_path = "/no/such/ca.pem"\n',
    );
    expectRefused({ TEMPORAL_CONFIG_FILE: file }, 'tls.server_ca_cert_path', 'profile "default"', file);
  });

  it('refuses data that is not PEM without echoing it', () => {
    const secret = 'not-a-key-but-secret-looking';
    const error = expectRefused(
      {
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
        TEMPORAL_TLS_CLIENT_KEY_DATA: secret,
      },
      'TEMPORAL_TLS_CLIENT_KEY_DATA',
    );
    expect(error.message).not.toContain(secret);
  });

  it('refuses half an mTLS pair, both a path and data, a bad boolean and host verification turned off', () => {
    const address = { TEMPORAL_ADDRESS: 'temporal.internal:7233' };
    expectRefused({ ...address, TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert }, 'TEMPORAL_TLS_CLIENT_KEY');
    expectRefused(
      { ...address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert, TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'x' },
      'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
      'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
    );
    expectRefused({ ...address, TEMPORAL_TLS: 'yes' }, 'TEMPORAL_TLS');
    expectRefused(
      { ...address, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' },
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
      'TEMPORAL_TLS_SERVER_NAME',
    );
  });
});
