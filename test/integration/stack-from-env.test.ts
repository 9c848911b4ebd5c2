/**
 * `TEMPORAL_ADDRESS` and `DATABASE_URL` name servers we did not start: the stack must use them, not start its own,
 * and must fail with a clear, classified error when they do not answer.
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startLocalStack } from '../../src/local/stack.ts';
import { readSettings } from '../../src/app/settings.ts';
import { freePort } from '../../src/local/ports.ts';

describe('the local stack with servers from the environment', () => {
  const { temporalAddress, databaseUrl } = inject('stack');

  it('uses TEMPORAL_ADDRESS and DATABASE_URL instead of starting embedded servers', async () => {
    const stack = await startLocalStack({
      purpose: 'test',
      settings: readSettings({ TEMPORAL_ADDRESS: temporalAddress, DATABASE_URL: databaseUrl, PATH: '' }),
    });
    try {
      expect(stack.temporal).toMatchObject({ address: temporalAddress, managed: false });
      expect(stack.postgres).toMatchObject({ url: databaseUrl, managed: false });
    } finally {
      await stack.stop();
    }
  });

  it('says which variable is wrong when DATABASE_URL does not answer', async () => {
    const port = await freePort();
    await expect(
      startLocalStack({
        purpose: 'test',
        settings: readSettings({
          TEMPORAL_ADDRESS: temporalAddress,
          DATABASE_URL: `postgres://u:hunter2@127.0.0.1:${port}/x`,
        }),
      }),
    ).rejects.toMatchObject({
      code: 'DATABASE_UNREACHABLE',
      message: expect.stringContaining('DATABASE_URL is set but its Postgres does not answer') as unknown,
    });
  });

  it('never echoes the password of DATABASE_URL in that error', async () => {
    const port = await freePort();
    const error: unknown = await startLocalStack({
      purpose: 'test',
      settings: readSettings({
        TEMPORAL_ADDRESS: temporalAddress,
        DATABASE_URL: `postgres://u:hunter2@127.0.0.1:${port}/x`,
      }),
    }).catch((e: unknown) => e);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('hunter2');
  });
});
