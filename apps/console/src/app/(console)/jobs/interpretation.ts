// What a task's output means to a person, when the server says so: the text direction an image
// was found in, or the text boxes detected on it. Read defensively: results from servers that do
// not interpret (or interpret something new) still show, as numbers.
import { z } from "zod";

export const ZBox = z.object({
  x: z.number(),
  y: z.number(),
  width: z.number(),
  height: z.number(),
  score: z.number().optional(),
});
export const ZInterpretation = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("direction"),
    label: z.string(),
    angle: z.number(),
    confidence: z.number(),
  }),
  z.object({ kind: z.literal("boxes"), boxes: z.array(ZBox) }),
  z.object({ kind: z.literal("tensor"), values: z.number(), preview: z.array(z.number()) }),
]);
export type Interpretation = z.infer<typeof ZInterpretation>;
export type Box = z.infer<typeof ZBox>;

const ZSha = z.string().regex(/^[0-9a-f]{64}$/);

/** The interpretations on a result item (`interpretation` or `interpretations`). */
export function interpretationsOf(item: unknown): Interpretation[] {
  if (typeof item !== "object" || item === null) return [];
  const r = item as { interpretation?: unknown; interpretations?: unknown };
  const raw = Array.isArray(r.interpretations)
    ? r.interpretations
    : r.interpretation != null
      ? [r.interpretation]
      : [];
  return raw.flatMap((x) => {
    const parsed = ZInterpretation.safeParse(x);
    return parsed.success ? [parsed.data] : [];
  });
}

/** Why the task failed, when the server says (e.g. cars could not decode its image). */
export function taskErrorOf(item: unknown): string | null {
  const error = (item as { error?: unknown } | null)?.error;
  return typeof error === "string" && error ? error : null;
}

/** The sha256 of the task's input image, wherever the result names it. */
export function inputImageOf(item: unknown): string | null {
  if (typeof item !== "object" || item === null) return null;
  const r = item as {
    inputSha256?: unknown;
    image?: { sha256?: unknown };
    input?: { image?: { sha256?: unknown } };
  };
  for (const candidate of [r.inputSha256, r.image?.sha256, r.input?.image?.sha256]) {
    const parsed = ZSha.safeParse(candidate);
    if (parsed.success) return parsed.data;
  }
  return null;
}

/**
 * Boxes in the image's pixels. Boxes whose coordinates are all within 0..1 are taken as shares
 * of the image's width and height.
 */
export function toPixels(boxes: readonly Box[], width: number, height: number): Box[] {
  const normalised = boxes.every((b) => b.x <= 1 && b.y <= 1 && b.width <= 1 && b.height <= 1);
  if (!normalised) return [...boxes];
  return boxes.map((b) => ({
    ...b,
    x: b.x * width,
    y: b.y * height,
    width: b.width * width,
    height: b.height * height,
  }));
}
