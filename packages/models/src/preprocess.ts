// Inputs to tensors: images resized and normalized as a model's manifest says (PaddleOCR's own
// pre-processing, reproduced exactly: see reference/README.md), tensors given directly checked
// against its input spec, and batches stacked along the first dimension.
// Browser-safe: no Node modules.
import { paddleBgr, type DecodedImage } from "./image";
import type { ImagePreprocess, ModelManifest, TensorSpec } from "./manifest";
import { resizeLinear, type U8Image } from "./resize";

export interface Tensor {
  dims: number[];
  data: Float32Array;
}

/**
 * How a source image maps into the model's input, for reading its output back: sizes in pixels.
 * The detector's boxes are scaled by srcWidth / tensorWidth and srcHeight / tensorHeight, as
 * PaddleOCR scales them (padding of tiny images included).
 */
export interface ImageMeta {
  srcWidth: number;
  srcHeight: number;
  /** The input tensor's height and width. */
  tensorHeight: number;
  tensorWidth: number;
  /** The part of the tensor the image fills (the rest is zero padding, on the right). */
  resizedWidth: number;
  resizedHeight: number;
  /** The image after PaddleOCR's padding of tiny images (equal to src otherwise). */
  paddedWidth: number;
  paddedHeight: number;
}

export interface ImageTensor extends Tensor {
  meta: ImageMeta;
}

function imagePreprocess(m: ModelManifest): ImagePreprocess {
  if (m.preprocess.kind !== "image") throw new Error(`model ${m.id} takes tensors, not images`);
  return m.preprocess;
}

/** Python's round(): half to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * How an image of `srcWidth` × `srcHeight` maps into the model's input, without its pixels: cars
 * use it to prepare the tensor, the server to know a task's input and output size and to read
 * its output back.
 */
export function imageMeta(m: ModelManifest, srcWidth: number, srcHeight: number): ImageMeta {
  const { resize } = imagePreprocess(m);
  for (const [field, v] of [
    ["width", srcWidth],
    ["height", srcHeight],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`image.${field}: ${v} is not a positive integer`);
  }
  if (resize.mode === "text-line") {
    // TextClassifier.resize_norm_img: ratio = w / h, width ceil(48 · ratio) up to the maximum.
    const wanted = Math.ceil(resize.height * (srcWidth / srcHeight));
    const resizedWidth = wanted > resize.maxWidth ? resize.maxWidth : wanted;
    return {
      srcWidth,
      srcHeight,
      tensorHeight: resize.height,
      tensorWidth: resize.maxWidth,
      resizedWidth,
      resizedHeight: resize.height,
      paddedWidth: srcWidth,
      paddedHeight: srcHeight,
    };
  }
  // DetResizeForTest: tiny images padded with black first, then resize_image_type0.
  const multiple = resize.multiplePx;
  const tiny = srcWidth + srcHeight < 2 * multiple;
  const w = tiny ? Math.max(multiple, srcWidth) : srcWidth;
  const h = tiny ? Math.max(multiple, srcHeight) : srcHeight;
  const limit = resize.limitSidePx;
  let ratio = 1;
  if (resize.limitType === "max" ? Math.max(h, w) > limit : Math.min(h, w) < limit) {
    const side = resize.limitType === "max" ? (h > w ? h : w) : h < w ? h : w;
    ratio = limit / side;
  }
  const fit = (side: number) =>
    Math.max(roundHalfEven(Math.trunc(side * ratio) / multiple) * multiple, multiple);
  const tensorHeight = fit(h);
  const tensorWidth = fit(w);
  return {
    srcWidth,
    srcHeight,
    tensorHeight,
    tensorWidth,
    resizedWidth: tensorWidth,
    resizedHeight: tensorHeight,
    paddedWidth: w,
    paddedHeight: h,
  };
}

/** The input tensor's dims for one image: [1, 3, height, width]. */
export function imageInputDims(m: ModelManifest, srcWidth: number, srcHeight: number): number[] {
  const meta = imageMeta(m, srcWidth, srcHeight);
  return [1, 3, meta.tensorHeight, meta.tensorWidth];
}

/**
 * The dims of one input's tensors, with a model's named sizes filled in: "batch" is 1, "height"
 * and "width" come from the image (when the model takes one and its size is given).
 */
function resolveDims(
  m: ModelManifest,
  dims: readonly (number | string)[],
  image?: { width: number; height: number },
): (number | string)[] {
  const meta =
    image && m.preprocess.kind === "image" ? imageMeta(m, image.width, image.height) : null;
  return dims.map((d) => {
    if (typeof d === "number") return d;
    if (d === "batch") return 1;
    if (meta && d === "height") return meta.tensorHeight;
    if (meta && d === "width") return meta.tensorWidth;
    return d;
  });
}

/**
 * The first output's dims for one input (the detector's map is as large as its input image
 * tensor); null when a size is named and no image says what it is.
 */
