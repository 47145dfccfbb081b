// Robust summaries for noisy samples: the median and the spread around it, never the mean alone.

export interface Summary {
  n: number;
  median: number;
  /** 25th and 75th percentiles */
  q1: number;
  q3: number;
  min: number;
  max: number;
  /** half the interquartile range relative to the median, in percent: "± x %" */
  spreadPct: number;
}

/** Linear-interpolated quantile of sorted values, q in [0, 1]. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  return {
    n: sorted.length,
    median,
    q1,
    q3,
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    spreadPct: median ? ((q3 - q1) / 2 / Math.abs(median)) * 100 : NaN,
  };
}

/** Per-exit cost from a pair of runs: (time for N exits - time for 1 exit) / (N - 1). */
export function perExit(timeN: number, time1: number, n: number): number {
  return (timeN - time1) / (n - 1);
}
