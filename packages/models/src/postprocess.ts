// What a model's output means: a text direction, text boxes in the source image's pixels, or
// the raw tensor, read as PaddleOCR reads them (ClsPostProcess; DBPostProcess and
// TextDetector's box filter, in db-postprocess.ts). Browser-safe: no Node modules.
import { dbBoxes } from "./db-postprocess";
import type { ModelManifest } from "./manifest";
import type { ImageMeta } from "./preprocess";

export interface TextBox {
  /**
   * The box's corners in source image pixels, clockwise from the top-left, as PaddleOCR's
   * detector gives them (a rotated rectangle, rounded to whole pixels).
   */
  points: [[number, number], [number, number], [number, number], [number, number]];
  /** The corners' bounding rectangle, for whoever wants an upright box: left, top, size. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Mean text probability inside the box before it was grown, 0..1. */
  score: number;
}

export type Interpretation =
  | { kind: "direction"; label: string; angle: number; confidence: number }
  | { kind: "boxes"; boxes: TextBox[] }
  /** `values`: how many numbers the output holds; `preview`: the first of them (up to 16). */
  | { kind: "tensor"; values: number; preview: number[] };

const PREVIEW_VALUES = 16;

/**
 * The output of one input (dims[0] = 1, or no batch dimension); see splitBatch for batches.
 * `meta` (from imageToTensor or imageMeta) puts boxes into source image pixels.
 */
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
      const [height, width] = [dims[2]!, dims[3]!];
      if (meta && (meta.tensorHeight !== height || meta.tensorWidth !== width)) {
        throw new Error(
          `output: a ${width}×${height} map, the input was ${meta.tensorWidth}×${meta.tensorHeight}`,
        );
      }
      // Without meta the boxes stay in map pixels.
      const found = dbBoxes(
        output,
        width,
        height,
        post,
        meta?.srcWidth ?? width,
        meta?.srcHeight ?? height,
      );
      return { kind: "boxes", boxes: found.map(({ points, score }) => textBox(points, score)) };
    }
  }
}

function textBox(points: TextBox["points"], score: number): TextBox {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return {
    points,
    x,
    y,
    width: Math.max(...xs) - x,
    height: Math.max(...ys) - y,
    score,
  };
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
