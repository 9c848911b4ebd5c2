/**
 * The sources folder the chaos suite's worker serves: the shipped `communications` and `messaging` files, read from
 * `sources/` at every run so they never drift, with two changes a team would make for such an API:
 * - `user_call_records` is read page by page (the sandbox's paged route, 1 000 records a page) instead of as one
 *   body, so that a crash resumes after the last checkpointed page — the path the suite exists to prove;
 * - a `retry` block sized for a storm in which nearly half of all requests fail: many attempts, short backoffs
 *   (the default budget, 8 transient failures per resource, is meant for a healthy API).
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { shippedSourcesDir } from '../../src/config/registry.ts';
import { maxPerPage } from '../../src/sandbox/routes-communications.ts';

/** Call records per page (the most the sandbox's paged route serves). */
export const callRecordsPerPage = maxPerPage;

/** The retry budget of both chaos sources (docs/config.md, "Retry budget"). */
const stormRetry = { max_attempts: 1000, initial_delay_seconds: 0.05, max_delay_seconds: 0.25 };

interface SourceFile {
  retry?: unknown;
  resources: { name: string; endpoint: Record<string, unknown> }[];
}

/** Writes the two chaos source files into `dir` and returns it. */
export async function writeChaosSources(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const communications = await readSource('communications.yaml');
  const callRecords = communications.resources.find((resource) => resource.name === 'user_call_records');
  if (callRecords === undefined) throw new Error('sources/communications.yaml has no user_call_records');
  callRecords.endpoint['params'] = { perPage: callRecordsPerPage };
  callRecords.endpoint['paginator'] = {
    type: 'page_number',
    page_param: 'page',
    base_page: 1,
    total_path: 'paging.totalPages',
  };
  communications.retry = stormRetry;
  const messaging = await readSource('messaging.yaml');
  messaging.retry = stormRetry;
  await writeFile(join(dir, 'communications.yaml'), stringify(communications));
  await writeFile(join(dir, 'messaging.yaml'), stringify(messaging));
  return dir;
}

async function readSource(file: string): Promise<SourceFile> {
  return parse(await readFile(join(shippedSourcesDir, file), 'utf8')) as SourceFile;
}
