// The tiny MLP's weights and math, in plain TypeScript: the ONNX builder writes these weights,
// and tests compute the same function by hand to check what onnxruntime returns.
// Browser-safe: no Node modules.

export const TINY_IN = 16;
export const TINY_HIDDEN = 32;
export const TINY_OUT = 4;

/**
 * Fixed weights from a small linear congruential generator. Each value is a multiple of 1/256
 * in [-0.5, 0.5], exactly representable in float32, so the file does not depend on rounding.
 */
function weights(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    // Numerical Recipes' LCG constants; Math.imul keeps the product in 32 bits.
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (((state >>> 16) % 257) - 128) / 256;
  }
  return out;
}

export const TINY_WEIGHTS = {
  /** [TINY_IN, TINY_HIDDEN], row-major. */
  w1: weights(TINY_IN * TINY_HIDDEN, 1),
  b1: weights(TINY_HIDDEN, 2),
  /** [TINY_HIDDEN, TINY_OUT], row-major. */
  w2: weights(TINY_HIDDEN * TINY_OUT, 3),
  b2: weights(TINY_OUT, 4),
} as const;

/** y = relu(x·W1 + b1)·W2 + b2 for a [batch, 16] input, in float64 (tests allow for rounding). */
export function tinyMlpReference(x: ArrayLike<number>, batch: number): Float64Array {
  const { w1, b1, w2, b2 } = TINY_WEIGHTS;
  const y = new Float64Array(batch * TINY_OUT);
  const hidden = new Float64Array(TINY_HIDDEN);
  for (let n = 0; n < batch; n++) {
    for (let h = 0; h < TINY_HIDDEN; h++) {
      let sum = b1[h]!;
      for (let i = 0; i < TINY_IN; i++) sum += x[n * TINY_IN + i]! * w1[i * TINY_HIDDEN + h]!;
      hidden[h] = Math.max(0, sum);
    }
    for (let o = 0; o < TINY_OUT; o++) {
      let sum = b2[o]!;
      for (let h = 0; h < TINY_HIDDEN; h++) sum += hidden[h]! * w2[h * TINY_OUT + o]!;
      y[n * TINY_OUT + o] = sum;
    }
  }
  return y;
}
