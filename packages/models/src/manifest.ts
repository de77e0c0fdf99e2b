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
 * How an input image becomes the model's tensor (NCHW float32): resized to `height` × `width`
 * (`keepRatio`: scaled to fit, padded with zeros on the right and bottom), channels in
 * `channelOrder`, each value `(pixel / 255 - mean[c]) / std[c]`.
 */
export const ZImagePreprocess = z
  .object({
    kind: z.literal("image"),
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    keepRatio: z.boolean(),
    channelOrder: z.enum(["rgb", "bgr"]),
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  })
  .strict();

/** Inputs given as tensors already (the tiny test model). */
export const ZTensorPreprocess = z.object({ kind: z.literal("tensor") }).strict();

export const ZPreprocess = z.discriminatedUnion("kind", [ZImagePreprocess, ZTensorPreprocess]);
export type Preprocess = z.infer<typeof ZPreprocess>;

/**
 * What an output means for people: `direction` (text upright or upside down, with confidence),
 * `boxes` (text boxes from a probability map, in the input image's pixels), `tensor` (raw).
 */
export const ZPostprocess = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("direction"), labels: z.array(z.string()).min(2) }).strict(),
  z
    .object({
      kind: z.literal("boxes"),
      /** Probability above which a pixel is text. */
      threshold: z.number().min(0).max(1),
      /** Mean probability under a box below which it is dropped. */
      boxThreshold: z.number().min(0).max(1),
      /** Boxes with fewer pixels are dropped. */
      minAreaPx: z.number().int().min(0),
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
    /** Reference cost for the energy model: tera-operations per inference and memory needed. */
    teraOpsPerInference: z.number().positive(),
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
