// What the server expects of an image model's output and charges for its run, for images of
// different sizes: the detector's map follows its input image (longer side up to 960, multiples
// of 32), so its length, its reading and its cost do too.
import { getManifest } from "@nightshift/models/registry";
import { describe, expect, it } from "vitest";
import { modelRow } from "../src/seed";
import { interpret } from "../src/services/interpret";
import { expectedOutputLength, imageOutputLength, taskTeraOps } from "../src/services/submit";

const det = getManifest("ppocr-det")!;
const cls = getManifest("ppocr-cls")!;

describe("image model outputs", () => {
  it("leaves the detector's output length to each task's image", () => {
    // The models table keeps the named sizes, so no fixed length is checked.
    expect(modelRow(det).outputSpec.dims).toEqual([1, 1, "height", "width"]);
    expect(expectedOutputLength(modelRow(det).outputSpec)).toBeNull();
    expect(imageOutputLength("ppocr-det", { width: 1500, height: 1000 })).toBe(640 * 960);
    expect(imageOutputLength("ppocr-det", { width: 480, height: 320 })).toBe(320 * 480);
    expect(imageOutputLength("ppocr-det", null)).toBeNull();
    // The classifier's output is fixed: 2 values whatever the line.
    expect(expectedOutputLength(modelRow(cls).outputSpec)).toBe(2);
    expect(imageOutputLength("ppocr-cls", { width: 900, height: 30 })).toBe(2);
    expect(imageOutputLength("tiny-mlp", { width: 10, height: 10 })).toBeNull();
  });

  it("charges the detector by its input's pixels", () => {
    const row = { id: det.id, teraOpsPerInference: det.teraOpsPerInference };
    expect(taskTeraOps(row, { width: 320, height: 320 })).toBeCloseTo(det.teraOpsPerInference, 12);
    expect(taskTeraOps(row, { width: 1500, height: 1000 })).toBeCloseTo(
      (det.teraOpsPerInference * 960 * 640) / (320 * 320),
      12,
    );
    expect(taskTeraOps(row, null)).toBe(det.teraOpsPerInference);
    const clsRow = { id: cls.id, teraOpsPerInference: cls.teraOpsPerInference };
    expect(taskTeraOps(clsRow, { width: 900, height: 30 })).toBe(cls.teraOpsPerInference);
  });

  it("reads a detector output of the image's size, and nothing of another size", () => {
    const map = new Array<number>(640 * 960).fill(0);
    // A text region 100 × 20 map pixels at (50, 40): the box comes back in source pixels.
    for (let y = 40; y < 60; y++) for (let x = 50; x < 150; x++) map[y * 960 + x] = 0.9;
    const r = interpret("ppocr-det", map, { width: 1500, height: 1000 });
    expect(r).toMatchObject({ kind: "boxes" });
    const boxes = (r as { boxes: { points: number[][] }[] }).boxes;
    expect(boxes).toHaveLength(1);
    // Map x 50..149 is source x 78..233 (× 1500 / 960), grown by DB's unclip margin.
    const [tl, , br] = boxes[0]!.points as [number[], number[], number[], number[]];
    expect(tl[0]).toBeLessThan(78);
    expect(br[0]).toBeGreaterThan(233);
    expect(interpret("ppocr-det", map.slice(1), { width: 1500, height: 1000 })).toBeNull();
    expect(interpret("ppocr-det", map, { width: 480, height: 320 })).toBeNull();
  });
});
