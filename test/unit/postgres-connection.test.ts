/**
 * What a Postgres URL's TLS parameters become (`postgresClientConfig`): libpq's `sslmode` meanings, and a wrong
 * parameter or an unusable certificate file refused as `SETTING_INVALID` naming it — never echoing the URL's password
 * or a file's content. The URL shown to a person has no password (`withoutPassword`), and an OpenSSL failure is a TLS
 * failure (`postgresRefusal`). (Connections over TLS to a real server: test/integration/database-tls.test.ts.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresClientConfig, postgresRefusal, withoutPassword } from '../../src/postgres-connection.ts';
import { createTestCertificates, type TestCertificates } from '../helpers/tls-certificates.ts';

const base = 'postgres://u:hunter2@db.example.com:5432/ingest';
let folder: string;
let ca: string;
let certs: TestCertificates;
/** A file that is no PEM at all, and the client key encrypted with a passphrase. */
let notPem: string;
let encryptedKey: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ingest-pg-url-'));
  ca = join(folder, 'ca-file.pem');
  await writeFile(ca, 'the CA file\n');
  notPem = join(folder, 'not-pem.txt');
  await writeFile(notPem, 'not-a-pem-file-content\n');
  certs = await createTestCertificates(folder);
  encryptedKey = join(folder, 'encrypted.key');
  await promisify(execFile)('openssl', [
    'pkey',
    '-in',
    certs.clientKey,
    '-aes256',
    '-passout',
    'pass:secret-passphrase',
    '-out',
    encryptedKey,
  ]);
});
afterAll(() => rm(folder, { recursive: true, force: true }));

/** The `ssl` option of the client configuration of `base?query`. */
const ssl = (query: string) => postgresClientConfig(`${base}?${query}`).ssl;

/** The error `postgresClientConfig(base?query)` throws. */
function refusal(query: string): Error {
  try {
    postgresClientConfig(`${base}?${query}`);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`${query} was accepted`);
}

