// Node only: the demo images (rendered text with known answers) that tests, canaries and demos
// use. The files are committed under demo/; src/build-demo-images.ts writes them.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const ZDemoBox = z
  .object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() })
  .strict();

export const ZDemoImage = z
  .object({
    file: z.string().regex(/^[a-z0-9-]+\.png$/),
    /**
     * "line": one line of text, for the direction classifier; "page": a few, for the detector;
     * "document": a full A4 page at 150 dpi, for the detector at its working size.
     */
    kind: z.enum(["line", "page", "document"]),
    /** The text drawn, lines joined by "\n". */
    text: z.string().min(1),
    /** 0: upright; 180: upside down. */
    angle: z.union([z.literal(0), z.literal(180)]),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** One box per line of text, in pixels, tight around the glyphs' ink. */
    boxes: z.array(ZDemoBox).min(1),
  })
  .strict();
export type DemoImage = z.infer<typeof ZDemoImage>;

export const DEMO_DIR = fileURLToPath(new URL("../demo/", import.meta.url));

export function demoImagePath(file: string): string {
  if (!/^[a-z0-9-]+\.png$/.test(file))
    throw new Error(`demo image: ${JSON.stringify(file)} is not a demo file name`);
  return `${DEMO_DIR}${file}`;
}

export const DEMO_IMAGES: readonly DemoImage[] = z
  .array(ZDemoImage)
  .parse(JSON.parse(readFileSync(`${DEMO_DIR}answers.json`, "utf8")));
