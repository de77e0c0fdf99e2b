// Our whole OCR pipeline (decode → preprocess → onnxruntime-node → post-process) against what
// PaddleOCR 2.8.1's own TextClassifier and TextDetector gave for the same files
// (reference/reference.json; reference/README.md says how it was recorded). PNG inputs must give
// the very same resized pixels, outputs and boxes; JPEGs may differ by what two JPEG decoders
// differ by (jpeg-js here, libjpeg-turbo under OpenCV there: a level on a few percent of
// pixels), so their pixels, probabilities and box corners get a small tolerance.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelFilePath } from "../src/files";
import { decodeImage } from "../src/image";
import type { ModelManifest } from "../src/manifest";
import { interpretOutput } from "../src/postprocess";
import { imageToTensor, type ImageTensor } from "../src/preprocess";
import {
  fixturePath,
  loadFixtures,
  loadReference,
  type ReferenceResult,
  type TensorSummary,
} from "../src/reference-fixtures";
import { getManifest } from "../src/registry";

const cls = getManifest("ppocr-cls")!;
const det = getManifest("ppocr-det")!;
const reference = loadReference();
const fixtures = loadFixtures();
const sessions = new Map<string, ort.InferenceSession>();

beforeAll(async () => {
  for (const m of [cls, det]) {
    sessions.set(
      m.id,
      await ort.InferenceSession.create(modelFilePath(m), { intraOpNumThreads: 1 }),
    );
  }
});
afterAll(async () => {
  for (const s of sessions.values()) await s.release();
});

async function run(
  m: ModelManifest,
  t: ImageTensor,
): Promise<{ dims: number[]; data: Float32Array }> {
  const out = await sessions.get(m.id)!.run({
    [m.inputs[0]!.name]: new ort.Tensor("float32", t.data, t.dims),
  });
  const o = out[m.outputs[0]!.name]!;
  return { dims: [...o.dims], data: o.data as Float32Array };
}

async function prepare(m: ModelManifest, r: ReferenceResult): Promise<ImageTensor> {
  const image = decodeImage(new Uint8Array(await readFile(fixturePath(r.file))));
  // The image as PaddleOCR read it: the same size after EXIF orientation.
  expect({ width: image.width, height: image.height }, `${r.file} size`).toEqual(r.image);
  return imageToTensor(m, image);
}

/** The tensor back in 8-bit levels (as the reference script does), and its sha256. */
function levelsSha256(m: ModelManifest, t: ImageTensor): string {
  if (m.preprocess.kind !== "image") throw new Error("image models only");
  const { mean, std } = m.preprocess;
  const plane = t.data.length / 3;
  const levels = new Uint8Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const c = Math.floor(i / plane);
    // Python's round (half to even) of a float64, clipped to 0..255.
    const v = (t.data[i]! * std[c]! + mean[c]!) * 255;
    const r = Math.round(v);
    const even = r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
    levels[i] = Math.min(255, Math.max(0, even));
  }
  return createHash("sha256").update(levels).digest("hex");
}

const isJpeg = (file: string) => file.endsWith(".jpg");

/**
 * Our tensor against the recorded one. PNG: the same pixel levels (float values within 1e-6, the
 * last bit of float32 normalization). JPEG: sampled values within 0.05 (2–3 8-bit levels; the
 * decoders' inverse DCTs differ by a level on a few percent of pixels) and a mean difference
 * under 0.002 (measured: under 5e-4; jpeg-js's own colour conversion was 0.016 off).
 */
function expectTensor(m: ModelManifest, file: string, t: ImageTensor, want: TensorSummary): void {
  expect(t.dims, `${file} dims`).toEqual(want.dims);
  const tolerance = isJpeg(file) ? 0.05 : 1e-6;
  for (const [i, v] of want.samples) {
    expect(Math.abs(t.data[i]! - v), `${file} tensor[${i}]`).toBeLessThanOrEqual(tolerance);
  }
  let sum = 0;
  for (const v of t.data) sum += v;
  if (isJpeg(file)) {
    expect(Math.abs(sum - want.sum) / t.data.length, `${file} mean`).toBeLessThan(0.002);
  } else {
    expect(levelsSha256(m, t), `${file} pixel levels`).toBe(want.levelsSha256);
    expect(Math.abs(sum - want.sum), `${file} sum`).toBeLessThan(1e-6 * t.data.length);
  }
}

