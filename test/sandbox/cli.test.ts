import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createSandboxCommand, optionsFromFlags, type SandboxCliFlags } from '../../src/sandbox/cli.ts';
import { fetchText } from './helpers.ts';

function parseFlags(args: readonly string[]): SandboxCliFlags {
  const command = createSandboxCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  command.parse([...args], { from: 'user' });
  return command.opts<SandboxCliFlags>();
}

describe('sandbox command line', () => {
  it('turns flags into options', () => {
    const options = optionsFromFlags(
      parseFlags([
        '--port',
        '0',
        '--seed',
        '9',
        '--count',
        'user_call_records=1000000',
        '--count',
        'contacts=0',
        '--hostile',
        '5',
        '--revision',
        '2',
        '--messaging-key',
        'mk',
        '--final-after-polls',
        '3',
        '--preload-messages',
        '5000',
        '--token-ttl-ms',
        '500',
        '--fault',
        'GET /v1/call_queues:429:retry-after=2:times=3',
        '--fault',
        '/messaging/v1/sms:500:phase=after',
      ]),
    );
    expect(options).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      seed: 9,
      counts: { user_call_records: 1_000_000, contacts: 0 },
      hostile: { every: 5 },
      revision: 2,
      keys: { messaging: 'mk' },
      messages: { finalAfterPolls: 3, preload: { count: 5000 } },
      generic: { tokenTtlMs: 500 },
    });
    expect(options.faults).toHaveLength(2);
    expect(options.faults?.[0]).toMatchObject({ method: 'GET', times: 3, fault: { status: 429 } });
  });

  it('defaults to loopback on port 4010', () => {
    expect(optionsFromFlags(parseFlags([]))).toMatchObject({ host: '127.0.0.1', port: 4010, seed: 1 });
  });

  it.each([
    [['--count', 'nope=3'], /unknown resource "nope"/],
    [['--count', 'contacts=-1'], /expected an integer/],
    [['--fault', '/x:teapot'], /unknown kind/],
  ])('refuses %j', (args, message) => {
    expect(() => optionsFromFlags(parseFlags(args))).toThrow(message);
  });

  it('rejects a non-integer port', () => {
    expect(() => parseFlags(['--port', 'abc'])).toThrow(/expected an integer/);
  });

  it('runs standalone: prints its URL and keys as JSON, serves, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/app/sandbox.ts', '--port', '0', '--json', '--quiet'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      const ready = JSON.parse(line) as { url: string; keys: { communications: string } };
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetchText(`${ready.url}/v1/call_queues?api_key=${ready.keys.communications}`);
      expect(response.status).toBe(200);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
