/**
 * A test's processes never inherit the developer's telemetry: `isolatedTemporalEnv` (the environment of the test
 * set-up and of every spawned worker) drops the metrics address and the OpenTelemetry variables, so a test runs with
 * neither unless it sets them itself.
 */
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../../src/app/settings.ts';
import { isolatedTemporalEnv } from '../../helpers/temporal-env.ts';

describe('isolatedTemporalEnv', () => {
  it("drops the developer's metrics address and OTEL_* variables, and keeps the rest", () => {
    const developer = {
      PATH: '/usr/bin',
      INGEST_METRICS_ADDRESS: '9464',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer developer-token',
      OTEL_SERVICE_NAME: 'mine',
    };
    expect(readSettings(developer).telemetry.metricsAddress).toBeDefined();
    const isolated = isolatedTemporalEnv(developer);
    expect(Object.keys(isolated).filter((name) => name.startsWith('OTEL_'))).toEqual([]);
    expect(isolated['INGEST_METRICS_ADDRESS']).toBeUndefined();
    expect(isolated['PATH']).toBe('/usr/bin');
    expect(readSettings(isolated).telemetry).toEqual({ metricsAddress: undefined, tracesUrl: undefined });
  });
});
