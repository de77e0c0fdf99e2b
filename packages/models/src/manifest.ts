// What a runnable model is, for every part of Nightshift: the server registers and serves it,
// cars fetch, check and run it, verification compares its outputs. Browser-safe: no Node modules.
import { z } from "zod";

export const ZDType = z.enum(["float32", "int64", "int32", "uint8"]);
export type DType = z.infer<typeof ZDType>;

/** A dimension: a fixed size, or a name for a size fixed at run time ("batch", "height"). */
export const ZDim = z.union([z.number().int().positive(), z.string().min(1).max(32)]);

export const ZTensorSpec = z
  .object({
    name: z.string().min(1).max(64),
    dims: z.array(ZDim).min(1).max(8),
    dtype: ZDType,
  })
  .strict();
export type TensorSpec = z.infer<typeof ZTensorSpec>;

/**
 * How an image is sized for a text-line model (PaddleOCR's TextClassifier.resize_norm_img): its
 * height becomes `height`, its width keeps the aspect up to `maxWidth` (wider lines are squeezed
 * to `maxWidth`), and the rest of the `height` × `maxWidth` tensor is 0 on the right.
 */
export const ZTextLineResize = z
  .object({
    mode: z.literal("text-line"),
    height: z.number().int().positive(),
    maxWidth: z.number().int().positive(),
  })
  .strict();

/**
 * How an image is sized for a detector (PaddleOCR's DetResizeForTest with limit_side_len): scaled
 * so that its longer side (`limitType` "max") is at most, or its shorter side ("min") at least,
 * `limitSidePx`, then each side rounded to a multiple of `multiplePx` (at least one multiple),
 * without keeping the aspect exactly and without padding. Images under 2·`multiplePx` in width
 * plus height are first padded with black to `multiplePx` on each side, as PaddleOCR does.
 */
export const ZLimitSideResize = z
  .object({
    mode: z.literal("limit-side"),
    limitSidePx: z.number().int().positive(),
    limitType: z.enum(["max", "min"]),
    multiplePx: z.number().int().positive(),
  })
  .strict();

/**
 * How an input image becomes the model's tensor (NCHW float32): decoded as PaddleOCR reads
 * files (EXIF orientation applied, alpha laid over white), resized as `resize` says with OpenCV's
 * bilinear filter, channels in `channelOrder`, each value `(pixel / 255 - mean[c]) / std[c]`.
 */
export const ZImagePreprocess = z
  .object({
    kind: z.literal("image"),
    resize: z.discriminatedUnion("mode", [ZTextLineResize, ZLimitSideResize]),
    channelOrder: z.enum(["rgb", "bgr"]),
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  })
  .strict();
export type ImagePreprocess = z.infer<typeof ZImagePreprocess>;

/** Inputs given as tensors already (the tiny test model). */
export const ZTensorPreprocess = z.object({ kind: z.literal("tensor") }).strict();

export const ZPreprocess = z.discriminatedUnion("kind", [ZImagePreprocess, ZTensorPreprocess]);
export type Preprocess = z.infer<typeof ZPreprocess>;

/**
 * What an output means for people: `direction` (text upright or upside down, with confidence),
 * `boxes` (text boxes from a DB probability map, as PaddleOCR's DBPostProcess finds them, in the
 * input image's pixels), `tensor` (raw).
 */
export const ZPostprocess = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("direction"), labels: z.array(z.string()).min(2) }).strict(),
  z
    .object({
      kind: z.literal("boxes"),
      /** Probability above which a pixel is text (PaddleOCR det_db_thresh). */
      threshold: z.number().min(0).max(1),
      /** Mean probability inside a box below which it is dropped (det_db_box_thresh). */
      boxThreshold: z.number().min(0).max(1),
      /** Boxes grow by area · unclipRatio / perimeter (det_db_unclip_ratio). */
      unclipRatio: z.number().positive(),
      /** Regions looked at, at most (max_candidates). */
      maxCandidates: z.number().int().positive(),
      /** Boxes whose short side is under this many map pixels are dropped (min_size). */
      minSidePx: z.number().int().min(0),
    })
    .strict(),
  z.object({ kind: z.literal("tensor") }).strict(),
]);
export type Postprocess = z.infer<typeof ZPostprocess>;

export const ZModelManifest = z
  .object({
    /** Stable id that jobs name, e.g. "ppocr-cls". */
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    version: z.string().min(1).max(32),
    title: z.string().min(1).max(120),
    /** File name of the ONNX bytes (served by the server at /models/:id/:sha256). */
    file: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    sizeBytes: z.number().int().positive(),
    inputs: z.array(ZTensorSpec).min(1),
    outputs: z.array(ZTensorSpec).min(1),
    preprocess: ZPreprocess,
    postprocess: ZPostprocess,
    /** Two outputs agree when every element is within abs + rel·|x| (core's outputsAgree). */
    tolerance: z.object({ abs: z.number().min(0), rel: z.number().min(0) }).strict(),
    /** Most inputs one run may batch (1: the model takes one input per run). */
    maxBatch: z.number().int().positive(),
    /**
     * Reference cost for the energy model: tera-operations per inference (for image models
     * whose input size varies, at `referencePixels` input pixels; see teraOpsFor) and memory.
     */
    teraOpsPerInference: z.number().positive(),
    /** Input pixels (height × width) teraOpsPerInference was counted at; absent: fixed size. */
    referencePixels: z.number().int().positive().optional(),
    memoryGB: z.number().positive(),
    /** Where the weights come from (package and licence). */
    source: z.string().min(1),
  })
  .strict();
export type ModelManifest = z.infer<typeof ZModelManifest>;

/** A tensor's shape for one input: named dimensions (the batch) are 1. */
export function oneInputDims(dims: readonly (number | string)[]): number[] {
  return dims.map((d) => (typeof d === "number" ? d : 1));
}
