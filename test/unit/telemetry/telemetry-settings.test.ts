/**
 * Telemetry settings: the metrics address (a port alone is loopback), the traces URL from the standard OpenTelemetry
 * variables, and a clear `SETTING_INVALID` naming the variable for a bad value — without repeating a URL that may
 * hold a credential.
 */
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../../src/app/settings.ts';
import { otlpTracesUrl, parseListenAddress } from '../../../src/telemetry/telemetry-settings.ts';
import { errorOf } from '../../helpers/ingest-errors.ts';

describe('parseListenAddress', () => {
  it('binds a bare port to loopback and takes host:port as given', () => {
    expect(parseListenAddress('9464', 'X')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('0.0.0.0:9464', 'X')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListenAddress('[::1]:9464', 'X')).toEqual({ host: '::1', port: 9464 });
    expect(parseListenAddress('metrics.internal:80', 'X')).toEqual({ host: 'metrics.internal', port: 80 });
    expect(parseListenAddress('127.0.0.1:0', 'X')).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it.each(['', 'metrics', '65536', '::1:9464', '[nope]:9464', 'host:', 'http://127.0.0.1:9464'])(
    'refuses %j, naming where it came from',
    (text) => {
      const error = errorOf(() => parseListenAddress(text, 'INGEST_METRICS_ADDRESS'));
      expect(error.code).toBe('SETTING_INVALID');
      expect(error.message).toContain('INGEST_METRICS_ADDRESS');
    },
  );
});

describe('otlpTracesUrl', () => {
  it('appends /v1/traces to the base endpoint; the traces endpoint is taken as given and wins', () => {
    expect(otlpTracesUrl({})).toBeUndefined();
    expect(otlpTracesUrl({ endpoint: 'http://collector:4318' })).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl({ endpoint: 'https://otlp.example/base/' })).toBe(
      'https://otlp.example/base/v1/traces',
    );
    expect(
      otlpTracesUrl({ endpoint: 'http://collector:4318', tracesEndpoint: 'http://traces:4318/custom' }),
    ).toBe('http://traces:4318/custom');
  });

  it('refuses what is not an http(s) URL without repeating it (it may hold a credential)', () => {
    const error = errorOf(() => otlpTracesUrl({ endpoint: 'grpc://user:s3cret@collector:4317' }));
    expect(error.code).toBe('SETTING_INVALID');
    expect(error.message).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(error.message).not.toContain('s3cret');
  });
});

describe('readSettings: telemetry', () => {
  it('has neither metrics nor traces unless asked', () => {
    expect(readSettings({ HOME: '/home/u' }).telemetry).toEqual({
      metricsAddress: undefined,
      tracesUrl: undefined,
    });
  });

  it('reads INGEST_METRICS_ADDRESS and OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    const settings = readSettings({
      HOME: '/home/u',
      INGEST_METRICS_ADDRESS: '9464',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    expect(settings.telemetry).toEqual({
      metricsAddress: { host: '127.0.0.1', port: 9464 },
      tracesUrl: 'http://collector:4318/v1/traces',
    });
  });

  it('names the variable of a bad value', () => {
    const error = errorOf(() => readSettings({ HOME: '/home/u', INGEST_METRICS_ADDRESS: 'everywhere' }));
    expect(error.code).toBe('SETTING_INVALID');
    expect(error.message).toContain('INGEST_METRICS_ADDRESS');
  });
});
