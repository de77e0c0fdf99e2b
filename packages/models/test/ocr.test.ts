import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IMAGES, demoImagePath, type DemoImage } from "../src/demo-images";
import { modelFilePath } from "../src/files";
import { decodeImage } from "../src/image";
import type { ModelManifest } from "../src/manifest";
import { interpretOutput, splitBatch, type TextBox } from "../src/postprocess";
import { batch, imageToTensor, type ImageTensor } from "../src/preprocess";
import { getManifest } from "../src/registry";

const cls = getManifest("ppocr-cls")!;
const det = getManifest("ppocr-det")!;
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

async function tensorOf(m: ModelManifest, image: DemoImage): Promise<ImageTensor> {
  return imageToTensor(m, decodeImage(new Uint8Array(await readFile(demoImagePath(image.file)))));
}

/** Runs a batch of inputs in one call and returns each one's output. */
async function run(
  m: ModelManifest,
  tensors: ImageTensor[],
): Promise<{ dims: number[]; data: Float32Array }[]> {
  const input = batch(tensors);
  const result = await sessions.get(m.id)!.run({
    [m.inputs[0]!.name]: new ort.Tensor("float32", input.data, input.dims),
  });
  const output = result[m.outputs[0]!.name]!;
  return splitBatch(output.data as Float32Array, output.dims, tensors.length);
}

type Rect = { x: number; y: number; width: number; height: number };

function intersection(a: Rect, b: Rect): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return w * h;
}

function iou(a: Rect, b: Rect): number {
  const inter = intersection(a, b);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

describe("ppocr-cls on the demo lines", () => {
  const lines = DEMO_IMAGES.filter((d) => d.kind === "line");

  it("has upright and upside-down lines to tell apart", () => {
    expect(lines.filter((d) => d.angle === 0).length).toBeGreaterThanOrEqual(4);
    expect(lines.filter((d) => d.angle === 180).length).toBeGreaterThanOrEqual(4);
  });

  it("tells the direction of every line, batched as the model allows", async () => {
    const tensors = await Promise.all(lines.map((d) => tensorOf(cls, d)));
    const outputs: { dims: number[]; data: Float32Array }[] = [];
    for (let i = 0; i < tensors.length; i += cls.maxBatch) {
      outputs.push(...(await run(cls, tensors.slice(i, i + cls.maxBatch))));
    }
    const verdicts = outputs.map((o, i) => {
      const r = interpretOutput(cls, o.data, o.dims);
      if (r.kind !== "direction") throw new Error(`expected a direction, got ${r.kind}`);
      return {
        file: lines[i]!.file,
        expected: lines[i]!.angle,
        angle: r.angle,
        confidence: r.confidence,
      };
    });
    expect(verdicts.filter((v) => v.angle !== v.expected)).toEqual([]);
  });
});

describe("ppocr-det on the demo pages and documents", () => {
  const pages = DEMO_IMAGES.filter((d) => d.kind === "page" || d.kind === "document");

  it.each(pages.map((d) => [d.file, d] as const))(
    "%s: one box per line of text",
    async (_, page) => {
      const tensor = await tensorOf(det, page);
      const [output] = await run(det, [tensor]);
      const r = interpretOutput(det, output!.data, output!.dims, tensor.meta);
      if (r.kind !== "boxes") throw new Error(`expected boxes, got ${r.kind}`);
      expect(r.boxes.length).toBe(page.boxes.length);
      // PaddleOCR's detector gives boxes bottom line first (the reverse of the order a raster scan
      // meets them); sorted top to bottom they follow the lines as drawn. The truth boxes hug the
      // glyphs' ink; DB boxes add a margin but may cut descenders (0.82 of the ink covered at the
      // least, measured, on "a fleet of parked cars").
      const found = [...r.boxes].sort((a, b) => a.y - b.y || a.x - b.x);
      page.boxes.forEach((truth, i) => {
        const box: TextBox = found[i]!;
        expect(iou(box, truth), `${page.file} line ${i}`).toBeGreaterThan(0.45);
        expect(
          intersection(box, truth) / (truth.width * truth.height),
          `${page.file} line ${i} covered`,
        ).toBeGreaterThan(0.8);
        expect(box.score).toBeGreaterThan(
          det.postprocess.kind === "boxes" ? det.postprocess.boxThreshold : 1,
        );
      });
    },
  );

  it("finds no text on a blank page", async () => {
    const blank = { width: 300, height: 200, data: new Uint8ClampedArray(300 * 200 * 4).fill(240) };
    const tensor = imageToTensor(det, blank);
    const [output] = await run(det, [tensor]);
    expect(interpretOutput(det, output!.data, output!.dims, tensor.meta)).toEqual({
      kind: "boxes",
      boxes: [],
    });
  });
});
