// The seeded generator: independent streams for neighbouring seeds, and exact replay.
import { describe, expect, it } from "vitest";
import { createRng } from "../src/random";

/** Counts of `values` in `bins` equal bins of [0, 1). */
function histogram(values: readonly number[], bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor(v * bins))]! += 1;
  return counts;
}

/** Pearson's χ² of `counts` against equal expected counts. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((x, c) => x + (c - expected) ** 2 / expected, 0);
}

describe("createRng", () => {
  it("gives unrelated first draws for neighbouring seeds", () => {
    // Cars are seeded 0, 1, 2, …: their first draw chose each car's daily pattern.
    const firsts = Array.from({ length: 10_000 }, (_, seed) => createRng(seed).next());
    // 20 bins, 19 degrees of freedom: χ² above 43.8 has probability 0.001 for a uniform draw.
    expect(chiSquare(histogram(firsts, 20))).toBeLessThan(43.8);
    expect(new Set(firsts).size).toBe(firsts.length);
  });

  it("gives unrelated first draws for negative and large seeds too", () => {
    const seeds = Array.from({ length: 5_000 }, (_, i) => [-i - 1, 2 ** 31 - 1 - i]).flat();
    const firsts = seeds.map((seed) => createRng(seed).next());
    expect(chiSquare(histogram(firsts, 20))).toBeLessThan(43.8);
  });

  it("draws uniformly within one stream", () => {
    const rng = createRng(7);
    const draws = Array.from({ length: 20_000 }, () => rng.next());
    expect(chiSquare(histogram(draws, 20))).toBeLessThan(43.8);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
  });

  it("replays exactly from its seed", () => {
    const a = createRng(123);
    const b = createRng(123);
    const drawsOf = (r: typeof a) => [r.next(), r.int(1, 6), r.normal(0, 1), r.poisson(3)];
    expect(drawsOf(a)).toEqual(drawsOf(b));
    expect(createRng(124).next()).not.toBe(createRng(123).next());
  });

  it("chooses weighted items in their shares across seeds", () => {
    const items = ["a", "b", "c", "d"] as const;
    const weights = [0.55, 0.2, 0.1, 0.15];
    const n = 20_000;
    const counts = new Map<string, number>();
    for (let seed = 0; seed < n; seed++) {
      const item = createRng(seed).weighted(items, weights);
      counts.set(item, (counts.get(item) ?? 0) + 1);
    }
    // Within 1.5 points of each share: ~4.5 standard deviations at n = 20,000.
    items.forEach((item, i) => {
      expect(Math.abs((counts.get(item) ?? 0) / n - weights[i]!)).toBeLessThan(0.015);
    });
  });
});
