/**
 * Benchmark of the sandbox's streaming (`npm run bench:sandbox`): a child process runs the sandbox with 1 M call
 * records (so that its memory is measured alone), this process requests `/v1/user_call_records` — one
 * `single_page` response — with undici and discards the body while counting bytes. Prints bytes, seconds, MB/s,
 * records/s and the server's peak RSS against the targets (≥ 100 MB/s, < 150 MB).
 *
 *   npm run bench:sandbox -- [--records 1000000] [--runs 2]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startSandbox } from '../src/sandbox/server.ts';

const targetMBps = 100;
const targetRssMB = 150;

type ChildMessage =
  | { readonly type: 'ready'; readonly url: string; readonly key: string }
  | { readonly type: 'memory'; readonly rss: number; readonly peakRss: number };

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const raw = index >= 0 ? process.argv[index + 1] : undefined;
  const value = Number(raw);
  return raw !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

/** The child: serves, and answers memory questions over IPC. */
async function runChild(records: number): Promise<void> {
  const sandbox = await startSandbox({ counts: { user_call_records: records }, logLimit: 100 });
  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  process.on('message', (message: unknown) => {
    if (message === 'memory') {
      // maxRSS is the peak resident set of this process since it started, in KiB.
      send({
        type: 'memory',
        rss: process.memoryUsage().rss,
        peakRss: process.resourceUsage().maxRSS * 1024,
      });
    } else if (message === 'stop') {
      void sandbox.stop().then(() => process.exit(0));
    }
  });
  send({ type: 'ready', url: sandbox.url, key: sandbox.keys.communications });
}

function nextMessage<T extends ChildMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<ChildMessage, { type: T }>);
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`sandbox child exited (${code}) before "${type}"`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** VmHWM (peak RSS) of a process from /proc, in bytes, where available. */
async function procPeakRss(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

async function runParent(records: number, runs: number): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', '--records', String(records)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await nextMessage(child, 'ready');
    child.send('memory');
    const before = await nextMessage(child, 'memory');
    console.log(
      `sandbox child pid ${child.pid}: RSS ${mb(before.rss)} MB before serving; ${records} call records`,
    );

    let ok = true;
    for (let run = 1; run <= runs; run += 1) {
      const url = `${ready.url}/v1/user_call_records?api_key=${encodeURIComponent(ready.key)}`;
      const started = performance.now();
      const { statusCode, body } = await request(url);
      let bytes = 0;
      let head = '';
      let tail: Buffer = Buffer.alloc(0);
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (head.length < 9) head += chunk.subarray(0, 9).toString();
        bytes += chunk.length;
        tail = chunk;
      }
      const seconds = (performance.now() - started) / 1000;
      const wellFormed = statusCode === 200 && head.startsWith('{"data":[') && tail.toString().endsWith(']}');
      child.send('memory');
      const memory = await nextMessage(child, 'memory');
      const vmHwm = await procPeakRss(child.pid);
      const rate = bytes / 1e6 / seconds;
      const peak = Math.max(memory.peakRss, vmHwm ?? 0);
      ok &&= wellFormed && rate >= targetMBps && peak < targetRssMB * 1e6;
      console.log(
        [
          `run ${run}: ${bytes} bytes (${mb(bytes)} MB) in ${seconds.toFixed(2)} s`,
          `${rate.toFixed(1)} MB/s (target ≥ ${targetMBps})`,
          `${Math.round(records / seconds)} records/s`,
          `server RSS now ${mb(memory.rss)} MB, peak ${mb(peak)} MB (target < ${targetRssMB})`,
          wellFormed ? 'body well-formed' : `BODY NOT AS EXPECTED (status ${statusCode})`,
        ].join(' | '),
      );
    }
    console.log(ok ? 'PASS: both targets met' : 'FAIL: a target was missed (see above)');
    process.exitCode = ok ? 0 : 1;
  } finally {
    child.send('stop');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const records = argument('records', 1_000_000);
if (process.argv.includes('--child')) {
  await runChild(records);
} else {
  await runParent(records, argument('runs', 2));
}
