// Bilinear resizing of 8-bit images exactly as OpenCV 4's cv::resize with INTER_LINEAR does it,
// because PaddleOCR resizes with OpenCV and the models saw those pixels in training: the same
// source coordinates, the same 11-bit fixed-point weights, the same rounding, and OpenCV's two
// shortcuts (a copy at equal size; 2 × 2 block averages at exactly half size).
// Browser-safe: no Node modules.

/** INTER_RESIZE_COEF_BITS in OpenCV: weights are integers out of 2^11. */
const COEF_SCALE = 2048;

export interface U8Image {
  width: number;
  height: number;
  /** Channels per pixel, interleaved (3 for BGR). */
  channels: number;
  data: Uint8Array;
}

/** Round half to even, as cvRound (lrint) does for the weights. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Source index and fixed-point weights along one axis, for each destination index. The
 * coordinate is computed in float32 from a float64 scale, as OpenCV does; `clampWeights`
 * (the x axis) zeroes the fraction at the edges, while along y OpenCV keeps the fraction and
 * clamps the rows instead.
 */
function axisTable(
  srcSize: number,
  dstSize: number,
  clampWeights: boolean,
): { index: Int32Array; w0: Int16Array; w1: Int16Array } {
  const scale = 1 / (dstSize / srcSize);
  const index = new Int32Array(dstSize);
  const w0 = new Int16Array(dstSize);
  const w1 = new Int16Array(dstSize);
  for (let d = 0; d < dstSize; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clampWeights) {
      if (s < 0) {
        f = 0;
        s = 0;
      }
      if (s >= srcSize - 1) {
        f = 0;
        s = srcSize - 1;
      }
    }
    index[d] = s;
    w0[d] = roundHalfEven(Math.fround(1 - f) * COEF_SCALE);
    w1[d] = roundHalfEven(f * COEF_SCALE);
  }
  return { index, w0, w1 };
}

/**
 * `src` resized to `dstWidth` × `dstHeight` (cv::resize, INTER_LINEAR, 8-bit). The result's
 * pixels equal OpenCV's on x86-64, where its vertical pass rounds as written below.
 */
export function resizeLinear(src: U8Image, dstWidth: number, dstHeight: number): U8Image {
  const { width: sw, height: sh, channels: cn, data } = src;
  if (data.length !== sw * sh * cn) {
    throw new Error(`resizeLinear: ${data.length} bytes, expected ${sw}×${sh}×${cn}`);
  }
  if (!(Number.isInteger(dstWidth) && Number.isInteger(dstHeight) && dstWidth > 0 && dstHeight > 0))
    throw new Error(`resizeLinear: size ${dstWidth}×${dstHeight} is not positive integers`);
  if (sw === dstWidth && sh === dstHeight) return { ...src, data: data.slice() };
  const out = new Uint8Array(dstWidth * dstHeight * cn);
  // Exactly half in both directions: OpenCV switches to INTER_AREA, the rounded mean of 2 × 2.
  if (sw === 2 * dstWidth && sh === 2 * dstHeight) {
    for (let y = 0; y < dstHeight; y++) {
      const r0 = 2 * y * sw * cn;
      const r1 = r0 + sw * cn;
      for (let x = 0; x < dstWidth; x++) {
        for (let c = 0; c < cn; c++) {
          const i = 2 * x * cn + c;
          out[(y * dstWidth + x) * cn + c] =
            (data[r0 + i]! + data[r0 + i + cn]! + data[r1 + i]! + data[r1 + i + cn]! + 2) >> 2;
        }
      }
    }
    return { width: dstWidth, height: dstHeight, channels: cn, data: out };
  }

  const xs = axisTable(sw, dstWidth, true);
  const ys = axisTable(sh, dstHeight, false);
  // Horizontal pass of one source row: values scaled by 2^11.
  const rowCache = new Map<number, Int32Array>();
  const horizontal = (sy: number): Int32Array => {
    const cached = rowCache.get(sy);
    if (cached) return cached;
    const row = new Int32Array(dstWidth * cn);
    const base = sy * sw * cn;
    for (let x = 0; x < dstWidth; x++) {
      const s = base + xs.index[x]! * cn;
      const a0 = xs.w0[x]!;
      const a1 = xs.w1[x]!;
      // At the right edge the second tap would lie outside the row; its weight is 0 there.
      const last = xs.index[x]! >= sw - 1;
      for (let c = 0; c < cn; c++) {
        row[x * cn + c] = last
          ? data[s + c]! * COEF_SCALE
          : data[s + c]! * a0 + data[s + c + cn]! * a1;
      }
    }
    if (rowCache.size > 4) rowCache.clear();
    rowCache.set(sy, row);
    return row;
  };
  for (let y = 0; y < dstHeight; y++) {
    const sy = ys.index[y]!;
    const r0 = horizontal(Math.min(Math.max(sy, 0), sh - 1));
    const r1 = horizontal(Math.min(Math.max(sy + 1, 0), sh - 1));
    const b0 = ys.w0[y]!;
    const b1 = ys.w1[y]!;
    const o = y * dstWidth * cn;
    for (let i = 0; i < dstWidth * cn; i++) {
      // OpenCV's VResizeLinear for 8-bit: both taps pre-shifted by 4 and multiplied in 16-bit
      // high halves, then a rounding shift by 2 (not the exact (a + 2^21) >> 22).
      const v = (((b0 * (r0[i]! >> 4)) >> 16) + ((b1 * (r1[i]! >> 4)) >> 16) + 2) >> 2;
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width: dstWidth, height: dstHeight, channels: cn, data: out };
}
