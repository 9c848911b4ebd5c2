/**
 * The built worker's stale-build check: it runs when its built migrations are those of the checkout's `migrations/`
 * (by name: `.ts` built as `.js`), and refuses, naming `npm run build` and the migrations that differ, when the
 * checkout has one the build has not, the build has one the checkout no longer has, or nothing was built.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuildCurrent } from '../../../src/app/worker.ts';
import { IngestError } from '../../../src/errors.ts';

let dir: string;
const source = () => join(dir, 'migrations');
const built = () => join(dir, 'dist', 'migrations');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ingest-worker-build-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Replaces both folders: `sources` as `<name>.ts` in migrations/, `builds` as `<name>.js` in dist/migrations/. */
async function layout(sources: readonly string[], builds: readonly string[] | undefined): Promise<void> {
  await rm(source(), { recursive: true, force: true });
  await rm(built(), { recursive: true, force: true });
  await mkdir(source(), { recursive: true });
  for (const name of sources) await writeFile(join(source(), `${name}.ts`), '');
  if (builds === undefined) return;
  await mkdir(built(), { recursive: true });
  for (const name of builds) await writeFile(join(built(), `${name}.js`), '');
}

async function refusal(): Promise<IngestError> {
  const error = await assertBuildCurrent(built(), source()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

describe('assertBuildCurrent', () => {
  it('accepts a build of the same migrations', async () => {
    await layout(['0001_a', '0002_b'], ['0001_a', '0002_b']);
    await expect(assertBuildCurrent(built(), source())).resolves.toBeUndefined();
  });

  it('refuses a build without a migration the checkout added, naming it and `npm run build`', async () => {
    await layout(['0001_a', '0002_b', '0003_c'], ['0001_a', '0002_b']);
    const error = await refusal();
    expect(error.code).toBe('BUILD_STALE');
    expect(error.details['missing']).toEqual(['0003_c']);
    expect(error.message).toContain('0003_c');
    expect(error.message).toContain('npm run build');
  });

  it('refuses a build with a migration the checkout no longer has', async () => {
    await layout(['0001_a'], ['0001_a', '0002_b']);
    const error = await refusal();
    expect(error.code).toBe('BUILD_STALE');
    expect(error.details['extra']).toEqual(['0002_b']);
  });

  it('refuses when nothing was built', async () => {
    await layout(['0001_a'], undefined);
    const error = await refusal();
    expect(error.code).toBe('BUILD_STALE');
    expect(error.details['missing']).toEqual(['0001_a']);
  });
});