describe('the TLS parameters of a Postgres URL', () => {
  it('keep libpq’s sslmode meanings', () => {
    expect(postgresClientConfig(base).ssl).toBe(false);
    expect(ssl('sslmode=disable')).toBe(false);
    // prefer and require: encrypted, the certificate unchecked; with a CA file, require checks the chain.
    expect(ssl('sslmode=prefer')).toEqual({ rejectUnauthorized: false });
    expect(ssl('sslmode=require')).toEqual({ rejectUnauthorized: false });
    expect(ssl(`sslmode=require&sslrootcert=${ca}`)).toMatchObject({ ca: 'the CA file\n' });
    expect(ssl(`sslmode=require&sslrootcert=${ca}`)).not.toHaveProperty('rejectUnauthorized');
    // verify-ca: the chain, not the host name; verify-full: both (Node's trusted CAs without a file).
    expect(ssl(`sslmode=verify-ca&sslrootcert=${ca}`)).toMatchObject({
      ca: 'the CA file\n',
      checkServerIdentity: expect.any(Function) as unknown,
    });
    expect(ssl(`sslmode=verify-full&sslrootcert=${ca}`)).toEqual({ ca: 'the CA file\n' });
    expect(ssl('sslmode=verify-full')).toEqual({});
    expect(ssl('sslrootcert=system')).toEqual({});
    expect(ssl('sslmode=verify-full&sslrootcert=system&uselibpqcompat=false')).toEqual({});
  });

  it('read prefer as require, a CA file included: the chain is checked, as libpq does for both', () => {
    const prefer = ssl(`sslmode=prefer&sslrootcert=${ca}`);
    expect(prefer).toMatchObject({
      ca: 'the CA file\n',
      checkServerIdentity: expect.any(Function) as unknown,
    });
    expect(prefer).not.toHaveProperty('rejectUnauthorized');
    expect(Object.keys(prefer as object).sort()).toEqual(
      Object.keys(ssl(`sslmode=require&sslrootcert=${ca}`) as object).sort(),
    );
  });

  it('keep the rest of the URL', () => {
    expect(postgresClientConfig(`${base}?sslmode=require&application_name=x`)).toMatchObject({
      host: 'db.example.com',
      port: 5432,
      user: 'u',
      password: 'hunter2',
      database: 'ingest',
      application_name: 'x',
    });
  });

  it('take a client certificate with its key', async () => {
    expect(ssl(`sslmode=require&sslcert=${certs.clientCert}&sslkey=${certs.clientKey}`)).toMatchObject({
      cert: await readFile(certs.clientCert, 'utf8'),
      key: await readFile(certs.clientKey, 'utf8'),
    });
  });

  it.each([
    ['an sslmode libpq has but node-postgres cannot do', 'sslmode=allow', 'sslmode'],
    ['an unknown sslmode', 'sslmode=on', 'sslmode'],
    ['node-postgres’s ssl=no-verify', 'ssl=no-verify', 'sslmode=require'],
    ['verify-ca without a CA file', 'sslmode=verify-ca', 'sslrootcert'],
    ['the machine’s CAs with a weaker mode', 'sslmode=require&sslrootcert=system', 'sslrootcert=system'],
    [
      'a CA file that is not there',
      'sslmode=verify-full&sslrootcert=/nonexistent/ca.pem',
      '/nonexistent/ca.pem',
    ],
    // libpq would take prefer, node-postgres verify-full, and "no sslmode" reads as "no TLS": it must say.
    ['a CA file without an sslmode', 'sslrootcert=/etc/ssl/ca.pem', 'sslrootcert'],
    ['a client certificate without an sslmode', 'sslcert=/c.pem&sslkey=/c.key', 'sslcert, sslkey'],
    ['a client certificate without its key', 'sslmode=require&sslcert=/c.pem', 'sslcert without sslkey'],
    ['a client key without its certificate', 'sslmode=require&sslkey=/c.key', 'sslkey without sslcert'],
  ])('refuse %s as SETTING_INVALID, naming it', (_case, query, named) => {
    const error = refusal(query);
    expect(error).toMatchObject({
      code: 'SETTING_INVALID',
      message: expect.stringContaining(named) as unknown,
    });
    expect(error.message).not.toContain('hunter2');
  });

  it.each([
    ['a client certificate that is not there', 'cert', 'sslcert /nonexistent/c.pem'],
    ['a client key that is not there', 'key', 'sslkey /nonexistent/c.key'],
    ['a client certificate that is not PEM', 'cert-not-pem', 'sslcert'],
    ['a client key that is not PEM', 'key-not-pem', 'sslkey'],
    ['an encrypted client key', 'key-encrypted', 'sslkey'],
    ['a client key that is not the certificate’s', 'mismatch', 'do not match'],
  ] as const)('refuse %s as SETTING_INVALID, naming it, never the content', async (_case, broken, named) => {
    const files = {
      cert: { sslcert: '/nonexistent/c.pem', sslkey: certs.clientKey },
      key: { sslcert: certs.clientCert, sslkey: '/nonexistent/c.key' },
      'cert-not-pem': { sslcert: notPem, sslkey: certs.clientKey },
      'key-not-pem': { sslcert: certs.clientCert, sslkey: notPem },
      'key-encrypted': { sslcert: certs.clientCert, sslkey: encryptedKey },
      mismatch: { sslcert: certs.clientCert, sslkey: certs.serverKey },
    }[broken];
    const error = refusal(`sslmode=verify-full&${new URLSearchParams(files).toString()}`);
    expect(error).toMatchObject({
      code: 'SETTING_INVALID',
      message: expect.stringContaining(named) as unknown,
    });
    if (broken === 'mismatch') expect(error.message).toMatch(/sslcert .* and sslkey /);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('not-a-pem-file-content');
    expect(error.message).not.toContain('BEGIN');
    const key = await readFile(files.sslkey, 'utf8').catch(() => '');
    for (const line of key.split('\n').filter((text) => text.length > 20))
      expect(error.message).not.toContain(line);
  });
});

describe('withoutPassword', () => {
  it('drops the password from the user part and from the query parameters node-postgres reads', () => {
    const shown = withoutPassword(
      'postgres://u:hunter2@db.example.com/ingest?password=hunter3&sslpassword=hunter4&sslmode=require',
    );
    expect(shown).not.toMatch(/hunter/);
    const url = new URL(shown);
    expect(url.username).toBe('u');
    expect(url.searchParams.get('sslmode')).toBe('require');
    expect(withoutPassword('postgres://u@db.example.com/ingest?sslmode=require')).toBe(
      'postgres://u@db.example.com/ingest?sslmode=require',
    );
    expect(withoutPassword('not a url hunter2')).not.toContain('hunter2');
  });
});

describe('postgresRefusal', () => {
  it('takes an OpenSSL error (ERR_OSSL_*) for a TLS failure', async () => {
    let openssl: unknown;
    try {
      createSecureContext({ key: await readFile(encryptedKey, 'utf8') });
    } catch (error) {
      openssl = error;
    }
    expect((openssl as { code?: unknown }).code).toMatch(/^ERR_OSSL_/);
    expect(postgresRefusal(new Error('connect failed', { cause: openssl }))).toMatchObject({
      code: 'DATABASE_TLS_FAILED',
    });
  });
});
