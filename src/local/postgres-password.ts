/**
 * The embedded cluster's password: random per data folder, chosen when its cluster is initialised, and kept in the
 * cluster's folder as a pgpass file (`.pgpass`, mode 0600) — so a person connects with `PGPASSFILE=<that file> psql
 * <url>` while printed URLs carry no password. Every start reads the file: a folder made before there was one has the
 * old fixed password, which its first start records, so old and new folders take the same path. Nothing rotates a
 * password: a person changes it with `ALTER ROLE ingest PASSWORD '…'` and the same change to the file (README).
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IngestError } from '../errors.ts';

/** The password file's name in the cluster's folder (PGDATA; Postgres ignores files it does not know). */
export const passwordFileName = '.pgpass';

/** The password every embedded cluster had before it was random: folders made then still have it. */
export const legacyPassword = 'ingest';

/** The password file of the cluster in `clusterDir`. */
export function passwordFile(clusterDir: string): string {
  return join(clusterDir, passwordFileName);
}

/** A new random password: 192 bits, base64url (so no character a pgpass line or a URL must escape). */
export function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Writes the pgpass file: one line for `user` on `host`, any port and database (a cluster's port may change between
 * starts). Atomically: a new file, mode 0600 from its creation (libpq ignores a pgpass file others can read, and the
 * password is never in one), flushed, then renamed over the old one — so a crash leaves the old file or the new one,
 * never a part of it, and a file that was readable by others (or linked elsewhere) never receives the password.
 */
export async function writePasswordFile(
  file: string,
  entry: { readonly host: string; readonly user: string; readonly password: string },
): Promise<void> {
  const line = [entry.host, '*', '*', entry.user, entry.password].map(escapeField).join(':');
  const temporary = `${file}.${randomBytes(6).toString('hex')}.new`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${line}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * The password for `user` in the pgpass file, or undefined when there is no file (a folder made before there was
 * one). A file others can read is made private again (libpq would ignore it). A file without a line for `user`
 * is an error: the cluster's password would be a guess.
 */
export async function readPasswordFile(file: string, user: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields.length === 5 && (fields[3] === user || fields[3] === '*')) return fields[4];
  }
  throw new IngestError(
    'environment',
    'EMBEDDED_POSTGRES_PASSWORD_MISSING',
    `${file} has no line for the user "${user}" (host:port:database:user:password): write the cluster's password ` +
      'there, or delete the data folder to start afresh.',
  );
}

/** pgpass escapes `:` and `\` with a backslash. */
function escapeField(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll(':', '\\:');
}

/** The fields of a pgpass line: split at unescaped colons, escapes removed. */
function splitFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (char === '\\' && i + 1 < line.length) {
      i += 1;
      field += line[i];
    } else if (char === ':') {
      fields.push(field);
      field = '';
    } else {
      field += char;
    }
  }
  fields.push(field);
  return fields;
}
