// PNG and JPEG bytes to RGBA pixels, in pure JavaScript so that browsers, workers and Node decode
// the same way, and those pixels as PaddleOCR sees them (BGR, alpha over white). Decoding follows
// OpenCV's imread, which PaddleOCR reads files with: a JPEG's EXIF orientation is applied, 16-bit
// samples keep their high byte, palettes and grey are expanded. Every failure is an
// ImageDecodeError with a message a tenant can act on. Browser-safe: no Node modules.
//
// Work and memory are bounded before the decoders run: a side of at most MAX_IMAGE_SIDE_PX, a
// PNG's image data no longer than its header's size needs (counted while it inflates, so that a
// small file inflating to gigabytes is refused after a few MiB), and jpeg-js held to the memory
// of the largest image. The server decodes every uploaded image this way before it accepts it,
// and cars again before they run it.
import { Unzlib } from "fflate";
import { convertIndexedToRgb, decode as decodePng, type DecodedPng } from "fast-png";
import jpeg from "jpeg-js";
import type { U8Image } from "./resize";

/** Largest width and height accepted: 4096² RGBA is 64 MiB, the most a task should hold. */
export const MAX_IMAGE_SIDE_PX = 4096;
/** Most pixels an image may have: a square of the largest side. */
export const MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE_PX * MAX_IMAGE_SIDE_PX;
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

/**
 * Samples a pixel of each PNG colour type (PNG spec, 11.2.2): grey (0), RGB (2), palette index
 * (3), grey and alpha (4), RGBA (6).
 */
const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Adam7's seven passes (PNG spec, 8.2): first column, first row, column step, row step. */
const ADAM7_PASSES = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlaced: boolean;
}

/**
 * Bytes a PNG's image data inflates to (PNG spec, 7.2 and 8.2): each row a filter byte and its
 * samples packed into whole bytes; interlaced, the rows of each of Adam7's passes that has
 * pixels, so a filter byte more for every row of every pass.
 */
function pngDataBytes(h: PngHeader): number {
  const channels = PNG_CHANNELS[h.colourType];
  if (channels === undefined)
    throw new ImageDecodeError(`invalid PNG: colour type ${h.colourType}`);
  if (![1, 2, 4, 8, 16].includes(h.bitDepth))
    throw new ImageDecodeError(`invalid PNG: bit depth ${h.bitDepth}`);
  const rows = (width: number, height: number) =>
    width > 0 && height > 0 ? height * (1 + Math.ceil((width * channels * h.bitDepth) / 8)) : 0;
  if (!h.interlaced) return rows(h.width, h.height);
  let total = 0;
  for (const [x, y, dx, dy] of ADAM7_PASSES) {
    total += rows(Math.ceil((h.width - x) / dx), Math.ceil((h.height - y) / dy));
  }
  return total;
}

/**
 * Compressed bytes handed to the inflater at a time. DEFLATE expands at most about 1032 to 1,
 * so a step inflates to 4 MiB at most before the count is checked.
 */
const INFLATE_STEP_BYTES = 4096;

/**
 * Inflates the image data (the IDAT chunks' contents, in order) only to count it, and refuses it
 * as soon as it is longer than `needBytes`, or once it ends shorter. The inflated bytes are
 * dropped as they come: memory stays at the inflater's window and one step's output.
 */
function checkPngData(
  bytes: Uint8Array,
  idats: readonly { start: number; end: number }[],
  header: PngHeader,
): void {
  const needBytes = pngDataBytes(header);
  const size = `${header.width}×${header.height}`;
  const tooLong = () =>
    new ImageDecodeError(
      `invalid PNG: the image data inflates to more than the ${needBytes} bytes a ${size} image needs`,
    );
  let inflatedBytes = 0;
  const inflater = new Unzlib((chunk) => {
    inflatedBytes += chunk.length;
  });
  try {
    for (const { start, end } of idats) {
      for (let at = start; at < end; at += INFLATE_STEP_BYTES) {
        inflater.push(bytes.subarray(at, Math.min(end, at + INFLATE_STEP_BYTES)));
        if (inflatedBytes > needBytes) throw tooLong();
      }
    }
    inflater.push(new Uint8Array(0), true);
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    throw new ImageDecodeError(`invalid PNG: ${messageOf(error)}`);
  }
  if (inflatedBytes > needBytes) throw tooLong();
  if (inflatedBytes < needBytes) {
    throw new ImageDecodeError(
      `invalid PNG: the image data inflates to ${inflatedBytes} bytes, a ${size} image needs ${needBytes}`,
    );
  }
}