export function outputDims(
  m: ModelManifest,
  image?: { width: number; height: number },
): number[] | null {
  const spec = m.outputs[0];
  if (!spec) return null;
  const dims = resolveDims(m, spec.dims, image);
  return dims.every((d) => typeof d === "number") ? (dims as number[]) : null;
}

/**
 * Tera-operations of one inference: the manifest's figure, scaled by input pixels for models
 * whose input size follows the image (their cost is counted at `referencePixels`).
 */
export function teraOpsFor(
  m: ModelManifest,
  image?: { width: number; height: number } | null,
): number {
  if (!m.referencePixels || !image || m.preprocess.kind !== "image") return m.teraOpsPerInference;
  const meta = imageMeta(m, image.width, image.height);
  return (m.teraOpsPerInference * meta.tensorHeight * meta.tensorWidth) / m.referencePixels;
}

/**
 * Most rows one run may stack for inputs of `dims` (the shape of one row's first input, batch
 * dimension included): the manifest's maxBatch, counted at its referencePixels for models whose
 * input follows the image. A run of four A4 documents at 960 × 672 holds six times the
 * activations of four 320 × 320 pages and took a browser tab's renderer down; one at a time, a
 * document fits. Always at least 1.
 */
export function maxBatchFor(m: ModelManifest, dims: readonly number[]): number {
  if (!m.referencePixels || dims.length < 4) return m.maxBatch;
  const pixels = (dims[dims.length - 2] ?? 1) * (dims[dims.length - 1] ?? 1);
  return Math.max(1, Math.min(m.maxBatch, Math.floor((m.maxBatch * m.referencePixels) / pixels)));
}

/**
 * An input of the size the manifest's cost is counted at, for measuring and counting: the
 * text-line models' fixed tensor, or a square of `referencePixels` for the detector.
 */
export function referenceInputDims(m: ModelManifest): number[] {
  const spec = m.inputs[0]!;
  if (m.preprocess.kind !== "image") return spec.dims.map((d) => (typeof d === "number" ? d : 1));
  const side = Math.round(Math.sqrt(m.referencePixels ?? 320 * 320));
  const meta = imageMeta(m, side, side);
  return [1, 3, meta.tensorHeight, meta.tensorWidth];
}

/**
 * One image as a [1, 3, height, width] tensor, as PaddleOCR prepares it: pixels as PaddleOCR
 * reads them (BGR, alpha over white), resized with OpenCV's bilinear filter to the size
 * imageMeta gives, channels in the manifest's order, `(pixel / 255 - mean[c]) / std[c]` in
 * float32, and zeros where the tensor is wider than the resized image.
 */
export function imageToTensor(m: ModelManifest, image: DecodedImage): ImageTensor {
  const pre = imagePreprocess(m);
  const { width: srcW, height: srcH, data: rgba } = image;
  if (rgba.length !== srcW * srcH * 4) {
    throw new Error(
      `image.data: ${rgba.length} bytes, expected ${srcW}×${srcH}×4 = ${srcW * srcH * 4}`,
    );
  }
  const meta = imageMeta(m, srcW, srcH);
  let bgr = paddleBgr(image);
  if (meta.paddedWidth !== srcW || meta.paddedHeight !== srcH) bgr = padBlack(bgr, meta);
  const resized = resizeLinear(bgr, meta.resizedWidth, meta.resizedHeight);
  const W = meta.tensorWidth;
  const H = meta.tensorHeight;
  const plane = W * H;
  const data = new Float32Array(3 * plane);
  // BGR source channel for each tensor channel.
  const order = pre.channelOrder === "bgr" ? [0, 1, 2] : [2, 1, 0];
  // NormalizeImage in float32: value · float32(1/255), minus the mean, over the std.
  const scale = Math.fround(1 / 255);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(pre.mean[c]!);
    const std = Math.fround(pre.std[c]!);
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++)
      table[v] = Math.fround(Math.fround(Math.fround(v * scale) - mean) / std);
    const src = order[c]!;
    for (let y = 0; y < resized.height; y++) {
      for (let x = 0; x < resized.width; x++) {
        data[c * plane + y * W + x] = table[resized.data[(y * resized.width + x) * 3 + src]!]!;
      }
    }
  }
  return { dims: [1, 3, H, W], data, meta };
}

/** The image in the top-left of a black canvas of the padded size (DetResizeForTest.image_padding). */
function padBlack(img: U8Image, meta: ImageMeta): U8Image {
  const out = new Uint8Array(meta.paddedWidth * meta.paddedHeight * 3);
  for (let y = 0; y < img.height; y++) {
    out.set(
      img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3),
      y * meta.paddedWidth * 3,
    );
  }
  return { width: meta.paddedWidth, height: meta.paddedHeight, channels: 3, data: out };
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
