// A small seeded PRNG (mulberry32), so a run's cars make the same choices for the same seed.
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
