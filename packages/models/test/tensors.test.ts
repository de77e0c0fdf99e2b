import { describe, expect, it } from "vitest";
import type { ModelManifest } from "../src/manifest";
import { interpretOutput, splitBatch } from "../src/postprocess";
import {
  batch,
  imageInputDims,
  imageMeta,
  imageToTensor,
  maxBatchFor,
  outputDims,
  referenceInputDims,
  tensorInput,
  teraOpsFor,
} from "../src/preprocess";
import { getManifest } from "../src/registry";

const cls = getManifest("ppocr-cls")!;
const det = getManifest("ppocr-det")!;
const tiny = getManifest("tiny-mlp")!;

/** A text-line model 2 pixels high and at most 4 wide, BGR to [-1, 1], for hand-computed tensors. */
const small: ModelManifest = {
  ...cls,
  id: "small",
  preprocess: {
    kind: "image",
    resize: { mode: "text-line", height: 2, maxWidth: 4 },
    channelOrder: "bgr",
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  },
};

function rgba(
  width: number,
  height: number,
  pixels: number[][],
): { width: number; height: number; data: Uint8ClampedArray } {
  return { width, height, data: Uint8ClampedArray.from(pixels.flat()) };
}

function plane(data: Float32Array, c: number, w: number, h: number): number[][] {
  return Array.from({ length: h }, (_, y) =>
    Array.from(data.subarray(c * w * h + y * w, c * w * h + (y + 1) * w)),
  );
}

/** (v / 255 - 0.5) / 0.5 for each 8-bit level. */
const unit = (levels: number[]) => levels.map((v) => expect.closeTo((v / 255 - 0.5) / 0.5, 6));

