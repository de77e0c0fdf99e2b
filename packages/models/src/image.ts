// PNG and JPEG bytes to RGBA pixels, in pure JavaScript so that browsers, workers and Node decode
// the same way, and those pixels as PaddleOCR sees them (BGR, alpha over white). Decoding follows
// OpenCV's imread, which PaddleOCR reads files with: a JPEG's EXIF orientation is applied, 16-bit
// samples keep their high byte, palettes and grey are expanded. Every failure is an
// ImageDecodeError with a message a tenant can act on. Browser-safe: no Node modules.
import { convertIndexedToRgb, decode as decodePng, type DecodedPng } from "fast-png";
import jpeg from "jpeg-js";
import type { U8Image } from "./resize";

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
function jpegFrameSize(bytes: Uint8Array): {
  width: number;
  height: number;
  components: number;
  adobe: boolean;
} {
  let adobe = false;
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
      if (offset + 10 > bytes.length) break;
      return {
        height: (bytes[offset + 5]! << 8) | bytes[offset + 6]!,
        width: (bytes[offset + 7]! << 8) | bytes[offset + 8]!,
        components: bytes[offset + 9]!,
        adobe,
      };
    }
    // APP14 "Adobe" may say the colour channels are not YCbCr.
    if (
      marker === 0xee &&
      String.fromCharCode(...bytes.subarray(offset + 4, offset + 9)) === "Adobe"
    )
      adobe = true;
    if (marker === 0xda)
      throw new ImageDecodeError("invalid JPEG: scan data before a frame header");
    offset += 2 + length;
  }
  throw new ImageDecodeError(
    `truncated JPEG: ${bytes.length} bytes, the file ends before its frame header`,
  );
}

/**
 * The EXIF orientation (1-8) of a JPEG, from the Orientation tag (274) of IFD0 in its first
 * APP1 "Exif" segment; 1 when there is none or it cannot be read (OpenCV ignores bad EXIF too).
 */
export function jpegOrientation(bytes: Uint8Array): number {
  let offset = 2;
  while (offset + 4 <= bytes.length && bytes[offset] === 0xff) {
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // scan data: no more headers
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    const body = offset + 4;
    const isExif =
      marker === 0xe1 &&
      length >= 8 &&
      String.fromCharCode(...bytes.subarray(body, body + 4)) === "Exif" &&
      bytes[body + 4] === 0 &&
      bytes[body + 5] === 0;
    if (isExif) return tiffOrientation(bytes.subarray(body + 6, offset + 2 + length));
    offset += 2 + length;
  }
  return 1;
}

function tiffOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = String.fromCharCode(tiff[0]!, tiff[1]!);
  if (order !== "II" && order !== "MM") return 1;
  const little = order === "II";
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return 1;
    if (view.getUint16(entry, little) !== 0x0112) continue;
    // SHORT (type 3), one value, held in the entry's first two value bytes.
    if (view.getUint16(entry + 2, little) !== 3) return 1;
    const value = view.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/**
 * The image as a viewer shows it for EXIF orientation `o` (TIFF 6.0 tag 274): 2 mirrors, 3
 * turns 180°, 4 flips, 5 transposes, 6 turns 90° clockwise, 7 transverses, 8 turns 90°
 * counter-clockwise. This is what OpenCV's imread does with a JPEG's orientation.
 */
export function applyOrientation(image: DecodedImage, o: number): DecodedImage {
  if (o === 1) return image;
  const { width: sw, height: sh, data } = image;
  const swap = o >= 5;
  const w = swap ? sh : sw;
  const h = swap ? sw : sh;
  const out = new Uint8ClampedArray(w * h * 4);
  for (let sy = 0; sy < sh; sy++) {
    for (let sx = 0; sx < sw; sx++) {
      let x: number;
      let y: number;
      switch (o) {
        case 2: [x, y] = [sw - 1 - sx, sy]; break;
        case 3: [x, y] = [sw - 1 - sx, sh - 1 - sy]; break;
        case 4: [x, y] = [sx, sh - 1 - sy]; break;
        case 5: [x, y] = [sy, sx]; break;
        case 6: [x, y] = [sh - 1 - sy, sx]; break;
        case 7: [x, y] = [sh - 1 - sy, sw - 1 - sx]; break;
        case 8: [x, y] = [sy, sw - 1 - sx]; break;
        default: [x, y] = [sx, sy];
      } // prettier-ignore
      out.set(data.subarray((sy * sw + sx) * 4, (sy * sw + sx) * 4 + 4), (y * w + x) * 4);
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * The pixels as PaddleOCR's pipeline holds them: BGR, 8 bits, with alpha laid over white the
 * way its alpha_to_color does (channel · a + 255 · (1 − a) with a = alpha / 255, in float64,
 * cut to an integer). Opaque pixels keep their values exactly.
 */
export function paddleBgr(image: DecodedImage): U8Image {
  const { width, height, data } = image;
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const a = data[p * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = Math.trunc(255 * (1 - a) + data[p * 4 + 2 - c]! * a);
    }
  }
  return { width, height, channels: 3, data: out };
}

/** libjpeg's YCbCr → RGB tables (jdcolor.c): 16-bit fixed point, rounded. */
const YCC = (() => {
  const fix = (v: number) => Math.round(v * 65536);
  const half = 1 << 15;
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Int32Array(256);
  const cbG = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = (fix(1.402) * x + half) >> 16;
    cbB[i] = (fix(1.772) * x + half) >> 16;
    crG[i] = -fix(0.71414) * x;
    cbG[i] = -fix(0.34414) * x + half;
  }
  return { crR, cbB, crG, cbG };
})();

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * YCbCr samples (as jpeg-js gives them with colorTransform off) to RGB in place, rounded the
 * way libjpeg (under OpenCV) rounds; jpeg-js's own conversion truncates, one level darker.
 */
function yccToRgb(data: Uint8Array): void {
  for (let o = 0; o < data.length; o += 4) {
    const y = data[o]!;
    const cb = data[o + 1]!;
    const cr = data[o + 2]!;
    data[o] = clamp8(y + YCC.crR[cr]!);
    data[o + 1] = clamp8(y + ((YCC.cbG[cb]! + YCC.crG[cr]!) >> 16));
    data[o + 2] = clamp8(y + YCC.cbB[cb]!);
  }
}

function decodeJpegImage(bytes: Uint8Array): DecodedImage {
  const { width, height, components, adobe } = jpegFrameSize(bytes);
  checkSize(width, height);
  // Entropy-coded data stuffs every FF with 00, so FF D9 near the end can only be the EOI marker.
  let end = bytes.length - 1;
  while (end > 0 && bytes[end] === 0x00) end--;
  if (bytes[end - 1] !== 0xff || bytes[end] !== 0xd9) {
    throw new ImageDecodeError(`truncated JPEG: ${bytes.length} bytes, no end-of-image marker`);
  }
  try {
    // Plain three-channel JPEGs are YCbCr: converted here, as libjpeg converts them.
    const ycc = components === 3 && !adobe;
    const decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: 17,
      ...(ycc ? { colorTransform: false } : {}),
    });
    if (ycc) yccToRgb(decoded.data);
    const pixels: DecodedImage = {
      width: decoded.width,
      height: decoded.height,
      data: new Uint8ClampedArray(
        decoded.data.buffer,
        decoded.data.byteOffset,
        decoded.data.length,
      ),
    };
    return applyOrientation(pixels, jpegOrientation(bytes));
  } catch (error) {
    throw new ImageDecodeError(`invalid JPEG: ${messageOf(error)}`);
  }
}
