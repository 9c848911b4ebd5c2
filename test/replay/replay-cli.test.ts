/**
 * `npm run replay -- <history.json>`: the verdict on stdout and the exit code say whether a history replays against
 * the workflow code — 0 ok, 1 non-deterministic (with the readable reason), 2 the replay could not run.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runReplayCli } from '../helpers/replay-cli.ts';

const fixture = fileURLToPath(new URL('./histories/fixture__communications__retried.json', import.meta.url));
const unguarded = fileURLToPath(new URL('./workflows/pause-unguarded.ts', import.meta.url));

describe('npm run replay', () => {
  it('says ok and exits 0 for a history the current code replays', async () => {
    const result = await runReplayCli([fixture]);
    expect(result.stdout).toMatch(
      /^ok: fixture__communications__retried\.json \(ingestSource, \d+ events\) replays deterministically/,
    );
    expect(result.code).toBe(0);
  });

  it('says NON-DETERMINISTIC with the reason and exits 1 for an incompatible change', async () => {
    const result = await runReplayCli(['--workflows', unguarded, fixture]);
    expect(result.stdout).toContain('NON-DETERMINISTIC: fixture__communications__retried.json');
    expect(result.stdout).toContain(
      'reason: [TMPRL1100] Nondeterminism error: Timer machine does not handle this event: HistoryEvent(id: 5, UpsertWorkflowSearchAttributes)',
    );
    expect(result.code).toBe(1);
  });

  it('exits 2 when the history cannot be read', async () => {
    const result = await runReplayCli(['no-such-history.json']);
    expect(result.stderr).toMatch(/^replay: ENOENT/);
    expect(result.code).toBe(2);
  });

  it('exits 2 for a workflow id when no server is configured', async () => {
    const result = await runReplayCli(['ingest/communications/x'], { TEMPORAL_ADDRESS: '' });
    expect(result.stderr).toContain('set TEMPORAL_ADDRESS');
    expect(result.code).toBe(2);
  });
});