describe("imageToTensor", () => {
  it("resizes as OpenCV's INTER_LINEAR on 8 bits, orders channels BGR and normalizes (hand-computed)", () => {
    // Red then blue, 2 × 1: height 2, width ceil(2 · 2 / 1) = 4. Source x = (i + 0.5) / 2 - 0.5:
    // -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1). OpenCV's fixed point gives blue
    // 0, 64 (not 63.75), 191 (not 191.25), 255.
    const t = imageToTensor(
      small,
      rgba(2, 1, [
        [255, 0, 0, 255],
        [0, 0, 255, 255],
      ]),
    );
    expect(t.dims).toEqual([1, 3, 2, 4]);
    expect(plane(t.data, 0, 4, 2)).toEqual([unit([0, 64, 191, 255]), unit([0, 64, 191, 255])]); // B
    expect(plane(t.data, 1, 4, 2)).toEqual([unit([0, 0, 0, 0]), unit([0, 0, 0, 0])]); // G
    expect(plane(t.data, 2, 4, 2)).toEqual([unit([255, 191, 64, 0]), unit([255, 191, 64, 0])]); // R
    expect(t.meta).toMatchObject({ srcWidth: 2, srcHeight: 1, resizedWidth: 4, tensorWidth: 4 });
  });

  it("keeps a line's height, pads the right with zeros, squeezes lines too wide; alpha over white", () => {
    // 1 × 1 transparent: white, 2 × 2 (ceil(2 · 1) = 2), columns 2 and 3 are padding.
    const t = imageToTensor(small, rgba(1, 1, [[0, 0, 0, 0]]));
    for (let c = 0; c < 3; c++)
      expect(plane(t.data, c, 4, 2)).toEqual([
        [1, 1, 0, 0],
        [1, 1, 0, 0],
      ]);
    // Half transparent black: 255 · 0.498 = 127.0 → 127 (PaddleOCR's alpha_to_color truncates).
    const half = imageToTensor(small, rgba(1, 1, [[0, 0, 0, 128]]));
    expect(half.data[0]).toBeCloseTo((127 / 255 - 0.5) / 0.5, 6);
    // 100 × 10 would be 20 wide: squeezed to 4.
    expect(imageMeta(small, 100, 10)).toMatchObject({ resizedWidth: 4, resizedHeight: 2 });
    // The classifier: 48 high, ceil(48 · 200 / 64) = 150 wide; 1000 × 40 squeezed to 192.
    expect(imageMeta(cls, 200, 64)).toMatchObject({ resizedWidth: 150, tensorWidth: 192 });
    expect(imageMeta(cls, 1000, 40)).toMatchObject({ resizedWidth: 192, resizedHeight: 48 });
  });

  it("sizes detector inputs as PaddleOCR's DetResizeForTest (longer side ≤ 960, multiples of 32)", () => {
    const size = (w: number, h: number) => {
      const m = imageMeta(det, w, h);
      return [m.tensorWidth, m.tensorHeight];
    };
    expect(size(640, 200)).toEqual([640, 192]); // 200 / 32 = 6.25 → 6
    expect(size(1500, 1000)).toEqual([960, 640]); // × 0.64
    expect(size(1000, 3000)).toEqual([320, 960]); // × 0.32
    // Python's round: half to even (80 / 32 = 2.5 → 2, 48 / 32 = 1.5 → 2).
    expect(size(80, 48)).toEqual([64, 64]);
    // Under 64 in width + height: padded with black to 32 × 32 first, then resized.
    expect(imageMeta(det, 40, 22)).toMatchObject({
      paddedWidth: 40,
      paddedHeight: 32,
      tensorWidth: 32,
      tensorHeight: 32,
    });
  });

  it("applies ImageNet mean and std per tensor channel for the detector; pads tiny images black", () => {
    const t = imageToTensor(det, rgba(1, 1, [[255, 128, 0, 255]]));
    expect(t.dims).toEqual([1, 3, 32, 32]);
    // Channel 0 is blue (0), with mean[0] and std[0]; channel 2 is red (255), with mean[2], std[2].
    expect(t.data[0]).toBeCloseTo((0 - 0.485) / 0.229, 5);
    expect(t.data[32 * 32]).toBeCloseTo((128 / 255 - 0.456) / 0.224, 5);
    expect(t.data[2 * 32 * 32]).toBeCloseTo((1 - 0.406) / 0.225, 5);
    // The padding is black, not white.
    expect(t.data[2 * 32 * 32 + 1]).toBeCloseTo((0 - 0.406) / 0.225, 5);
  });

  it("imageMeta gives the mapping without the pixels, as imageToTensor does", () => {
    const image = { width: 640, height: 200, data: new Uint8ClampedArray(640 * 200 * 4) };
    expect(imageMeta(det, 640, 200)).toEqual(imageToTensor(det, image).meta);
    expect(imageInputDims(det, 640, 200)).toEqual([1, 3, 192, 640]);
    expect(() => imageMeta(det, 0, 10)).toThrow("image.width: 0 is not a positive integer");
  });

  it("gives output dims and the cost of one inference for an image's size", () => {
    expect(outputDims(det, { width: 1500, height: 1000 })).toEqual([1, 1, 640, 960]);
    expect(outputDims(det)).toBeNull();
    expect(outputDims(cls)).toEqual([1, 2]);
    expect(outputDims(cls, { width: 300, height: 40 })).toEqual([1, 2]);
    // The detector's cost scales with its input pixels from the 320 × 320 it was counted at.
    expect(teraOpsFor(det, { width: 320, height: 320 })).toBeCloseTo(det.teraOpsPerInference, 12);
    expect(teraOpsFor(det, { width: 1500, height: 1000 })).toBeCloseTo(
      (det.teraOpsPerInference * 960 * 640) / (320 * 320),
      12,
    );
    expect(teraOpsFor(cls, { width: 300, height: 40 })).toBe(cls.teraOpsPerInference);
    expect(referenceInputDims(det)).toEqual([1, 3, 320, 320]);
    expect(referenceInputDims(cls)).toEqual([1, 3, 48, 192]);
  });

  it("refuses tensor models and malformed images", () => {
    expect(() => imageToTensor(tiny, rgba(1, 1, [[0, 0, 0, 255]]))).toThrow(
      "model tiny-mlp takes tensors, not images",
    );
    expect(() =>
      imageToTensor(cls, { width: 2, height: 2, data: new Uint8ClampedArray(4) }),
    ).toThrow(/^image.data: 4 bytes/);
  });
});

