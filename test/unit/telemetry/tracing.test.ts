/**
 * Tracing never costs the process its clean exit: with a collector that refuses connections, the spans still
 * buffered are lost at shutdown (logged), and shutdown resolves.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { inSpan } from '../../../src/telemetry/spans.ts';
import { startTracing } from '../../../src/telemetry/tracing.ts';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('startTracing', () => {
  it('shuts down cleanly when the collector refuses the last spans', async () => {
    const tracing = startTracing(`http://127.0.0.1:${await closedPort()}/v1/traces`);
    const recording = await inSpan('ingest.merge', { 'ingest.resource': 'orders' }, (span) =>
      Promise.resolve(span.isRecording()),
    );
    expect(recording).toBe(true);
    await expect(tracing.shutdown()).resolves.toBeUndefined();
    // Back to the no-op API: later spans are not recorded.
    expect(await inSpan('ingest.merge', {}, (span) => Promise.resolve(span.isRecording()))).toBe(false);
  });
});
