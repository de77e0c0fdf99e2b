import { describe, expect, it } from "vitest";
import type { ModelManifest } from "../src/manifest";
import { interpretOutput, splitBatch } from "../src/postprocess";
import { batch, imageMeta, imageToTensor, tensorInput } from "../src/preprocess";
import { getManifest } from "../src/registry";

const cls = getManifest("ppocr-cls")!;
const det = getManifest("ppocr-det")!;
const tiny = getManifest("tiny-mlp")!;

/** A model that takes a 4 × 2 BGR image normalized to [-1, 1], for hand-computed tensors. */
const small: ModelManifest = {
  ...cls,
  id: "small",
  preprocess: {
    kind: "image",
    height: 2,
    width: 4,
    keepRatio: true,
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

describe("imageToTensor", () => {
  it("resizes bilinearly, orders channels BGR and normalizes (hand-computed)", () => {
    // Red then blue, 2 × 1, doubled to 4 × 2. Sample x = (i + 0.5) / 2 - 0.5: -0.25 (clamped to 0),
    // 0.25, 0.75, 1.25 (clamped to 1): blue = 0, 63.75, 191.25, 255 → (v/255 - 0.5)/0.5.
    const t = imageToTensor(
      small,
      rgba(2, 1, [
        [255, 0, 0, 255],
        [0, 0, 255, 255],
      ]),
    );
    expect(t.dims).toEqual([1, 3, 2, 4]);
    expect(plane(t.data, 0, 4, 2)).toEqual([
      [-1, -0.5, 0.5, 1],
      [-1, -0.5, 0.5, 1],
    ]); // B
    expect(plane(t.data, 1, 4, 2)).toEqual([
      [-1, -1, -1, -1],
      [-1, -1, -1, -1],
    ]); // G
    expect(plane(t.data, 2, 4, 2)).toEqual([
      [1, 0.5, -0.5, -1],
      [1, 0.5, -0.5, -1],
    ]); // R
    expect(t.meta).toEqual({
      srcWidth: 2,
      srcHeight: 1,
      scale: 2,
      scaleX: 2,
      scaleY: 2,
      resizedWidth: 4,
      resizedHeight: 2,
    });
  });

  it("keeps the aspect ratio and pads the rest with zeros; transparent pixels are white", () => {
    // 1 × 1 into 4 × 2: scale 2 fills 2 × 2, columns 2 and 3 are padding.
    const t = imageToTensor(small, rgba(1, 1, [[0, 0, 0, 0]]));
    for (let c = 0; c < 3; c++)
      expect(plane(t.data, c, 4, 2)).toEqual([
        [1, 1, 0, 0],
        [1, 1, 0, 0],
      ]);
    expect(t.meta.scale).toBe(2);
  });

  it("applies ImageNet mean and std per tensor channel for the detector", () => {
    const t = imageToTensor(det, rgba(1, 1, [[255, 128, 0, 255]]));
    expect(t.dims).toEqual([1, 3, 320, 320]);
    // Channel 0 is blue (0), with mean[0] and std[0]; channel 2 is red (255), with mean[2], std[2].
    expect(t.data[0]).toBeCloseTo((0 - 0.485) / 0.229, 5);
    expect(t.data[320 * 320]).toBeCloseTo((128 / 255 - 0.456) / 0.224, 5);
    expect(t.data[2 * 320 * 320]).toBeCloseTo((1 - 0.406) / 0.225, 5);
  });

  it("imageMeta gives the mapping without the pixels, as imageToTensor does", () => {
    const image = { width: 640, height: 200, data: new Uint8ClampedArray(640 * 200 * 4) };
    expect(imageMeta(det, 640, 200)).toEqual(imageToTensor(det, image).meta);
    // 640 × 200 fitted into 320 × 320: half size, 320 × 100 of image, the rest padding.
    expect(imageMeta(det, 640, 200)).toMatchObject({
      scale: 0.5,
      resizedWidth: 320,
      resizedHeight: 100,
    });
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

  it("finds text boxes in a probability map (hand-computed)", () => {
    const W = 40;
    const H = 20;
    const map = new Float32Array(W * H);
    const fill = (x0: number, y0: number, w: number, h: number, p: number) => {
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) map[y * W + x] = p;
    };
    fill(5, 8, 10, 4, 0.9); // text: 10 × 4
    fill(25, 2, 3, 3, 0.9); // too small: 9 pixels < minAreaPx 16
    fill(25, 10, 8, 8, 0.4); // above threshold 0.3, mean 0.4 < boxThreshold 0.5
    const r = interpretOutput(det, map, [1, 1, H, W]);
    // The region grows by area · 1.5 / perimeter = 40 · 1.5 / 28 = 2.14 on each side:
    // x 5 - 2.14 → 3, right 15 + 2.14 → 17; y 8 - 2.14 → 6, bottom 12 + 2.14 → 14.
    expect(r).toEqual({
      kind: "boxes",
      boxes: [{ x: 3, y: 6, width: 14, height: 8, score: expect.closeTo(0.9, 6) as number }],
    });
    // Mapped back to a source image half as large (tensor pixels per source pixel 2), clipped to it.
    const meta = {
      srcWidth: 20,
      srcHeight: 10,
      scale: 2,
      scaleX: 2,
      scaleY: 2,
      resizedWidth: 40,
      resizedHeight: 20,
    };
    expect(interpretOutput(det, map, [1, 1, H, W], meta)).toMatchObject({
      boxes: [{ x: 1, y: 3, width: 8, height: 4 }],
    });
  });

  it("ignores the padding beyond the resized image", () => {
    const map = new Float32Array(40 * 20).fill(0.95);
    const meta = {
      srcWidth: 10,
      srcHeight: 10,
      scale: 2,
      scaleX: 2,
      scaleY: 2,
      resizedWidth: 20,
      resizedHeight: 20,
    };
    expect(interpretOutput(det, map, [1, 1, 20, 40], meta)).toMatchObject({
      boxes: [{ x: 0, y: 0, width: 10, height: 10 }],
    });
  });
});
