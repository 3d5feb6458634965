// Small statistics for the benchmark tables.

/** The q-quantile (0..1) by the nearest-rank method: p95 of 30 samples is the 29th smallest. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

export const median = (values: number[]) => quantile(values, 0.5);
export const p95 = (values: number[]) => quantile(values, 0.95);
export const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;