describe("reference fixtures", () => {
  it("cover what the issue asks for", () => {
    expect(reference.results.map((r) => r.file)).toEqual(fixtures.map((f) => f.file));
    const encodings = new Set(fixtures.map((f) => f.encoding));
    for (const e of [
      "png grey8",
      "png rgb16",
      "png grey16",
      "png palette",
      "png palette-alpha",
      "png rgba8",
      "png greyalpha8",
    ])
      expect(encodings, e).toContain(e);
    for (let o = 1; o <= 8; o++) expect(encodings).toContain(`jpeg exif orientation ${o}`);
    const lines = fixtures.filter((f) => f.model === "ppocr-cls");
    expect(lines.filter((f) => f.angle === 180).length).toBeGreaterThanOrEqual(10);
    // Lines wider than 4:1, which PaddleOCR squeezes into 192 pixels.
    const wide = reference.results.filter(
      (r) => r.model === "ppocr-cls" && r.image.width / r.image.height > 4,
    );
    expect(wide.length).toBeGreaterThanOrEqual(10);
  });
});

describe("ppocr-cls against PaddleOCR's TextClassifier", () => {
  const lines = reference.results.filter((r) => r.model === "ppocr-cls");

  it.each(lines.map((r) => [r.file, r] as const))("%s", async (file, r) => {
    if (r.model !== "ppocr-cls") throw new Error("expected a classifier result");
    const tensor = await prepare(cls, r);
    expectTensor(cls, file, tensor, r.tensor);
    const out = await run(cls, tensor);
    const got = interpretOutput(cls, out.data, out.dims);
    if (got.kind !== "direction") throw new Error(`expected a direction, got ${got.kind}`);
    expect(got.label, `${file} label`).toBe(r.label);
    const tolerance = isJpeg(file) ? 1e-3 : 1e-5;
    expect(Math.abs(got.confidence - r.confidence), `${file} confidence`).toBeLessThanOrEqual(
      tolerance,
    );
    r.output.forEach((p, i) =>
      expect(Math.abs(out.data[i]! - p), `${file} p[${i}]`).toBeLessThanOrEqual(tolerance),
    );
  });
});

describe("ppocr-det against PaddleOCR's TextDetector", () => {
  const pages = reference.results.filter((r) => r.model === "ppocr-det");

  it.each(pages.map((r) => [r.file, r] as const))("%s", async (file, r) => {
    if (r.model !== "ppocr-det") throw new Error("expected a detector result");
    const tensor = await prepare(det, r);
    expectTensor(det, file, tensor, r.tensor);
    const out = await run(det, tensor);
    expect(out.dims, `${file} map dims`).toEqual(r.output.dims);
    let sum = 0;
    for (const v of out.data) sum += v;
    expect(Math.abs(sum - r.output.sum) / r.output.sum, `${file} map sum`).toBeLessThan(
      isJpeg(file) ? 2e-3 : 1e-5,
    );
    const got = interpretOutput(det, out.data, out.dims, tensor.meta);
    if (got.kind !== "boxes") throw new Error(`expected boxes, got ${got.kind}`);
    // Same boxes in PaddleOCR's order: PNG to the pixel, JPEG within a pixel a corner.
    expect(got.boxes.length, `${file} boxes`).toBe(r.boxes.length);
    const px = isJpeg(file) ? 1 : 0;
    r.boxes.forEach((want, i) => {
      const box = got.boxes[i]!;
      box.points.forEach((p, k) => {
        const [wx, wy] = want.points[k]!;
        expect(
          Math.hypot(p[0] - wx, p[1] - wy),
          `${file} box ${i} corner ${k}`,
        ).toBeLessThanOrEqual(px);
      });
      expect(Math.abs(box.score - want.score), `${file} box ${i} score`).toBeLessThanOrEqual(
        isJpeg(file) ? 2e-3 : 1e-5,
      );
    });
  });
});
