/**
 * `createTestCertificates(dir)`: a throwaway PKI made with the machine's `openssl` — a CA, a server certificate for
 * `localhost` and 127.0.0.1 (or the names a test gives), and a client certificate — for tests of TLS and mTLS
 * connections; `createOtherCa(dir)`: a CA that signed none of them. EC P-256 keys in PKCS#8 PEM (what Node, Postgres
 * and the Temporal Core's rustls read), valid for a day. The files are `ca.pem`, `server.pem`/`.key`,
 * `client.pem`/`.key` and `other-ca.pem` in `dir`.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths of the PEM files. */
export interface TestCertificates {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** What the certificates are for, when a test needs other names than the defaults. */
export interface TestCertificateOptions {
  /** The server certificate's subjectAltName (default `DNS:localhost,IP:127.0.0.1`). */
  readonly serverAltNames?: string;
  /** The client certificate's subject (default `/CN=durable-ingest test worker`; Postgres wants the user's name). */
  readonly clientSubject?: string;
}

/** Writes the CA, the server's and the client's certificates and keys into `dir`. */
export async function createTestCertificates(
  dir: string,
  options: TestCertificateOptions = {},
): Promise<TestCertificates> {
  const file = (name: string) => join(dir, name);
  await Promise.all([key(file('ca.key')), key(file('server.key')), key(file('client.key'))]);
  await selfSigned(file('ca.key'), '/CN=durable-ingest test CA', file('ca.pem'));
  const issue = async (name: string, subject: string, extensions: string) => {
    await writeFile(file(`${name}.ext`), extensions);
    await run('openssl', [
      'req',
      '-new',
      '-key',
      file(`${name}.key`),
      '-subj',
      subject,
      '-out',
      file(`${name}.csr`),
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.pem`),
    ]);
  };
  // One at a time: both signings write the CA's serial file.
  await issue(
    'server',
    '/CN=localhost',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
      `subjectAltName=${options.serverAltNames ?? 'DNS:localhost,IP:127.0.0.1'}\n`,
  );
  await issue(
    'client',
    options.clientSubject ?? '/CN=durable-ingest test worker',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  return {
    caCert: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
}

/** Writes `other-ca.pem` (and its key) into `dir`: a CA that signed nothing a server presents. Returns its path. */
export async function createOtherCa(dir: string): Promise<string> {
  const file = (name: string) => join(dir, name);
  await key(file('other-ca.key'));
  await selfSigned(file('other-ca.key'), '/CN=another test CA', file('other-ca.pem'));
  return file('other-ca.pem');
}

function key(path: string) {
  return run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

async function selfSigned(keyPath: string, subject: string, out: string): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    keyPath,
    '-subj',
    subject,
    '-days',
    '1',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    out,
  ]);
}
