// Input images of tasks: uploaded inline (base64) or picked from the demo set, stored once by
// sha256 (input_blobs) and fetched by cars from GET /inputs/:sha256. An uploaded image is decoded
// here whole, by the decoder cars run (bounded in pixels and in decoded bytes), and refused when
// it does not decode: an image the server accepted is one it could decode itself, so a car that
// says otherwise (node.fail "bad-input") is not evidence against it.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { inputBlobs } from "@nightshift/db/schema";
import { DEMO_IMAGES, demoImagePath } from "@nightshift/models/demo-images";
import { decodeImage, ImageDecodeError, MAX_IMAGE_SIDE_PX } from "@nightshift/models/image";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "@nightshift/db/client";
import { badRequest } from "../errors";
import type { Executor } from "./db";

/** Largest image one input may carry (decoded from base64). */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const ZImageInput = z
  .object({
    image: z.union([
      z
        .object({
          /** The PNG or JPEG file, base64 (no data: prefix). */
          base64: z
            .string()
            .min(8)
            .max(Math.ceil(MAX_IMAGE_BYTES / 3) * 4)
            .regex(BASE64, "not base64"),
        })
        .strict(),
      z
        .object({
          /** A file of the demo image set (`nightshift` ships it), e.g. "line-hello-world-180.png". */
          demo: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, "not a demo image name"),
        })
        .strict(),
    ]),
  })
  .strict();
export type ImageInput = z.infer<typeof ZImageInput>;

/** What a task stores, and a car gets in its lease, for an image input. */
export interface ImageRef {
  sha256: string;
  url: string;
  mediaType: "image/png" | "image/jpeg";
  width: number;
  height: number;
}

export interface ImageHeader {
  mediaType: ImageRef["mediaType"];
  width: number;
  height: number;
}

/**
 * Format and size from a PNG's IHDR or a JPEG's first start-of-frame marker; null when the
 * bytes are neither (or too short to say).
 */
export function imageHeader(b: Uint8Array): ImageHeader | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (b.length >= 24 && png.every((v, i) => b[i] === v)) {
    // Signature, then the IHDR chunk: length (4), "IHDR" (4), width (4), height (4).
    if (String.fromCharCode(...b.subarray(12, 16)) !== "IHDR") return null;
    return { mediaType: "image/png", width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let at = 2;
    while (at + 9 < b.length) {
      if (b[at] !== 0xff) return null;
      const marker = b[at + 1]!;
      if (marker === 0xff) {
        at++; // fill byte
        continue;
      }
      const length = view.getUint16(at + 2);
      // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return {
          mediaType: "image/jpeg",
          height: view.getUint16(at + 5),
          width: view.getUint16(at + 7),
        };
      }
      at += 2 + length;
    }
  }
  return null;
}

/** A stored image, ready to write: its bytes and what a task refers to it by. */
export interface PreparedImage {
  ref: ImageRef;
  bytes: Buffer;
  /** Where the call gave it (`inputs[2].image.base64`), for an error about it. */
  field: string;
}

const DEMO_FILES = new Set(DEMO_IMAGES.map((d) => d.file));

/**
 * Reads (demo) or decodes (base64) one input image and checks its header; an uploaded one is
 * decoded to its pixels too (the demo set is ours, decoded by its own tests).
 */
export async function prepareImage(input: ImageInput, field: string): Promise<PreparedImage> {
  let bytes: Buffer;
  if ("demo" in input.image) {
    if (!DEMO_FILES.has(input.image.demo))
      throw badRequest(`${field}.image.demo`, `no demo image "${input.image.demo}"`);
    bytes = await readFile(demoImagePath(input.image.demo));
  } else {
    bytes = Buffer.from(input.image.base64, "base64");
    if (bytes.length > MAX_IMAGE_BYTES)
      throw badRequest(
        `${field}.image.base64`,
        `${bytes.length} bytes; at most ${MAX_IMAGE_BYTES}`,
      );
  }
  const header = imageHeader(bytes);
  const where = "demo" in input.image ? `${field}.image.demo` : `${field}.image.base64`;
  if (!header) throw badRequest(where, "not a PNG or JPEG image");
  const { width, height } = header;
  if (width < 1 || height < 1 || width > MAX_IMAGE_SIDE_PX || height > MAX_IMAGE_SIDE_PX) {
    throw badRequest(where, `${width}×${height} pixels; each side 1 to ${MAX_IMAGE_SIDE_PX}`);
  }
  if (!("demo" in input.image)) {
    try {
      decodeImage(bytes);
    } catch (error) {
      if (error instanceof ImageDecodeError) throw badRequest(where, error.message);
      throw error;
    }
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return { ref: { sha256, url: `/inputs/${sha256}`, ...header }, bytes, field: where };
}

/**
 * Stores images (each once, whoever else stored it before), in sha256 order. An image already
 * stored is locked to the end of the caller's transaction (and taken off the sweep's queue):
 * the input sweep, which skips locked images, cannot delete it under a job being written.
 */
export async function storeImages(tx: Executor, images: readonly PreparedImage[]): Promise<void> {
  const unique = new Map(images.map((i) => [i.ref.sha256, i]));
  const sorted = [...unique.values()].sort((a, b) => (a.ref.sha256 < b.ref.sha256 ? -1 : 1));
  for (const { ref, bytes } of sorted) {
    await tx
      .insert(inputBlobs)
      .values({
        sha256: ref.sha256,
        mediaType: ref.mediaType,
        width: ref.width,
        height: ref.height,
        sizeBytes: bytes.length,
        bytes,
      })
      .onConflictDoUpdate({ target: inputBlobs.sha256, set: { reclaimAt: null } });
  }
}

/** A stored image's bytes for GET /inputs/:sha256; null when there is none. */
export async function readImage(
  db: Db,
  sha256: string,
): Promise<{ mediaType: string; bytes: Buffer } | null> {
  const [row] = await db
    .select({ mediaType: inputBlobs.mediaType, bytes: inputBlobs.bytes })
    .from(inputBlobs)
    .where(eq(inputBlobs.sha256, sha256));
  return row ?? null;
}
