// What a model's output means: a text direction, text boxes in the source image's pixels, or
// the raw tensor. Browser-safe: no Node modules.
import type { ModelManifest } from "./manifest";
import type { ImageMeta } from "./preprocess";

export interface TextBox {
  /** Source image pixels, top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Mean text probability inside the box, 0..1. */
  score: number;
}

export type Interpretation =
  | { kind: "direction"; label: string; angle: number; confidence: number }
  | { kind: "boxes"; boxes: TextBox[] }
  /** `values`: how many numbers the output holds; `preview`: the first of them (up to 16). */
  | { kind: "tensor"; values: number; preview: number[] };

const PREVIEW_VALUES = 16;

/** The output of one input (dims[0] = 1, or no batch dimension); see splitBatch for batches. */
export function interpretOutput(
  m: ModelManifest,
  output: ArrayLike<number>,
  dims: readonly number[],
  meta?: ImageMeta,
): Interpretation {
  const length = dims.reduce((a, b) => a * b, 1);
  if (output.length !== length) {
    throw new Error(`output: ${output.length} values, dims [${dims.join(", ")}] need ${length}`);
  }
  const post = m.postprocess;
  switch (post.kind) {
    case "tensor":
      return {
        kind: "tensor",
        values: output.length,
        preview: Array.from(output).slice(0, PREVIEW_VALUES),
      };
    case "direction": {
      if (output.length !== post.labels.length) {
        throw new Error(
          `output: ${output.length} values, model ${m.id} gives one per label (${post.labels.length}); split batches first`,
        );
      }
      let best = 0;
      for (let i = 1; i < output.length; i++) if (output[i]! > output[best]!) best = i;
      const label = post.labels[best]!;
      return { kind: "direction", label, angle: Number(label), confidence: output[best]! };
    }
    case "boxes": {
      if (dims.length !== 4 || dims[0] !== 1 || dims[1] !== 1) {
        throw new Error(
          `output: dims [${dims.join(", ")}], model ${m.id} gives a [1, 1, height, width] map; split batches first`,
        );
      }
      return { kind: "boxes", boxes: textBoxes(output, dims[3]!, dims[2]!, post, meta) };
    }
  }
}

/**
 * Text boxes from a probability map, after DB's post-processing (Liao et al., "Real-time Scene
 * Text Detection with Differentiable Binarization", 2020, as PaddleOCR implements it): pixels
 * above `threshold`, 8-connected regions, each region's bounding box scored by the mean
 * probability inside it, then grown back out — the model predicts text regions shrunk by
 * D = area·(1 − 0.4²)/perimeter, and PaddleOCR grows them by area·1.5/perimeter.
 */
function textBoxes(
  map: ArrayLike<number>,
  width: number,
  height: number,
  post: { threshold: number; boxThreshold: number; minAreaPx: number },
  meta?: ImageMeta,
): TextBox[] {
  // Only the part of the map that covers the image; the padding may not grow boxes.
  const mapW = meta ? Math.min(width, meta.resizedWidth) : width;
  const mapH = meta ? Math.min(height, meta.resizedHeight) : height;
  const seen = new Uint8Array(width * height);
  const stack: number[] = [];
  const boxes: TextBox[] = [];
  for (let start = 0; start < width * height; start++) {
    const sx = start % width;
    if (seen[start] || sx >= mapW || start >= mapH * width || map[start]! <= post.threshold)
      continue;
    // Flood fill one region with an explicit stack (no recursion depth limit).
    let minX = sx;
    let maxX = sx;
    let minY = Math.floor(start / width);
    let maxY = minY;
    let pixels = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const px = p % width;
      const py = (p - px) / width;
      pixels++;
      minX = Math.min(minX, px);
      maxX = Math.max(maxX, px);
      minY = Math.min(minY, py);
      maxY = Math.max(maxY, py);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          const ny = py + dy;
          if (nx < 0 || ny < 0 || nx >= mapW || ny >= mapH) continue;
          const n = ny * width + nx;
          if (!seen[n] && map[n]! > post.threshold) {
            seen[n] = 1;
            stack.push(n);
          }
        }
      }
    }
    if (pixels < post.minAreaPx) continue;
    const boxW = maxX - minX + 1;
    const boxH = maxY - minY + 1;
    let sum = 0;
    for (let y = minY; y <= maxY; y++)
      for (let x = minX; x <= maxX; x++) sum += map[y * width + x]!;
    const score = sum / (boxW * boxH);
    if (score < post.boxThreshold) continue;
    const grow = (boxW * boxH * 1.5) / (2 * (boxW + boxH));
    const x0 = Math.max(0, minX - grow);
    const y0 = Math.max(0, minY - grow);
    const x1 = Math.min(mapW, maxX + 1 + grow);
    const y1 = Math.min(mapH, maxY + 1 + grow);
    const sxScale = meta?.scaleX ?? 1;
    const syScale = meta?.scaleY ?? 1;
    const srcW = meta?.srcWidth ?? width;
    const srcH = meta?.srcHeight ?? height;
    const left = Math.max(0, Math.round(x0 / sxScale));
    const top = Math.max(0, Math.round(y0 / syScale));
    const right = Math.min(srcW, Math.round(x1 / sxScale));
    const bottom = Math.min(srcH, Math.round(y1 / syScale));
    boxes.push({ x: left, y: top, width: right - left, height: bottom - top, score });
  }
  // Reading order: top to bottom, then left to right.
  return boxes.sort((a, b) => a.y - b.y || a.x - b.x);
}

/** A batched output split into its n inputs' outputs, each with dims[0] = dims[0] / n. */
export function splitBatch(
  output: ArrayLike<number>,
  dims: readonly number[],
  n: number,
): { dims: number[]; data: Float32Array }[] {
  const first = dims[0];
  if (first === undefined || !Number.isInteger(n) || n < 1 || first % n !== 0) {
    throw new Error(`splitBatch: cannot split dims [${dims.join(", ")}] into ${n} parts`);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (output.length !== size)
    throw new Error(`splitBatch: ${output.length} values, dims [${dims.join(", ")}] need ${size}`);
  const part = size / n;
  const partDims = [first / n, ...dims.slice(1)];
  const all = Float32Array.from(output);
  return Array.from({ length: n }, (_, i) => ({
    dims: partDims,
    data: all.slice(i * part, (i + 1) * part),
  }));
}
