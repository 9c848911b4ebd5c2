/** Plain-text output of the `ingest` commands: aligned tables, durations, credential redaction. */
import type { LoadReport, ResourceReport } from '../../shared/ingest-types.ts';

/** Rows aligned in columns (numbers right-aligned), one string per line, indented by `indent`. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { readonly indent?: string; readonly numeric?: readonly number[] } = {},
): string[] {
  const indent = options.indent ?? '  ';
  const numeric = new Set(options.numeric ?? []);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `${indent}${cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `1h 5m`, `3m 12s`, `850ms`: a duration for a person. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** A URL with any password in it replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The counts of a resource as table cells: fetched, new, changed, unchanged, deleted, rejected, pages. */
export function countCells(report: ResourceReport): string[] {
  const c = report.counts;
  return [c.fetched, c.inserted, c.updated, c.unchanged, c.deleted, c.rejected, c.pages].map(String);
}

export const countHeader = ['fetched', 'new', 'changed', 'unchanged', 'deleted', 'rejected', 'pages'];

/** A load report as a table plus one line per resource that did not succeed (its reason). */
export function reportLines(report: LoadReport): string[] {
  const rows = report.resources.map((r) => [
    r.resource,
    r.status,
    ...countCells(r),
    r.durationMs === undefined ? '' : formatDuration(r.durationMs),
  ]);
  const numeric = countHeader.map((_, i) => i + 2);
  const lines = [
    `${report.source}: ${report.outcome} (load ${report.loadId})`,
    ...table(['resource', 'status', ...countHeader, 'took'], rows, { numeric }),
  ];
  for (const r of report.resources) {
    if (r.reason !== undefined && r.status !== 'ok') {
      lines.push(`  ${r.resource}: ${r.status} — ${r.reason.code}: ${r.reason.message}`);
    }
  }
  return lines;
}
