import { readFile } from "node:fs/promises";
import { zeroPng } from "@nightshift/testkit/png";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { describe, expect, it } from "vitest";
import { DEMO_IMAGES, demoImagePath } from "../src/demo-images";
import { decodeImage, ImageDecodeError, MAX_IMAGE_SIDE_PX } from "../src/image";

function decodeError(bytes: Uint8Array): ImageDecodeError {
  try {
    decodeImage(bytes);
  } catch (error) {
    if (error instanceof ImageDecodeError) return error;
    throw new Error(`expected an ImageDecodeError, got ${String(error)}`);
  }
  throw new Error("expected an ImageDecodeError, the bytes decoded");
}

const MIB = 1024 * 1024;

function jpegOf(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...rgb, 255], p * 4);
  return new Uint8Array(jpeg.encode({ width, height, data }, 95).data);
}

describe("decodeImage", () => {
  it("decodes the demo PNGs to RGBA of the size the answers give", async () => {
    for (const d of DEMO_IMAGES.slice(0, 3)) {
      const image = decodeImage(new Uint8Array(await readFile(demoImagePath(d.file))));
      expect([image.width, image.height]).toEqual([d.width, d.height]);
      expect(image.data.length).toBe(d.width * d.height * 4);
      // The corner is paper: light, opaque.
      expect(Array.from(image.data.subarray(0, 4))).toEqual([243, 240, 232, 255]);
    }
  });

  it("turns grey, grey with alpha, 16-bit, 1-bit and palette PNGs into RGBA", () => {
    const grey = decodeImage(
      encodePng({ width: 2, height: 1, data: new Uint8Array([0, 200]), channels: 1, depth: 8 }),
    );
    expect(Array.from(grey.data)).toEqual([0, 0, 0, 255, 200, 200, 200, 255]);
    const greyAlpha = decodeImage(
      encodePng({ width: 1, height: 1, data: new Uint8Array([90, 17]), channels: 2, depth: 8 }),
    );
    expect(Array.from(greyAlpha.data)).toEqual([90, 90, 90, 17]);
    const deep = decodeImage(
      encodePng({
        width: 1,
        height: 1,
        data: new Uint16Array([0x1234, 0xff00, 0x00ff]),
        channels: 3,
        depth: 16,
      }),
    );
    expect(Array.from(deep.data)).toEqual([0x12, 0xff, 0x00, 255]);
    // 9 pixels at 1 bit: 1,0,1,1,0,0,0,0 | 1 (rows pad to whole bytes).
    const bits = decodeImage(
      encodePng({
        width: 9,
        height: 1,
        data: new Uint8Array([0b10110000, 0b10000000]),
        channels: 1,
        depth: 1,
      }),
    );
    expect(Array.from(bits.data.filter((_, i) => i % 4 === 0))).toEqual([
      255, 0, 255, 255, 0, 0, 0, 0, 255,
    ]);
    const indexed = decodeImage(
      encodePng({
        width: 2,
        height: 1,
        data: new Uint8Array([1, 0]),
        channels: 1,
        depth: 8,
        palette: [
          [10, 20, 30],
          [40, 50, 60],
        ],
      }),
    );
    expect(Array.from(indexed.data)).toEqual([40, 50, 60, 255, 10, 20, 30, 255]);
  });

  it("decodes JPEG", () => {
    const image = decodeImage(jpegOf(16, 8, [200, 40, 90]));
    expect([image.width, image.height]).toEqual([16, 8]);
    // Lossy: within a few levels of the colour encoded.
    const [r, g, b, a] = Array.from(image.data.subarray(0, 4));
    expect(Math.abs(r! - 200) + Math.abs(g! - 40) + Math.abs(b! - 90)).toBeLessThan(12);
    expect(a).toBe(255);
  });

  it("refuses what is not a PNG or JPEG", () => {
    expect(decodeError(new TextEncoder().encode("GIF89a....")).message).toBe(
      "not a PNG or JPEG image",
    );
    expect(decodeError(new Uint8Array()).message).toBe("not a PNG or JPEG image");
  });

  it("says a cut-off PNG is truncated", async () => {
    const bytes = new Uint8Array(await readFile(demoImagePath(DEMO_IMAGES[0]!.file)));
    expect(decodeError(bytes.subarray(0, bytes.length >> 1)).message).toMatch(
      /^truncated PNG: chunk "IDAT" at byte \d+ needs \d+ bytes, \d+ left$/,
    );
    expect(decodeError(bytes.subarray(0, bytes.length - 12)).message).toMatch(
      /^truncated PNG: .*ends before its IEND chunk$/,
    );
    expect(decodeError(bytes.subarray(0, 8)).message).toMatch(/^truncated PNG/);
  });

  it("says a PNG with damaged data is invalid", async () => {
    const bytes = new Uint8Array(await readFile(demoImagePath(DEMO_IMAGES[0]!.file)));
    const damaged = bytes.slice();
    // Overwrite the start of the first IDAT's compressed data (the zlib header).
    const idat = Buffer.from(damaged).indexOf("IDAT");
    damaged.fill(0xff, idat + 4, idat + 40);
    expect(decodeError(damaged).message).toMatch(/^invalid PNG: /);
  });

  it("says a palette PNG whose palette is empty is invalid", () => {
    const png = encodePng({
      width: 2,
      height: 1,
      data: new Uint8Array([1, 0]),
      channels: 1,
      depth: 8,
      palette: [
        [10, 20, 30],
        [40, 50, 60],
      ],
    });
    // The PLTE chunk, emptied: length 0, its CRC (unchecked) zero.
    const at = Buffer.from(png).indexOf("PLTE") - 4;
    const length = new DataView(png.buffer, png.byteOffset).getUint32(at);
    const empty = new Uint8Array([
      ...png.subarray(0, at),
      ...[0, 0, 0, 0, 0x50, 0x4c, 0x54, 0x45, 0, 0, 0, 0],
      ...png.subarray(at + 12 + length),
    ]);
    expect(decodeError(empty).message).toMatch(/^invalid PNG: /);
  });

  it("refuses images over the size limit before decoding them", () => {
    const wide = encodePng({
      width: MAX_IMAGE_SIDE_PX + 1,
      height: 1,
      data: new Uint8Array(MAX_IMAGE_SIDE_PX + 1),
      channels: 1,
      depth: 8,
    });
    expect(decodeError(wide).message).toBe("image too large: 4097×1, at most 4096×4096");
    // A JPEG whose frame header claims 5000×8: the limit holds before any pixel is decoded.
    const bytes = jpegOf(16, 8, [0, 0, 0]);
    const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
    bytes[sof + 7] = 5000 >> 8;
    bytes[sof + 8] = 5000 & 0xff;
    expect(decodeError(bytes).message).toBe("image too large: 5000×8, at most 4096×4096");
  });

  it("refuses a PNG bomb: data that inflates past what the header's size needs", async () => {
    // 64×64 RGBA: 64 rows of a filter byte and 256 bytes of pixels. The file is a quarter of a
    // MiB; its data inflates to 256 MiB.
    const bomb = await zeroPng({ width: 64, height: 64, inflatedBytes: 256 * MIB });
    expect(bomb.length).toBeLessThan(MIB);
    expect(decodeError(bomb).message).toBe(
      "invalid PNG: the image data inflates to more than the 16448 bytes a 64×64 image needs",
    );
    // One byte more than the size needs is refused too; the exact size decodes.
    const over = await zeroPng({ width: 64, height: 64, inflatedBytes: 16449 });
    expect(decodeError(over).message).toMatch(/^invalid PNG: the image data inflates to more/);
    const exact = decodeImage(await zeroPng({ width: 64, height: 64, inflatedBytes: 16448 }));
    expect([exact.width, exact.height, exact.data.length]).toEqual([64, 64, 64 * 64 * 4]);
  });

  it("says how short image data is", async () => {
    const short = await zeroPng({ width: 64, height: 64, inflatedBytes: 1000 });
    expect(decodeError(short).message).toBe(
      "invalid PNG: the image data inflates to 1000 bytes, a 64×64 image needs 16448",
    );
  });

  it("reads the pixels without the colour profile, as OpenCV does: none is inflated", async () => {
    // A profile that would inflate to 256 MiB, and one that does not inflate at all.
    for (const profile of [256 * MIB, "corrupt"] as const) {
      const png = await zeroPng({ width: 64, height: 64, inflatedBytes: 16448, profile });
      const image = decodeImage(png);
      expect([image.width, image.height]).toEqual([64, 64]);
    }
  });

  it("sizes Adam7-interlaced data by its seven passes", async () => {
    // 9×9 RGBA: each pass's rows are a filter byte and 4 bytes a pixel. Passes (columns × rows):
    // 2×2, 1×2, 3×1, 2×3, 5×2, 4×5, 9×4, so 18 + 10 + 13 + 27 + 42 + 85 + 148 = 343 bytes,
    // 10 more than the 333 of plain rows.
    const image = decodeImage(
      await zeroPng({ width: 9, height: 9, inflatedBytes: 343, interlaced: true }),
    );
    expect([image.width, image.height]).toEqual([9, 9]);
    expect(image.data.every((v) => v === 0)).toBe(true);
    const over = await zeroPng({ width: 9, height: 9, inflatedBytes: 344, interlaced: true });
    expect(decodeError(over).message).toBe(
      "invalid PNG: the image data inflates to more than the 343 bytes a 9×9 image needs",
    );
  });

  it("refuses a JPEG frame of more than four colour channels before allocating for it", () => {
    // A 4096×4096 frame header of 200 channels: 64 MiB of coefficients each, were it decoded.
    const bytes = jpegOf(16, 8, [0, 0, 0]);
    const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
    const channels = 200;
    const frame = new Uint8Array(10 + 3 * channels);
    frame.set([
      0xff,
      0xc0,
      (8 + 3 * channels) >> 8,
      (8 + 3 * channels) & 0xff,
      8,
      0x10,
      0,
      0x10,
      0,
    ]);
    frame[9] = channels;
    for (let c = 0; c < channels; c++) frame.set([c + 1, 0x11, 0], 10 + 3 * c);
    const length = (bytes[sof + 2]! << 8) | bytes[sof + 3]!;
    const forged = new Uint8Array([
      ...bytes.subarray(0, sof),
      ...frame,
      ...bytes.subarray(sof + 2 + length),
    ]);
    expect(decodeError(forged).message).toBe("invalid JPEG: 200 colour channels, at most 4");
  });

  it("says a cut-off JPEG is truncated", () => {
    const bytes = jpegOf(16, 8, [10, 10, 10]);
    expect(decodeError(bytes.subarray(0, bytes.length - 20)).message).toMatch(
      /^truncated JPEG: \d+ bytes, no end-of-image marker$/,
    );
    expect(decodeError(bytes.subarray(0, 6)).message).toMatch(/^truncated JPEG: .*frame header$/);
  });
});
