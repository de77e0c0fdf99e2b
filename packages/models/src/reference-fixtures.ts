// Node only: the reference fixtures (reference/fixtures/, written by build-reference-fixtures.ts)
// and what PaddleOCR's own pipeline gave for each (reference/reference.json, recorded by
// reference/paddleocr_reference.py; reference/README.md says how). Tests hold our pipeline to them.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const FIXTURES_DIR = fileURLToPath(new URL("../reference/fixtures/", import.meta.url));
export const REFERENCE_FILE = fileURLToPath(
  new URL("../reference/reference.json", import.meta.url),
);

const FILE = /^[a-z0-9-]+\.(png|jpg)$/;

export const ZFixture = z
  .object({
    file: z.string().regex(FILE),
    /** Which model the image is for: lines for the classifier, pages for the detector. */
    model: z.enum(["ppocr-cls", "ppocr-det"]),
    /** The text drawn, lines joined by "\n". */
    text: z.string().min(1),
    /** How the text was drawn: 0 upright, 180 upside down (as shown, after EXIF orientation). */
    angle: z.union([z.literal(0), z.literal(180)]),
    /** How the file is encoded, e.g. "png rgb16", "jpeg exif orientation 6". */
    encoding: z.string().min(1),
  })
  .strict();
export type Fixture = z.infer<typeof ZFixture>;

const ZPoint = z.tuple([z.number(), z.number()]);

/** A float32 tensor, pinned compactly. */
export const ZTensorSummary = z
  .object({
    dims: z.array(z.number().int().positive()),
    /** Sum of all values, in float64. */
    sum: z.number(),
    /**
     * sha256 (hex) of the tensor turned back into 8-bit pixel levels, channel by channel:
     * round((value · std[c] + mean[c]) · 255). Equal hashes: the same resized pixels.
     */
    levelsSha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** [index, value] at 32 flat indices, (k · 103183 + 331) mod size for k = 0..31. */
    samples: z.array(z.tuple([z.number().int().min(0), z.number()])),
  })
  .strict();
export type TensorSummary = z.infer<typeof ZTensorSummary>;

export const ZReferenceResult = z.discriminatedUnion("model", [
  z
    .object({
      file: z.string().regex(FILE),
      model: z.literal("ppocr-cls"),
      /** The image as PaddleOCR read it (after EXIF orientation). */
      image: z.object({ width: z.number().int(), height: z.number().int() }).strict(),
      tensor: ZTensorSummary,
      /** Softmax over ["0", "180"]. */
      output: z.array(z.number()).length(2),
      label: z.enum(["0", "180"]),
      confidence: z.number(),
    })
    .strict(),
  z
    .object({
      file: z.string().regex(FILE),
      model: z.literal("ppocr-det"),
      image: z.object({ width: z.number().int(), height: z.number().int() }).strict(),
      tensor: ZTensorSummary,
      /** The probability map's dims and the sum of its values. */
      output: z.object({ dims: z.array(z.number().int()), sum: z.number() }).strict(),
      /** PaddleOCR's dt_boxes in its order, corners clockwise from the top-left, with scores. */
      boxes: z.array(z.object({ points: z.array(ZPoint).length(4), score: z.number() }).strict()),
    })
    .strict(),
]);
export type ReferenceResult = z.infer<typeof ZReferenceResult>;

export const ZReference = z
  .object({
    /** What produced the file: versions and the settings PaddleOCR ran with. */
    generator: z.record(z.string(), z.unknown()),
    results: z.array(ZReferenceResult),
  })
  .strict();
export type Reference = z.infer<typeof ZReference>;

export function fixturePath(file: string): string {
  if (!FILE.test(file)) throw new Error(`fixture: ${JSON.stringify(file)} is not a fixture name`);
  return `${FIXTURES_DIR}${file}`;
}

export function loadFixtures(): Fixture[] {
  return z.array(ZFixture).parse(JSON.parse(readFileSync(`${FIXTURES_DIR}fixtures.json`, "utf8")));
}

export function loadReference(): Reference {
  return ZReference.parse(JSON.parse(readFileSync(REFERENCE_FILE, "utf8")));
}
