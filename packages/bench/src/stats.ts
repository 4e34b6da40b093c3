/** Latency summary in milliseconds. */
export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of the first `n` values (the array is sorted in place). */
export function latency(values: Float64Array, n = values.length): Latency {
  const v = values.subarray(0, n).sort();
  const at = (p: number) => (n === 0 ? NaN : v[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]!);
  return { p50: at(50), p99: at(99), max: n === 0 ? NaN : v[n - 1]! };
}

/** Percentiles of every sample of several runs taken together. */
export function pooled(runs: ReadonlyArray<{ samples: Float64Array }>): Latency {
  const all = new Float64Array(runs.reduce((n, r) => n + r.samples.length, 0));
  let at = 0;
  for (const r of runs) {
    all.set(r.samples, at);
    at += r.samples.length;
  }
  return latency(all);
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** 12,345 */
export const fmtInt = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : int.format(x);
/** 12.3 */
export const fmtDec = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : dec.format(x);
/** 12.3 ms, or 0.42 ms below 1 ms. */
export const fmtMs = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x)
    ? 'n/a'
    : x < 1
      ? `${x.toFixed(2)} ms`
      : `${dec.format(x)} ms`;

/** 0.87× */
export const fmtRatio = (x: number): string => `${x.toFixed(2)}×`;

/** A figure over several trials: median and range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median (the lower of the middle two) and range of `values`. */
export function spread(values: readonly number[]): Spread {
  const v = [...values].sort((a, b) => a - b);
  return { median: v[Math.floor((v.length - 1) / 2)]!, min: v[0]!, max: v[v.length - 1]! };
}

/** `median (min–max)` */
export const fmtSpread = (s: Spread | undefined, f: (x: number) => string): string =>
  s === undefined ? 'n/a' : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

/** Renders rows as left-aligned first column and right-aligned others. */
export function table(rows: ReadonlyArray<readonly string[]>, indent = '  '): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map(
      (r) =>
        indent +
        r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   '),
    )
    .join('\n');
}
