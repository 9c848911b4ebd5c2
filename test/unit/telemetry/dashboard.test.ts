/**
 * The Grafana dashboard and the operations page stay true to the metrics: every `ingest_…` series the dashboard
 * queries is one the worker records, every metric it records is on the dashboard and documented, and a rate of
 * seconds is shown in the unit it has.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../src/local/paths.ts';
import { metricNames } from '../../../src/telemetry/ingest-metrics.ts';

interface Panel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr: string }[];
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
}

const dashboard = JSON.parse(await readFile(join(projectRoot, 'docs/grafana-dashboard.json'), 'utf8')) as {
  readonly panels: readonly Panel[];
};
const operations = await readFile(join(projectRoot, 'docs/operations.md'), 'utf8');
const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
const ours: readonly string[] = Object.values(metricNames);

describe('the Grafana dashboard', () => {
  it('queries only metrics the worker records', () => {
    const queried = new Set(
      exprs.flatMap((expr) => [...expr.matchAll(/\bingest_[a-z_]+/g)].map(([name]) => name)),
    );
    expect(queried.size).toBeGreaterThan(0);
    for (const name of queried) {
      expect(ours, name).toContain(name.replace(/_(bucket|count|sum)$/, ''));
    }
  });

  it('plots seconds waited per second (the rate of a *_seconds_sum) as a share of time, not as seconds', () => {
    const waits = dashboard.panels.filter((panel) =>
      (panel.targets ?? []).some((target) => /rate\(\w+_seconds_sum\b/.test(target.expr)),
    );
    expect(waits.length).toBeGreaterThan(0);
    for (const panel of waits) expect(panel.fieldConfig?.defaults?.unit, panel.title).toBe('percentunit');
  });

  it('shows every metric the worker records, and docs/operations.md documents each', () => {
    for (const name of ours) {
      expect(
        exprs.some((expr) => expr.includes(name)),
        name,
      ).toBe(true);
      expect(operations, name).toContain(`\`${name}\``);
    }
  });
});
