/**
 * `until(what, probe)`: polls `probe` every 50 ms until it returns something other than undefined, for waiting on
 * an effect a test cannot subscribe to (a checkpoint row, a log entry); fails naming `what` after the timeout.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
