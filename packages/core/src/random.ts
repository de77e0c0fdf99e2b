// Seeded randomness. Every draw in core comes from an Rng passed in by the caller, so a run
// replays exactly from its seed.
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (both included). */
  int(min: number, max: number): number;
  /** Normal draw (Box–Muller). */
  normal(mean: number, sd: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty list, chosen with the given weights (all ≥ 0, some > 0). */
  weighted<T>(items: readonly T[], weights: readonly number[]): T;
  /** Poisson draw with mean lambda (Knuth below 30, a rounded normal above). */
  poisson(lambda: number): number;
  /** An independent stream derived from this one, for a named sub-purpose. */
  fork(): Rng;
}

/**
 * A generator whose whole state comes from `seed` through splitmix32, so that neighbouring seeds
 * (car 1, car 2, …) give unrelated streams. pure-rand's own `xoroshiro128plus(seed)` puts the
 * seed into the state almost as it is: its first draw was ~1.0 for every small seed, and every
 * car seeded 0, 1, 2, … drew the same daily pattern.
 */
export function createRng(seed: number): Rng {
  const next = splitmix32(seed | 0);
  const state = [next(), next(), next(), next()];
  // An all-zero state would draw zeros for ever; splitmix32 cannot give four zeros, but be sure.
  if (state.reduce((bits, word) => bits | word, 0) === 0) state[0] = 1;
  return wrap(xoroshiro128plusFromState(state));
}

/** splitmix32 (after Steele, Lea and Flood's SplitMix): a stream of well-mixed 32-bit words. */
function splitmix32(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
}

function wrap(gen: ReturnType<typeof xoroshiro128plusFromState>): Rng {
  const rng: Rng = {
    next: () => uniformFloat64(gen),
    int: (min, max) => min + Math.floor(uniformFloat64(gen) * (max - min + 1)),
    normal: (mean, sd) => {
      // 1 - u keeps the argument of log in (0, 1].
      const u = 1 - uniformFloat64(gen);
      const v = uniformFloat64(gen);
      return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    chance: (p) => uniformFloat64(gen) < p,
    weighted: (items, weights) => {
      let total = 0;
      for (const w of weights) total += w;
      let x = uniformFloat64(gen) * total;
      for (let i = 0; i < items.length; i++) {
        x -= weights[i] ?? 0;
        if (x < 0) return items[i] as (typeof items)[number];
      }
      return items[items.length - 1] as (typeof items)[number];
    },
    poisson: (lambda) => {
      if (!(lambda > 0)) return 0;
      if (lambda > 30) return Math.max(0, Math.round(rng.normal(lambda, Math.sqrt(lambda))));
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = uniformFloat64(gen);
      while (p > limit) {
        k++;
        p *= uniformFloat64(gen);
      }
      return k;
    },
    fork: () => {
      // A jump advances the parent by 2^64 draws; the child keeps the pre-jump state.
      const child = gen.clone() as typeof gen;
      gen.jump();
      return wrap(child);
    },
  };
  return rng;
}

/**
 * One 32-bit seed from a seed and a number (a car's index, a step of its life): neighbouring
 * pairs give unrelated seeds, so that `createRng(mixSeed(seed, i))` is car i's own stream.
 */
export function mixSeed(seed: number, n: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h | 0;
}
