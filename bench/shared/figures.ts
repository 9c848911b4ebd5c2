/**
 * How the benchmarks state their figures: medians (wall times on a shared VM vary by ±20–30 % between runs, so the
 * benchmarks compare medians of back-to-back pairs) and the units of their tables.
 */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The item whose measure is the median (the lower middle one for an even count). */
export function medianBy<T>(items: readonly T[], measure: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => measure(a) - measure(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** CPU time, or `n/a` where it could not be read (a server on another machine). */
export function cpuSeconds(ms: number | undefined): string {
  return ms === undefined ? 'n/a' : seconds(ms);
}

export function rate(count: number, ms: number): string {
  return `${Math.round(count / (ms / 1000)).toLocaleString('en')} rows/s`;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
