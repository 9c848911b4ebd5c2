/**
 * The runtime's metrics exporter listens on a free loopback port picked before Core binds it, so another process
 * may take it first: the install then tries another port (a few times), and when none works fails as
 * `METRICS_LISTEN_FAILED` naming the address — after which the process may still install the runtime. Each case
 * runs in a process of its own (`fixtures/install-exporter.ts`): the runtime installs once per process.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/install-exporter.ts', import.meta.url));

async function install(mode: 'retry' | 'fail'): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fixture, mode], {
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe('installing the metrics exporter', () => {
  it('moves to another loopback port when the one picked was taken', async () => {
    const [retried, failed] = await Promise.all([install('retry'), install('fail')]);
    expect(retried['address']).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(retried['address']).not.toBe(`127.0.0.1:${String(retried['takenPort'])}`);
    expect(retried['status']).toBe(200);

    expect(failed['code']).toBe('METRICS_LISTEN_FAILED');
    expect(failed['message']).toContain(`127.0.0.1:${String(failed['takenPort'])}`);
    expect(failed['installedAfter']).toBe('yes');
  });
});
