// PNG and JPEG bytes to RGBA pixels, in pure JavaScript so that browsers, workers and Node decode
// the same way. Every failure is an ImageDecodeError with a message a tenant can act on.
// Browser-safe: no Node modules.
import { convertIndexedToRgb, decode as decodePng, type DecodedPng } from "fast-png";
import jpeg from "jpeg-js";

/** Largest width and height accepted: 4096² RGBA is 64 MiB, the most a task should hold. */
export const MAX_IMAGE_SIDE_PX = 4096;
/** Largest encoded image accepted. */
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, row by row, 4 bytes a pixel. */
  data: Uint8ClampedArray;
}

export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageDecodeError";
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

function checkSize(width: number, height: number): void {
  if (width < 1 || height < 1)
    throw new ImageDecodeError(`image has no pixels: ${width}×${height}`);
  if (width > MAX_IMAGE_SIDE_PX || height > MAX_IMAGE_SIDE_PX) {
    throw new ImageDecodeError(
      `image too large: ${width}×${height}, at most ${MAX_IMAGE_SIDE_PX}×${MAX_IMAGE_SIDE_PX}`,
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function decodeImage(bytes: Uint8Array): DecodedImage {
  if (bytes.length > MAX_IMAGE_BYTES) {
    throw new ImageDecodeError(
      `image file too large: ${bytes.length} bytes, at most ${MAX_IMAGE_BYTES}`,
    );
  }
  if (startsWith(bytes, PNG_SIGNATURE)) return decodePngImage(bytes);
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return decodeJpegImage(bytes);
  throw new ImageDecodeError("not a PNG or JPEG image");
}

// PNG: chunks of (length, type, data, CRC) after the signature, IHDR first and IEND last.
function decodePngImage(bytes: Uint8Array): DecodedImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Walk the chunks first, so that a cut-off file says so rather than failing deep in inflate.
  let offset = PNG_SIGNATURE.length;
  let sawEnd = false;
  while (!sawEnd) {
    if (offset + 8 > bytes.length) {
      throw new ImageDecodeError(
        `truncated PNG: ${bytes.length} bytes, the file ends before its IEND chunk`,
      );
    }
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (offset + 12 + length > bytes.length) {
      throw new ImageDecodeError(
        `truncated PNG: chunk ${JSON.stringify(type)} at byte ${offset} needs ${12 + length} bytes, ${bytes.length - offset} left`,
      );
    }
    if (offset === PNG_SIGNATURE.length) {
      if (type !== "IHDR" || length < 8)
        throw new ImageDecodeError("invalid PNG: the first chunk is not IHDR");
      checkSize(view.getUint32(offset + 8), view.getUint32(offset + 12));
    }
    sawEnd = type === "IEND";
    offset += 12 + length;
  }
  let png: DecodedPng;
  try {
    png = decodePng(bytes);
  } catch (error) {
    throw new ImageDecodeError(`invalid PNG: ${messageOf(error)}`);
  }
  return { width: png.width, height: png.height, data: pngToRgba(png) };
}

function pngToRgba(png: DecodedPng): Uint8ClampedArray {
  const { width, height } = png;
  const out = new Uint8ClampedArray(width * height * 4);
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const channels = rgb.length / (width * height);
    for (let p = 0; p < width * height; p++) {
      out[p * 4] = rgb[p * channels]!;
      out[p * 4 + 1] = rgb[p * channels + 1]!;
      out[p * 4 + 2] = rgb[p * channels + 2]!;
      out[p * 4 + 3] = channels === 4 ? rgb[p * channels + 3]! : 255;
    }
    return out;
  }
  const { channels, depth, data } = png;
  // Samples to 0..255: 16-bit keeps its high byte; 1, 2 and 4-bit grey is packed, rows padded to bytes.
  const maxSample = 2 ** depth - 1;
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const sample = (x: number, y: number, c: number): number => {
    const i = x * channels + c;
    if (depth === 8) return data[y * width * channels + i]!;
    if (depth === 16) return data[y * width * channels + i]! >> 8;
    const bit = i * depth;
    const byte = data[y * rowBytes + (bit >> 3)]!;
    return Math.round((((byte >> (8 - depth - (bit & 7))) & maxSample) * 255) / maxSample);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (channels <= 2) {
        const grey = sample(x, y, 0);
        out[o] = out[o + 1] = out[o + 2] = grey;
        out[o + 3] = channels === 2 ? sample(x, y, 1) : 255;
      } else {
        out[o] = sample(x, y, 0);
        out[o + 1] = sample(x, y, 1);
        out[o + 2] = sample(x, y, 2);
        out[o + 3] = channels === 4 ? sample(x, y, 3) : 255;
      }
    }
  }
  return out;
}

// JPEG: markers FF xx; each segment but SOI/EOI/RSTn carries a 2-byte length. The frame header
// (SOF0..SOF15 but DHT, JPG and DAC) holds height and width.
function jpegFrameSize(bytes: Uint8Array): { width: number; height: number } {
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff)
      throw new ImageDecodeError(`invalid JPEG: no marker at byte ${offset}`);
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    const isFrame =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (offset + 9 > bytes.length) break;
      return {
        height: (bytes[offset + 5]! << 8) | bytes[offset + 6]!,
        width: (bytes[offset + 7]! << 8) | bytes[offset + 8]!,
      };
    }
    if (marker === 0xda)
      throw new ImageDecodeError("invalid JPEG: scan data before a frame header");
    offset += 2 + length;
  }
  throw new ImageDecodeError(
    `truncated JPEG: ${bytes.length} bytes, the file ends before its frame header`,
  );
}

function decodeJpegImage(bytes: Uint8Array): DecodedImage {
  const { width, height } = jpegFrameSize(bytes);
  checkSize(width, height);
  // Entropy-coded data stuffs every FF with 00, so FF D9 near the end can only be the EOI marker.
  let end = bytes.length - 1;
  while (end > 0 && bytes[end] === 0x00) end--;
  if (bytes[end - 1] !== 0xff || bytes[end] !== 0xd9) {
    throw new ImageDecodeError(`truncated JPEG: ${bytes.length} bytes, no end-of-image marker`);
  }
  try {
    const decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: 17,
    });
    return {
      width: decoded.width,
      height: decoded.height,
      data: new Uint8ClampedArray(
        decoded.data.buffer,
        decoded.data.byteOffset,
        decoded.data.length,
      ),
    };
  } catch (error) {
    throw new ImageDecodeError(`invalid JPEG: ${messageOf(error)}`);
  }
}