// PNG: chunks of (length, type, data, CRC) after the signature, IHDR first and IEND last.
function decodePngImage(bytes: Uint8Array): DecodedImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Walk the chunks first, so that a cut-off file says so rather than failing deep in inflate.
  let offset = PNG_SIGNATURE.length;
  let sawEnd = false;
  let header: PngHeader | undefined;
  const idats: { start: number; end: number }[] = [];
  // The colour profile (iCCP) is compressed too, and fast-png inflates it whole, unbounded; like
  // OpenCV's imread, the pixels are read without it, so it is left out of what fast-png gets.
  const profiles: { start: number; end: number }[] = [];
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
      if (type !== "IHDR" || length < 13)
        throw new ImageDecodeError("invalid PNG: the first chunk is not IHDR");
      header = {
        width: view.getUint32(offset + 8),
        height: view.getUint32(offset + 12),
        bitDepth: bytes[offset + 16]!,
        colourType: bytes[offset + 17]!,
        interlaced: bytes[offset + 20] === 1,
      };
      checkSize(header.width, header.height);
    }
    if (type === "IDAT") idats.push({ start: offset + 8, end: offset + 8 + length });
    if (type === "iCCP") profiles.push({ start: offset, end: offset + 12 + length });
    sawEnd = type === "IEND";
    offset += 12 + length;
  }
  checkPngData(bytes, idats, header!);
  try {
    const png = decodePng(profiles.length === 0 ? bytes : without(bytes, profiles));
    // Inside: a palette that does not fit the data fails in fast-png's conversion.
    return { width: png.width, height: png.height, data: pngToRgba(png) };
  } catch (error) {
    throw new ImageDecodeError(`invalid PNG: ${messageOf(error)}`);
  }
}

/** `bytes` less the ranges `cut` (in order, not overlapping). */
function without(bytes: Uint8Array, cut: readonly { start: number; end: number }[]): Uint8Array {
  const out = new Uint8Array(bytes.length - cut.reduce((n, c) => n + c.end - c.start, 0));
  let from = 0;
  let to = 0;
  for (const c of cut) {
    out.set(bytes.subarray(from, c.start), to);
    to += c.start - from;
    from = c.end;
  }
  out.set(bytes.subarray(from), to);
  return out;
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

/**
 * The memory jpeg-js may take (its own count), for a JPEG of MAX_IMAGE_PIXELS of four channels
 * (CMYK, the most it decodes): per pixel and channel 4 bytes of DCT coefficients (a 256-byte
 * block per 64 pixels), 1 of the channel's samples and 1 of the interleaved samples, and 4 of
 * RGBA out, so 28 bytes a pixel, 448 MiB at 4096². 30 leaves room for blocks padding partial
 * MCUs and for the tables.
 */
const JPEG_MAX_MEMORY_MB = Math.ceil((MAX_IMAGE_PIXELS * 30) / (1024 * 1024));

function decodeJpegImage(bytes: Uint8Array): DecodedImage {
  const { width, height, components, adobe } = jpegFrameSize(bytes);
  checkSize(width, height);
  // jpeg-js allocates every channel's coefficients before it reads a scan; it converts at most 4.
  if (components > 4)
    throw new ImageDecodeError(`invalid JPEG: ${components} colour channels, at most 4`);
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
      // Each frame's size (a second frame header is checked too), and all jpeg-js allocates.
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
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
