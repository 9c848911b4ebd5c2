/** A plan's fingerprint: sha256 of its canonical JSON, so equal plans hash equal whatever their key order. */
import { createHash } from 'node:crypto';
import type { ResolvedSource } from '../shared/plan.ts';

/** JSON with object keys sorted, no whitespace: equal plans give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJson(item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/** The plan's fingerprint: sha256 (hex) of its canonical JSON without `hash` and `warnings`. */
export function planHash(
  plan: Omit<ResolvedSource, 'hash' | 'warnings'> & { readonly hash?: string },
): string {
  const { hash: _hash, ...rest } = plan;
  const { warnings: _warnings, ...hashed } = rest as typeof rest & { warnings?: unknown };
  return createHash('sha256').update(canonicalJson(hashed)).digest('hex');
}
