/**
 * The freshness gauge a starting worker seeds from the ledger covers the resources it serves only: not another
 * fleet's sources sharing the database, nor a source or resource since removed from the sources folder.
 */
import { describe, expect, it } from 'vitest';
import type { SurveyedSource } from '../../../src/app/sources.ts';
import { seedFreshness } from '../../../src/app/telemetry.ts';
import { noIngestMetrics, type IngestMetrics } from '../../../src/telemetry/ingest-metrics.ts';

function served(name: string, resourceNames: string[]): SurveyedSource {
  return {
    name,
    file: `/sources/${name}.yaml`,
    resources: resourceNames.length,
    resourceNames,
    missingCredentials: [],
    sandbox: false,
    problem: undefined,
  };
}

describe('seedFreshness', () => {
  it('sets the gauge of each served resource the ledger has a success of, and of no other', () => {
    const seeded: unknown[][] = [];
    const metrics: IngestMetrics = { ...noIngestMetrics, loaded: (...args) => void seeded.push(args) };
    const at = new Date('2026-03-01T10:00:00Z');
    const lastSuccesses = [
      { source: 'shop', resource: 'orders', at },
      { source: 'shop', resource: 'refunds', at }, // removed from shop.yaml since
      { source: 'crm', resource: 'contacts', at }, // another fleet's source
      { source: 'billing', resource: 'orders', at }, // a served resource name, of another source
    ];
    seedFreshness(metrics, lastSuccesses, [served('shop', ['orders', 'customers']), served('billing', [])]);
    expect(seeded).toEqual([[lastSuccesses[0], at]]);
  });
});
