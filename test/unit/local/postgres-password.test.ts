/**
 * The embedded cluster's pgpass file (`postgres-password.ts`): written whole and private — a new file, mode 0600,
 * renamed over the old one, so a file others could read (or one linked elsewhere) never receives the password — and
 * read back as libpq reads it. (The cluster that uses it: test/integration/embedded-postgres-password.test.ts.)
 */
import { chmod, link, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPasswordFile, writePasswordFile } from '../../../src/local/postgres-password.ts';

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ingest-pgpass-'));
});
afterAll(() => rm(folder, { recursive: true, force: true }));

describe('the pgpass file', () => {
  it('replaces an old file others can read without ever writing the password into it', async () => {
    const file = join(folder, '.pgpass');
    await writeFile(file, '127.0.0.1:*:*:ingest:old\n');
    await chmod(file, 0o644);
    const other = join(folder, 'a link to the old file');
    await link(file, other);

    await writePasswordFile(file, { host: '127.0.0.1', user: 'ingest', password: 'n3w:pass\\word' });

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readPasswordFile(file, 'ingest')).toBe('n3w:pass\\word');
    // The old file (its other name) still holds only what it held: the new password went to a new file.
    expect(await readFile(other, 'utf8')).toBe('127.0.0.1:*:*:ingest:old\n');
    // No temporary file is left beside it.
    expect((await readdir(folder)).sort()).toEqual(['.pgpass', 'a link to the old file']);
  });

  it('is read as undefined when there is none, and refused when it has no line for the user', async () => {
    expect(await readPasswordFile(join(folder, 'none'), 'ingest')).toBeUndefined();
    const file = join(folder, 'other-user');
    await writePasswordFile(file, { host: '127.0.0.1', user: 'someone', password: 'x' });
    await expect(readPasswordFile(file, 'ingest')).rejects.toMatchObject({
      code: 'EMBEDDED_POSTGRES_PASSWORD_MISSING',
    });
  });
});
