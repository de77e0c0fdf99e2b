import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { buildDemoImages } from "../src/build-demo-images";
import { DEMO_IMAGES, demoImagePath } from "../src/demo-images";
import { decodeImage } from "../src/image";

describe("demo images", () => {
  it("the committed answers list every committed image, with boxes inside it", async () => {
    expect(DEMO_IMAGES.length).toBeGreaterThanOrEqual(20);
    let totalBytes = 0;
    for (const d of DEMO_IMAGES) {
      const bytes = await readFile(demoImagePath(d.file));
      totalBytes += bytes.length;
      const image = decodeImage(new Uint8Array(bytes));
      expect([image.width, image.height], d.file).toEqual([d.width, d.height]);
      for (const b of d.boxes) {
        expect(
          b.x >= 0 && b.y >= 0 && b.x + b.width <= d.width && b.y + b.height <= d.height,
          d.file,
        ).toBe(true);
      }
    }
    expect(totalBytes).toBeLessThan(1024 * 1024);
  });

  it("the generator draws the committed images again", async () => {
    // Same answers exactly (they come from font metrics); pixels within rounding, because
    // rasterizers may differ in the last bit of anti-aliasing between CPUs.
    const { files, answers } = buildDemoImages();
    expect(answers).toEqual(DEMO_IMAGES);
    for (const [file, png] of files) {
      const fresh = decodeImage(png).data;
      const committed = decodeImage(new Uint8Array(await readFile(demoImagePath(file)))).data;
      expect(fresh.length, file).toBe(committed.length);
      let diff = 0;
      for (let i = 0; i < fresh.length; i++) diff += Math.abs(fresh[i]! - committed[i]!);
      expect(diff / fresh.length, file).toBeLessThan(0.5);
    }
  });

  it("refuses file names outside the demo set's pattern", () => {
    expect(() => demoImagePath("../package.json")).toThrow(/is not a demo file name/);
  });
});
