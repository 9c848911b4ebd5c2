/**
 * `createTestCertificates(dir)`: a throwaway PKI made with the machine's `openssl` — a CA, a server certificate for
 * `localhost` and 127.0.0.1, and a client certificate — for tests of TLS and mTLS connections. EC P-256 keys in
 * PKCS#8 PEM (what both Node and the Temporal Core's rustls read), valid for a day.
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

/** Writes the CA, the server's and the client's certificates and keys into `dir`. */
export async function createTestCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string) => join(dir, name);
  const key = (name: string) =>
    run('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      file(name),
    ]);
  await Promise.all([key('ca.key'), key('server.key'), key('client.key')]);
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    file('ca.key'),
    '-subj',
    '/CN=durable-ingest test CA',
    '-days',
    '1',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    file('ca.pem'),
  ]);
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
      'subjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  await issue(
    'client',
    '/CN=durable-ingest test worker',
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