describe("batch and splitBatch", () => {
  it("stack along dimension 0 and split back to the same tensors", () => {
    const a = { dims: [1, 2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const b = { dims: [1, 2, 3], data: Float32Array.from([7, 8, 9, 10, 11, 12]) };
    const both = batch([a, b]);
    expect(both.dims).toEqual([2, 2, 3]);
    expect(Array.from(both.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const parts = splitBatch(both.data, both.dims, 2);
    expect(parts.map((p) => p.dims)).toEqual([a.dims, b.dims]);
    expect(parts.map((p) => Array.from(p.data))).toEqual([Array.from(a.data), Array.from(b.data)]);
  });

  it("refuse shapes that do not stack or split", () => {
    expect(() => batch([])).toThrow("batch: no tensors");
    expect(() =>
      batch([
        { dims: [1, 2], data: new Float32Array(2) },
        { dims: [1, 3], data: new Float32Array(3) },
      ]),
    ).toThrow("batch: tensor 1 has dims [1, 3], tensor 0 has [1, 2]");
    expect(() => splitBatch(new Float32Array(6), [3, 2], 2)).toThrow(
      "splitBatch: cannot split dims [3, 2] into 2 parts",
    );
    expect(() => splitBatch(new Float32Array(5), [3, 2], 3)).toThrow(
      "splitBatch: 5 values, dims [3, 2] need 6",
    );
  });
});

describe("tensorInput", () => {
  const x = (batchSize: number) => ({
    dims: [batchSize, 16],
    data: Array.from({ length: batchSize * 16 }, (_, i) => i),
  });

  it("accepts a tensor that fits the spec, as float32", () => {
    const feeds = tensorInput(tiny, { x: x(2) });
    expect(feeds["x"]!.dims).toEqual([2, 16]);
    expect(feeds["x"]!.data).toBeInstanceOf(Float32Array);
    expect(feeds["x"]!.data[31]).toBe(31);
  });

  it("names the input and the field that is wrong", () => {
    expect(() => tensorInput(tiny, {})).toThrow("inputs.x: missing");
    expect(() => tensorInput(tiny, { x: x(1), z: x(1) })).toThrow(
      'inputs.z: model tiny-mlp has no input "z" (it takes x)',
    );
    expect(() => tensorInput(tiny, { x: { dims: [16], data: x(1).data } })).toThrow(
      "inputs.x.dims: [16] has 1 dimensions, expected [batch, 16]",
    );
    expect(() => tensorInput(tiny, { x: { dims: [1, 15], data: new Array(15).fill(0) } })).toThrow(
      "inputs.x.dims[1]: 15, expected 16",
    );
    expect(() => tensorInput(tiny, { x: { dims: [0, 16], data: [] } })).toThrow(
      "inputs.x.dims[0]: 0 is not a positive integer",
    );
    expect(() => tensorInput(tiny, { x: x(65) })).toThrow(
      "inputs.x.dims[0]: batch of 65, model tiny-mlp takes at most 64",
    );
    expect(() => tensorInput(tiny, { x: { dims: [1, 16], data: [1, 2] } })).toThrow(
      "inputs.x.data: 2 values, dims [1, 16] need 16",
    );
    const nan = x(1);
    nan.data[3] = Number.NaN;
    expect(() => tensorInput(tiny, { x: nan })).toThrow(
      "inputs.x.data[3]: NaN is not a finite number",
    );
    const huge = x(1);
    huge.data[5] = 1e39; // beyond float32
    expect(() => tensorInput(tiny, { x: huge })).toThrow(
      "inputs.x.data[5]: 1e+39 is not a finite number",
    );
  });
});

describe("interpretOutput", () => {
  it("reads a direction and its confidence", () => {
    expect(interpretOutput(cls, [0.2, 0.8], [1, 2])).toEqual({
      kind: "direction",
      label: "180",
      angle: 180,
      confidence: 0.8,
    });
    expect(interpretOutput(cls, [0.9, 0.1], [1, 2])).toMatchObject({ label: "0", angle: 0 });
    expect(() => interpretOutput(cls, [0.1, 0.9, 0.5, 0.5], [2, 2])).toThrow(/split batches first/);
  });

  it("summarizes a raw tensor", () => {
    expect(interpretOutput(tiny, [1, 2, 3, 4], [1, 4])).toEqual({
      kind: "tensor",
      values: 4,
      preview: [1, 2, 3, 4],
    });
    expect(() => interpretOutput(tiny, [1, 2, 3], [1, 4])).toThrow(
      "output: 3 values, dims [1, 4] need 4",
    );
  });

  it("finds text boxes in a probability map as PaddleOCR's DB post-processing does (hand-computed)", () => {
    const W = 40;
    const H = 20;
    const map = new Float32Array(W * H);
    const fill = (x0: number, y0: number, w: number, h: number, p: number) => {
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) map[y * W + x] = p;
    };
    fill(5, 8, 10, 4, 0.9); // text: pixels x 5..14, y 8..11
    fill(25, 2, 3, 3, 0.9); // too small: its rectangle is 2 × 2 between pixel centres, under 3
    fill(25, 10, 8, 8, 0.4); // above threshold 0.3, but its mean 0.4 is under boxThreshold 0.6
    const r = interpretOutput(det, map, [1, 1, H, W]);
    // The rectangle through the border pixels' centres is 9 × 3; it grows by
    // area · 1.5 / perimeter = 27 · 1.5 / 24 = 1.69 with round corners: x 3..16, y 6..13.
    expect(r).toEqual({
      kind: "boxes",
      boxes: [
        {
          points: [
            [3, 6],
            [16, 6],
            [16, 13],
            [3, 13],
          ],
          x: 3,
          y: 6,
          width: 13,
          height: 7,
          score: expect.closeTo(0.9, 6) as number,
        },
      ],
    });
    // In a source image twice as large as the map: corners × 2 (rounded half to even).
    const meta = {
      srcWidth: 80,
      srcHeight: 40,
      tensorWidth: W,
      tensorHeight: H,
      resizedWidth: W,
      resizedHeight: H,
      paddedWidth: 80,
      paddedHeight: 40,
    };
    expect(interpretOutput(det, map, [1, 1, H, W], meta)).toMatchObject({
      boxes: [
        {
          points: [
            [6, 12],
            [32, 12],
            [32, 26],
            [6, 26],
          ],
          width: 26,
          height: 14,
        },
      ],
    });
    expect(() => interpretOutput(det, map, [1, 1, H, W], { ...meta, tensorWidth: 64 })).toThrow(
      "output: a 40×20 map, the input was 64×20",
    );
  });

  it("gives rotated boxes for slanted text", () => {
    const W = 60;
    const H = 40;
    const map = new Float32Array(W * H);
    // A band 4 pixels thick rising one pixel every three to the right.
    for (let x = 5; x < 55; x++) {
      const y0 = 30 - Math.floor((x - 5) / 3);
      for (let y = y0; y < y0 + 4; y++) map[y * W + x] = 0.95;
    }
    const r = interpretOutput(det, map, [1, 1, H, W]);
    if (r.kind !== "boxes") throw new Error(`expected boxes, got ${r.kind}`);
    expect(r.boxes).toHaveLength(1);
    const [tl, tr, br, bl] = r.boxes[0]!.points;
    // Its top and bottom edges rise to the right, about 1 in 3.
    expect(tr[1]).toBeLessThan(tl[1] - 10);
    expect(br[1]).toBeLessThan(bl[1] - 10);
    expect(r.boxes[0]!.score).toBeGreaterThan(0.6);
  });
});

describe("maxBatchFor", () => {
  const det = getManifest("ppocr-det")!;
  const cls = getManifest("ppocr-cls")!;

  it("stacks as many detector inputs as fit the pixels maxBatch was set at, at least one", () => {
    expect(maxBatchFor(det, [1, 3, 320, 320])).toBe(det.maxBatch);
    expect(maxBatchFor(det, [1, 3, 320, 160])).toBe(det.maxBatch);
    expect(maxBatchFor(det, [1, 3, 640, 320])).toBe(2);
    // An A4 document at PaddleOCR's 960-pixel limit: one a run.
    expect(maxBatchFor(det, [1, 3, 960, 672])).toBe(1);
    expect(maxBatchFor(det, [1, 3, 4096, 4096])).toBe(1);
  });

  it("leaves fixed-size models at their maxBatch", () => {
    expect(maxBatchFor(cls, [1, 3, 48, 192])).toBe(cls.maxBatch);
  });
});
