/**
 * The `/healthz` database probe against a Postgres that hangs (a TCP listener that accepts and never answers): a
 * check answers false once its connect timeout passes, instead of waiting; checks asked meanwhile share that one
 * check and its one connection; the next check tries a new connection; closing never waits on the server.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabaseProbe } from '../../../src/app/database-probe.ts';

let silent: Server;
const sockets: Socket[] = [];
let url: string;

beforeAll(async () => {
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  url = `postgres://ingest:secret@127.0.0.1:${(silent.address() as AddressInfo).port}/ingest`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('the database probe', () => {
  it('answers false within its timeout from a server that never answers, one connection per check', async () => {
    const probe = openDatabaseProbe(url, { timeoutMs: 200 });
    try {
      const started = performance.now();
      const answers = await Promise.all([probe.check(), probe.check(), probe.check()]);
      expect(answers).toEqual([false, false, false]);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(sockets).toHaveLength(1);
      expect(await probe.check()).toBe(false);
      expect(sockets).toHaveLength(2);
    } finally {
      await probe.close();
    }
    expect(await probe.check()).toBe(false);
  });
});
