// What a fault test reports: named figures with units, printed as a small table and written to
// bench-results/reliability.<test>.json as [{ name, value, unit }].
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@nightshift/server/env";

export interface Figure {
  name: string;
  value: number;
  unit: string;
}

/** Figures from `{ name: [value, unit] }`, in order, values rounded to 4 significant digits. */
export function figures(entries: Record<string, readonly [number, string]>): Figure[] {
  return Object.entries(entries).map(([name, [value, unit]]) => ({
    name,
    value: Number.isFinite(value) ? Number(value.toPrecision(4)) : value,
    unit,
  }));
}

export function formatTable(title: string, list: readonly Figure[]): string {
  const width = Math.max(...list.map((f) => f.name.length), 6);
  const lines = list.map(
    (f) => `  ${f.name.padEnd(width)}  ${String(f.value).padStart(10)}  ${f.unit}`,
  );
  return [title, ...lines].join("\n");
}

/** Prints the table and writes the JSON file; returns the file's path. */
export function report(test: string, size: string, list: readonly Figure[]): string {
  console.log(formatTable(`reliability ${test} (${size})`, list));
  const dir = join(REPO_ROOT, "bench-results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `reliability.${test}.json`);
  writeFileSync(file, JSON.stringify(list, null, 2) + "\n");
  return file;
}

/** The q-quantile (0..1) of values, nearest rank; NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * The one-sided 95% upper bound of a rate seen `k` times in `n` trials (Clopper–Pearson: the
 * rate p at which seeing k or fewer has probability 5%). For k = 0 it is 1 − 0.05^(1/n) ≈ 3/n,
 * the "rule of three".
 */
export function upperBound95(k: number, n: number): number {
  if (n === 0) return 1;
  if (k >= n) return 1;
  const cdf = (p: number) => {
    // P(X ≤ k) for X ~ Binomial(n, p), summed in log space.
    let sum = 0;
    for (let i = 0; i <= k; i++) {
      sum += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
    }
    return sum;
  };
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return hi;
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}
