// Inputs to tensors: images resized and normalized as a model's manifest says, tensors given
// directly checked against its input spec, and batches stacked along the first dimension.
// Browser-safe: no Node modules.
import type { DecodedImage } from "./image";
import type { ModelManifest, TensorSpec } from "./manifest";

export interface Tensor {
  dims: number[];
  data: Float32Array;
}

/** How the source image maps into the tensor, for putting boxes back into source pixels. */
export interface ImageMeta {
  srcWidth: number;
  srcHeight: number;
  /** Tensor pixels per source pixel (horizontal and vertical are equal when keepRatio). */
  scale: number;
  scaleX: number;
  scaleY: number;
  /** The part of the tensor the image fills; the rest is padding. */
  resizedWidth: number;
  resizedHeight: number;
}

export interface ImageTensor extends Tensor {
  meta: ImageMeta;
}

/**
 * One image as a [1, 3, height, width] tensor. Bilinear resampling with pixel centres aligned
 * (as OpenCV's INTER_LINEAR, which PaddleOCR uses); transparent pixels are laid over white;
 * with keepRatio the image keeps its aspect, top-left, and the padding is 0 in the tensor.
 */
export function imageToTensor(m: ModelManifest, image: DecodedImage): ImageTensor {
  const pre = m.preprocess;
  if (pre.kind !== "image") throw new Error(`model ${m.id} takes tensors, not images`);
  const { width: srcW, height: srcH, data: rgba } = image;
  if (rgba.length !== srcW * srcH * 4) {
    throw new Error(
      `image.data: ${rgba.length} bytes, expected ${srcW}×${srcH}×4 = ${srcW * srcH * 4}`,
    );
  }
  const { width: W, height: H } = pre;
  const meta = imageMeta(m, srcW, srcH);
  const { scaleX, scaleY, resizedWidth: resizedW, resizedHeight: resizedH } = meta;

  // Source colour channel (0 R, 1 G, 2 B) for each tensor channel.
  const order = pre.channelOrder === "rgb" ? [0, 1, 2] : [2, 1, 0];
  const plane = W * H;
  const data = new Float32Array(3 * plane);
  const pixel = (x: number, y: number, c: number): number => {
    const o = (y * srcW + x) * 4;
    const alpha = rgba[o + 3]! / 255;
    return rgba[o + c]! * alpha + 255 * (1 - alpha);
  };
  for (let y = 0; y < resizedH; y++) {
    const sy = Math.min(srcH - 1, Math.max(0, (y + 0.5) / scaleY - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(srcH - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < resizedW; x++) {
      const sx = Math.min(srcW - 1, Math.max(0, (x + 0.5) / scaleX - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(srcW - 1, x0 + 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const src = order[c]!;
        const top = pixel(x0, y0, src) * (1 - fx) + pixel(x1, y0, src) * fx;
        const bottom = pixel(x0, y1, src) * (1 - fx) + pixel(x1, y1, src) * fx;
        const value = top * (1 - fy) + bottom * fy;
        data[c * plane + y * W + x] = (value / 255 - pre.mean[c]!) / pre.std[c]!;
      }
    }
  }
  return { dims: [1, 3, H, W], data, meta };
}

/**
 * How an image of `srcWidth` × `srcHeight` maps into the model's input, without its pixels: the
 * server uses it to put a validated output's boxes back into source pixels.
 */
export function imageMeta(m: ModelManifest, srcWidth: number, srcHeight: number): ImageMeta {
  const pre = m.preprocess;
  if (pre.kind !== "image") throw new Error(`model ${m.id} takes tensors, not images`);
  const { width: W, height: H } = pre;
  let resizedWidth = W;
  let resizedHeight = H;
  if (pre.keepRatio) {
    const fit = Math.min(W / srcWidth, H / srcHeight);
    resizedWidth = Math.min(W, Math.max(1, Math.round(srcWidth * fit)));
    resizedHeight = Math.min(H, Math.max(1, Math.round(srcHeight * fit)));
  }
  const scaleX = resizedWidth / srcWidth;
  const scaleY = resizedHeight / srcHeight;
  return {
    srcWidth,
    srcHeight,
    scale: Math.min(scaleX, scaleY),
    scaleX,
    scaleY,
    resizedWidth,
    resizedHeight,
  };
}

/** Tensors of equal shape stacked along dimension 0 (each usually has dims[0] = 1). */
export function batch(tensors: readonly Tensor[]): Tensor {
  const first = tensors[0];
  if (!first) throw new Error("batch: no tensors");
  const rest = first.dims.slice(1).join(",");
  let total = 0;
  tensors.forEach((t, i) => {
    if (t.dims.length !== first.dims.length || t.dims.slice(1).join(",") !== rest) {
      throw new Error(
        `batch: tensor ${i} has dims [${t.dims.join(", ")}], tensor 0 has [${first.dims.join(", ")}]`,
      );
    }
    total += t.dims[0]!;
  });
  const data = new Float32Array(tensors.reduce((n, t) => n + t.data.length, 0));
  let offset = 0;
  for (const t of tensors) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return { dims: [total, ...first.dims.slice(1)], data };
}

export type TensorFeeds = Record<string, { dims: readonly number[]; data: ArrayLike<number> }>;

function describeSpec(spec: TensorSpec): string {
  return `[${spec.dims.join(", ")}]`;
}

/**
 * Tensors given by a tenant, checked against the model's inputs: every input present and no
 * other, a shape that fits the spec (named dimensions equal wherever they recur, "batch" at
 * most maxBatch), data as long as the shape and finite. Errors name the input.
 */
export function tensorInput(m: ModelManifest, feeds: TensorFeeds): Record<string, Tensor> {
  if (typeof feeds !== "object" || feeds === null)
    throw new Error(`inputs: expected an object of tensors`);
  for (const name of Object.keys(feeds)) {
    if (!m.inputs.some((spec) => spec.name === name)) {
      throw new Error(
        `inputs.${name}: model ${m.id} has no input ${JSON.stringify(name)} (it takes ${m.inputs.map((s) => s.name).join(", ")})`,
      );
    }
  }
  const named = new Map<string, number>();
  const out: Record<string, Tensor> = {};
  for (const spec of m.inputs) {
    const where = `inputs.${spec.name}`;
    const feed = feeds[spec.name];
    if (!feed) throw new Error(`${where}: missing`);
    if (spec.dtype !== "float32")
      throw new Error(`${where}: ${spec.dtype} inputs are not supported yet`);
    const dims = Array.from(feed.dims ?? []);
    if (dims.length !== spec.dims.length) {
      throw new Error(
        `${where}.dims: [${dims.join(", ")}] has ${dims.length} dimensions, expected ${describeSpec(spec)}`,
      );
    }
    spec.dims.forEach((expected, i) => {
      const got = dims[i]!;
      if (!Number.isInteger(got) || got < 1)
        throw new Error(`${where}.dims[${i}]: ${got} is not a positive integer`);
      if (typeof expected === "number") {
        if (got !== expected)
          throw new Error(
            `${where}.dims[${i}]: ${got}, expected ${expected} (shape ${describeSpec(spec)})`,
          );
        return;
      }
      const seen = named.get(expected);
      if (seen !== undefined && seen !== got) {
        throw new Error(
          `${where}.dims[${i}]: ${expected} is ${got} here and ${seen} in another input`,
        );
      }
      named.set(expected, got);
      if (expected === "batch" && got > m.maxBatch) {
        throw new Error(
          `${where}.dims[${i}]: batch of ${got}, model ${m.id} takes at most ${m.maxBatch}`,
        );
      }
    });
    const length = dims.reduce((a, b) => a * b, 1);
    if (feed.data?.length !== length) {
      throw new Error(
        `${where}.data: ${feed.data?.length ?? 0} values, dims [${dims.join(", ")}] need ${length}`,
      );
    }
    const data = Float32Array.from(feed.data);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new Error(`${where}.data[${bad}]: ${feed.data[bad]} is not a finite number`);
    out[spec.name] = { dims, data };
  }
  return out;
}
