/** The process settings: every variable is read in one place, with the defaults the README documents. */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../../src/app/settings.ts';
import { projectRoot } from '../../../src/local/paths.ts';

describe('readSettings', () => {
  it('uses the documented defaults when nothing is set', () => {
    const settings = readSettings({ HOME: '/home/u' });
    expect(settings.temporal).toEqual({ address: undefined, namespace: 'default', uiUrl: undefined });
    expect(settings.databaseUrl).toBeUndefined();
    expect(settings.dataDir).toBe(join(projectRoot, '.data'));
    expect(settings.temporalCli).toEqual({
      path: undefined,
      cacheDir: '/home/u/.cache/durable-ingest',
      go: 'go',
    });
    expect(settings.logLevel).toBe('info');
    expect(settings.sourcesDir).toBe(join(projectRoot, 'sources'));
    expect(settings.databaseTimeouts).toEqual({
      connectMs: 10_000,
      statementMs: 30 * 60_000,
      lockMs: 60_000,
      idleInTransactionMs: 10 * 60_000,
    });
  });

  it('reads each variable it documents', () => {
    const env = {
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      TEMPORAL_NAMESPACE: 'ingest',
      TEMPORAL_UI_URL: 'https://ui.example',
      DATABASE_URL: 'postgres://db.example/ingest',
      INGEST_DATA_DIR: 'relative/data',
      INGEST_CACHE_DIR: '/var/cache/ingest',
      TEMPORAL_CLI_PATH: '/opt/temporal',
      GO: '/usr/local/go/bin/go',
      LOG_LEVEL: 'debug',
      INGEST_SOURCES_DIR: 'my/sources',
      DATABASE_CONNECT_TIMEOUT: '5s',
      DATABASE_STATEMENT_TIMEOUT: '2h',
      DATABASE_LOCK_TIMEOUT: '1500',
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: '0',
    };
    const settings = readSettings(env);
    expect(settings.temporal).toEqual({
      address: 'temporal.example:7233',
      namespace: 'ingest',
      uiUrl: 'https://ui.example',
    });
    expect(settings.databaseUrl).toBe('postgres://db.example/ingest');
    expect(settings.dataDir).toBe(resolve('relative/data'));
    expect(settings.temporalCli).toEqual({
      path: '/opt/temporal',
      cacheDir: '/var/cache/ingest',
      go: '/usr/local/go/bin/go',
    });
    expect(settings.logLevel).toBe('debug');
    expect(settings.sourceEnv).toBe(env);
    expect(settings.sourcesDir).toBe(resolve('my/sources'));
    expect(settings.databaseTimeouts).toEqual({
      connectMs: 5_000,
      statementMs: 2 * 3_600_000,
      lockMs: 1_500,
      idleInTransactionMs: 0,
    });
  });

  it('reads the database timeouts as Postgres writes durations', () => {
    const lock = (value: string) => readSettings({ DATABASE_LOCK_TIMEOUT: value }).databaseTimeouts.lockMs;
    expect(lock('250ms')).toBe(250);
    expect(lock('90s')).toBe(90_000);
    expect(lock('30min')).toBe(30 * 60_000);
    expect(lock(' 2 min ')).toBe(2 * 60_000);
    expect(lock('42')).toBe(42);
  });

  it('refuses a database timeout that is not a duration, naming the variable', () => {
    for (const value of ['soon', '1.5s', '-1', '10 days', '30m', '9999h']) {
      expect(() => readSettings({ DATABASE_STATEMENT_TIMEOUT: value }), value).toThrow(
        expect.objectContaining({
          code: 'SETTING_INVALID',
          message: expect.stringContaining('DATABASE_STATEMENT_TIMEOUT') as unknown,
        }),
      );
    }
  });

  it('reads the delete guard and the ledger retention, refusing values out of range', () => {
    expect(readSettings({})).toMatchObject({ maxDeleteShare: 0.5, ledgerRetentionDays: 180 });
    expect(readSettings({ INGEST_MAX_DELETE_SHARE: '1', INGEST_LEDGER_RETENTION_DAYS: '30' })).toMatchObject({
      maxDeleteShare: 1,
      ledgerRetentionDays: 30,
    });
    for (const [name, value] of [
      ['INGEST_MAX_DELETE_SHARE', '1.5'],
      ['INGEST_MAX_DELETE_SHARE', 'half'],
      ['INGEST_LEDGER_RETENTION_DAYS', '0'],
      ['INGEST_LEDGER_RETENTION_DAYS', '-3'],
    ] as const) {
      expect(() => readSettings({ [name]: value }), `${name}=${value}`).toThrow(
        expect.objectContaining({ code: 'SETTING_INVALID' }),
      );
    }
  });

  it('puts the cache under XDG_CACHE_HOME when it is set', () => {
    expect(readSettings({ XDG_CACHE_HOME: '/xdg', HOME: '/home/u' }).temporalCli.cacheDir).toBe(
      '/xdg/durable-ingest',
    );
  });

  it('counts an empty variable as unset', () => {
    const settings = readSettings({ TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '', DATABASE_URL: '' });
    expect(settings.temporal.address).toBeUndefined();
    expect(settings.temporal.namespace).toBe('default');
    expect(settings.databaseUrl).toBeUndefined();
  });

  it('refuses an unknown LOG_LEVEL with a classified error naming the variable', () => {
    let error: unknown;
    try {
      readSettings({ LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'SETTING_INVALID' });
    expect((error as Error).message).toContain('LOG_LEVEL');
  });
});
