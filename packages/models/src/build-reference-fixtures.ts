// Writes reference/fixtures/*: text lines and pages in many shapes and encodings, for checking
// our OCR pipeline against PaddleOCR's own (reference/README.md says how the recorded outputs
// are made). Words are not the demo set's. Lines for the direction classifier come upright and
// upside down: short, long, very long (wider than 4:1, which PaddleOCR squeezes), tall and tiny;
// pages for the detector come small, large, tall, tiny, skewed and at an exact 2:1 scale. Each is
// saved as one of: RGB, grey, 16-bit RGB and grey (low bytes set, so rounding shows), palette
// (opaque and with tRNS), RGBA and grey+alpha (colour left under transparent pixels), and JPEG
// with each EXIF orientation 1-8 (pixels stored so that the oriented image reads as drawn).
// Node only. Run: npm run build:fixtures -w @nightshift/models
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { createCanvas, GlobalFonts, type SKRSContext2D } from "@napi-rs/canvas";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { FIXTURES_DIR, type Fixture } from "./reference-fixtures";

const FONT = "FixtureSans";

interface Rgba {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

function registerFont(): void {
  const file = createRequire(import.meta.url).resolve(
    "@fontsource/dejavu-sans/files/dejavu-sans-latin-400-normal.woff2",
  );
  GlobalFonts.registerFromPath(file, FONT);
}

interface Look {
  ink: string;
  /** null: a transparent background (only the ink has alpha). */
  paper: string | null;
}

const DARK_ON_LIGHT: Look = { ink: "#20242c", paper: "#f4f1ea" };

function draw(
  width: number,
  height: number,
  look: Look,
  angle: 0 | 180,
  paint: (ctx: SKRSContext2D) => void,
): Rgba {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  if (look.paper) {
    ctx.fillStyle = look.paper;
    ctx.fillRect(0, 0, width, height);
  }
  if (angle === 180) {
    ctx.translate(width, height);
    ctx.rotate(Math.PI);
  }
  ctx.fillStyle = look.ink;
  paint(ctx);
  const data = new Uint8ClampedArray(ctx.getImageData(0, 0, width, height).data);
  return { width, height, data };
}

/** One line of text, `fontPx` high, with padding around it. */
function line(
  text: string,
  fontPx: number,
  angle: 0 | 180,
  opts: { padX?: number; padY?: number; look?: Look } = {},
): Rgba {
  const measure = createCanvas(1, 1).getContext("2d");
  measure.font = `${fontPx}px ${FONT}`;
  const padX = opts.padX ?? Math.round(fontPx * 0.4);
  const padY = opts.padY ?? Math.round(fontPx * 0.25);
  const width = Math.ceil(measure.measureText(text).width) + 2 * padX;
  const height = Math.round(fontPx * 1.2) + 2 * padY;
  return draw(width, height, opts.look ?? DARK_ON_LIGHT, angle, (ctx) => {
    ctx.font = `${fontPx}px ${FONT}`;
    ctx.fillText(text, padX, padY + Math.round(fontPx * 0.95));
  });
}

interface PageLine {
  text: string;
  x: number;
  y: number;
  fontPx: number;
  /** Clockwise degrees about the line's start. */
  rotateDeg?: number;
}

function page(width: number, height: number, lines: PageLine[], look = DARK_ON_LIGHT): Rgba {
  return draw(width, height, look, 0, (ctx) => {
    for (const l of lines) {
      ctx.save();
      ctx.translate(l.x, l.y);
      if (l.rotateDeg) ctx.rotate((l.rotateDeg * Math.PI) / 180);
      ctx.font = `${l.fontPx}px ${FONT}`;
      ctx.fillText(l.text, 0, 0);
      ctx.restore();
    }
  });
}

// ---- encodings ----

/** Deterministic low bytes for 16-bit samples (a small LCG), so a decoder's rounding shows. */
function lowBytes(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
}

function grey(r: number, g: number, b: number): number {
  return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

type PngKind =
  "rgb8" | "grey8" | "rgb16" | "grey16" | "palette" | "palette-alpha" | "rgba8" | "greyalpha8";

/** Colour left under fully transparent pixels: a decoder must not show it. */
const HIDDEN_RGB = [40, 180, 90] as const;

function png(img: Rgba, kind: PngKind): Uint8Array {
  const { width, height, data } = img;
  const n = width * height;
  const next = lowBytes(width * 31 + height);
  switch (kind) {
    case "rgb8":
    case "rgb16": {
      const deep = kind === "rgb16";
      const out = deep ? new Uint16Array(n * 3) : new Uint8Array(n * 3);
      for (let p = 0; p < n; p++)
        for (let c = 0; c < 3; c++)
          out[p * 3 + c] = deep ? data[p * 4 + c]! * 256 + next() : data[p * 4 + c]!;
      return encodePng({ width, height, data: out, channels: 3, depth: deep ? 16 : 8 });
    }
    case "grey8":
    case "grey16": {
      const deep = kind === "grey16";
      const out = deep ? new Uint16Array(n) : new Uint8Array(n);
      for (let p = 0; p < n; p++) {
        const v = grey(data[p * 4]!, data[p * 4 + 1]!, data[p * 4 + 2]!);
        out[p] = deep ? v * 256 + next() : v;
      }
      return encodePng({ width, height, data: out, channels: 1, depth: deep ? 16 : 8 });
    }
    case "rgba8":
    case "greyalpha8": {
      const channels = kind === "rgba8" ? 4 : 2;
      const out = new Uint8Array(n * channels);
      for (let p = 0; p < n; p++) {
        const a = data[p * 4 + 3]!;
        const rgb = a === 0 ? HIDDEN_RGB : [data[p * 4]!, data[p * 4 + 1]!, data[p * 4 + 2]!];
        if (channels === 4) out.set([rgb[0]!, rgb[1]!, rgb[2]!, a], p * 4);
        else out.set([grey(rgb[0]!, rgb[1]!, rgb[2]!), a], p * 2);
      }
      return encodePng({ width, height, data: out, channels, depth: 8 });
    }
    case "palette":
    case "palette-alpha": {
      const withAlpha = kind === "palette-alpha";
      const index = new Map<string, number>();
      const palette: number[][] = [];
      const out = new Uint8Array(n);
      for (let p = 0; p < n; p++) {
        // Quantize to 4-level steps: anti-aliased text on one paper fits 256 colours easily.
        const q = (v: number) => Math.min(255, Math.round(v / 4) * 4);
        const entry = [q(data[p * 4]!), q(data[p * 4 + 1]!), q(data[p * 4 + 2]!)];
        if (withAlpha) entry.push(data[p * 4 + 3]!);
        const key = entry.join(",");
        let i = index.get(key);
        if (i === undefined) {
          i = palette.length;
          if (i > 255) throw new Error("palette fixture: more than 256 colours");
          index.set(key, i);
          palette.push(entry);
        }
        out[p] = i;
      }
      return encodePng({ width, height, data: out, channels: 1, depth: 8, palette });
    }
  }
}

/**
 * Stored pixels for EXIF orientation `o`: the image a viewer shows after applying `o` is `img`.
 * Orientation o maps stored (sx, sy) to shown pixels; here each stored pixel takes its shown one.
 */
function storeForOrientation(img: Rgba, o: number): Rgba {
  const { width: w, height: h, data } = img;
  const swap = o >= 5;
  const sw = swap ? h : w;
  const sh = swap ? w : h;
  const out = new Uint8ClampedArray(sw * sh * 4);
  for (let sy = 0; sy < sh; sy++) {
    for (let sx = 0; sx < sw; sx++) {
      // Shown position of stored (sx, sy) under each orientation (TIFF 6.0, tag 274).
      const [x, y] = (
        {
          1: [sx, sy],
          2: [sw - 1 - sx, sy],
          3: [sw - 1 - sx, sh - 1 - sy],
          4: [sx, sh - 1 - sy],
          5: [sy, sx],
          6: [sh - 1 - sy, sx],
          7: [sh - 1 - sy, sw - 1 - sx],
          8: [sy, sw - 1 - sx],
        } as Record<number, [number, number]>
      )[o]!;
      out.set(data.subarray((y * w + x) * 4, (y * w + x) * 4 + 4), (sy * sw + sx) * 4);
    }
  }
  return { width: sw, height: sh, data: out };
}

/** An APP1 segment holding a big-endian TIFF header and one IFD entry: Orientation = o. */
function exifOrientationSegment(o: number): Uint8Array {
  const tiff = [
    0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, // "MM", 42, IFD0 at offset 8
    0x00, 0x01, // one entry
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, // tag 274 (Orientation), SHORT, count 1
    0x00, o, 0x00, 0x00, // value, padded to 4 bytes
    0x00, 0x00, 0x00, 0x00, // no next IFD
  ]; // prettier-ignore
  const body = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00, ...tiff]; // "Exif\0\0"
  const length = body.length + 2;
  return Uint8Array.from([0xff, 0xe1, length >> 8, length & 0xff, ...body]);
}

function jpegWithOrientation(img: Rgba, o: number): Uint8Array {
  const stored = storeForOrientation(img, o);
  const encoded = jpeg.encode(
    { width: stored.width, height: stored.height, data: Buffer.from(stored.data.buffer) },
    92,
  ).data;
  // jpeg-js writes SOI then APP0 (JFIF); the EXIF segment goes right after SOI.
  const app1 = exifOrientationSegment(o);
  const out = new Uint8Array(encoded.length + app1.length);
  out.set(encoded.subarray(0, 2), 0);
  out.set(app1, 2);
  out.set(encoded.subarray(2), 2 + app1.length);
  return out;
}

// ---- the set ----

export function buildReferenceFixtures(): { files: Map<string, Uint8Array>; list: Fixture[] } {
  registerFont();
  const files = new Map<string, Uint8Array>();
  const list: Fixture[] = [];
  const add = (
    file: string,
    bytes: Uint8Array,
    fixture: Omit<Fixture, "file" | "encoding">,
    encoding: string,
  ) => {
    files.set(file, bytes);
    list.push({ file, encoding, ...fixture });
  };

  // Lines for the classifier, each upright and upside down.
  const lines: { name: string; text: string; fontPx: number; kind: PngKind; pad?: number[] }[] = [
    { name: "short", text: "Ox", fontPx: 30, kind: "rgb8" },
    { name: "medium", text: "zebra crossing", fontPx: 26, kind: "rgb8" },
    { name: "long", text: "quarterly invoice for Jumbo Shrimp Ltd", fontPx: 24, kind: "rgb8" },
    {
      name: "very-long",
      text: "the quick brown fox jumps over the lazy dog while the kettle whistles",
      fontPx: 20,
      kind: "rgb8",
    },
    { name: "big-long", text: "Mountain pass closed", fontPx: 64, kind: "rgb8" },
    { name: "tall", text: "Qi", fontPx: 22, kind: "rgb8", pad: [4, 60] },
    { name: "tiny", text: "go", fontPx: 5, kind: "rgb8", pad: [1, 0] },
    { name: "grey", text: "library card", fontPx: 28, kind: "grey8" },
    { name: "rgb16", text: "kilowatt", fontPx: 24, kind: "rgb16" },
    { name: "grey16", text: "umbrella", fontPx: 24, kind: "grey16" },
    { name: "palette", text: "velvet curtain", fontPx: 28, kind: "palette" },
    { name: "palette-alpha", text: "harbour lights", fontPx: 28, kind: "palette-alpha" },
    { name: "rgba", text: "copper kettle", fontPx: 28, kind: "rgba8" },
    { name: "grey-alpha", text: "wizard of oz", fontPx: 28, kind: "greyalpha8" },
  ];
  const transparent: Look = { ink: "#1a1c22", paper: null };
  for (const l of lines) {
    for (const angle of [0, 180] as const) {
      const look = l.kind === "palette-alpha" || l.kind === "rgba8" || l.kind === "greyalpha8";
      const img = line(l.text, l.fontPx, angle, {
        padX: l.pad?.[0],
        padY: l.pad?.[1],
        look: look ? transparent : DARK_ON_LIGHT,
      });
      add(
        `line-${l.name}-${angle}.png`,
        png(img, l.kind),
        { model: "ppocr-cls", text: l.text, angle },
        `png ${l.kind}`,
      );
    }
  }
  // Light text on a dark background.
  for (const angle of [0, 180] as const) {
    const img = line("night market", 30, angle, { look: { ink: "#f2f2f2", paper: "#23304a" } });
    add(
      `line-inverse-${angle}.png`,
      png(img, "rgb8"),
      { model: "ppocr-cls", text: "night market", angle },
      "png rgb8",
    );
  }
  // JPEGs with each EXIF orientation, alternating upright and upside-down text.
  for (let o = 1; o <= 8; o++) {
    const angle = o % 2 === 1 ? 0 : 180;
    const text = "postcard from Lisbon";
    add(
      `line-exif-${o}-${angle}.jpg`,
      jpegWithOrientation(line(text, 26, angle), o),
      { model: "ppocr-cls", text, angle },
      `jpeg exif orientation ${o}`,
    );
  }

  // Pages for the detector.
  const pages: { name: string; img: Rgba; text: string[]; encoding: string; bytes?: Uint8Array }[] =
    [];
  const linesOf = (ls: PageLine[]) => ls.map((l) => l.text);
  const small: PageLine[] = [
    { text: "Harbour ferry timetable", x: 30, y: 60, fontPx: 28 },
    { text: "departs 06:10 and 18:40", x: 44, y: 120, fontPx: 24 },
    { text: "tickets at pier 3", x: 30, y: 180, fontPx: 30 },
  ];
  pages.push({ name: "small", img: page(520, 240, small), text: linesOf(small), encoding: "rgb8" });
  const large: PageLine[] = [
    { text: "Annual general meeting", x: 80, y: 140, fontPx: 64 },
    { text: "Thursday in the main hall", x: 80, y: 300, fontPx: 48 },
    { text: "coffee and biscuits provided", x: 120, y: 460, fontPx: 40 },
    { text: "bring your membership card", x: 80, y: 620, fontPx: 44 },
    { text: "questions to the secretary", x: 300, y: 820, fontPx: 36 },
  ];
  pages.push({
    name: "large",
    img: page(1500, 1000, large),
    text: linesOf(large),
    encoding: "rgb8",
  });
  const tall: PageLine[] = Array.from({ length: 8 }, (_, i) => ({
    text: ["apples", "pears", "walnuts", "honey", "oat milk", "lentils", "saffron", "basil"][i]!,
    x: 20 + (i % 3) * 14,
    y: 70 + i * 105,
    fontPx: 30,
  }));
  pages.push({ name: "tall", img: page(260, 900, tall), text: linesOf(tall), encoding: "rgb8" });
  const skewed: PageLine[] = [
    { text: "Caution: wet floor", x: 40, y: 90, fontPx: 34, rotateDeg: -12 },
    { text: "slippery when wet", x: 90, y: 210, fontPx: 30, rotateDeg: 8 },
    { text: "mind the step", x: 60, y: 330, fontPx: 36, rotateDeg: 25 },
  ];
  pages.push({
    name: "skewed",
    img: page(560, 460, skewed),
    text: linesOf(skewed),
    encoding: "rgb8",
  });
  // 1920 × 1280 is scaled by exactly 1/2 to 960 × 640: OpenCV averages 2 × 2 blocks there.
  const half: PageLine[] = [
    { text: "Platform 9 delayed", x: 120, y: 300, fontPx: 96 },
    { text: "next train in 12 minutes", x: 120, y: 600, fontPx: 80 },
    { text: "we apologise", x: 400, y: 950, fontPx: 110 },
  ];
  pages.push({ name: "half", img: page(1920, 1280, half), text: linesOf(half), encoding: "rgb8" });
  // Under 64 pixels in width + height: PaddleOCR pads it with black to 32 × 32 first.
  const tiny: PageLine[] = [{ text: "OK", x: 4, y: 17, fontPx: 16 }];
  pages.push({ name: "tiny", img: page(40, 22, tiny), text: linesOf(tiny), encoding: "rgb8" });
  const greyPage: PageLine[] = [
    { text: "Reading room", x: 20, y: 50, fontPx: 28 },
    { text: "phones on silent", x: 20, y: 105, fontPx: 24 },
  ];
  pages.push({
    name: "grey16",
    img: page(260, 130, greyPage),
    text: linesOf(greyPage),
    encoding: "grey16",
  });
  const alphaPage: PageLine[] = [
    { text: "Lost and found", x: 30, y: 60, fontPx: 36 },
    { text: "ask at the front desk", x: 30, y: 130, fontPx: 28 },
  ];
  pages.push({
    name: "rgba",
    img: page(420, 180, alphaPage, transparent),
    text: linesOf(alphaPage),
    encoding: "rgba8",
  });
  const exifPage: PageLine[] = [
    { text: "Bicycle parking", x: 30, y: 70, fontPx: 36 },
    { text: "lock both wheels", x: 30, y: 140, fontPx: 30 },
  ];
  for (const o of [3, 6, 8]) {
    pages.push({
      name: `exif-${o}`,
      img: page(400, 190, exifPage),
      text: linesOf(exifPage),
      encoding: `jpeg exif orientation ${o}`,
      bytes: jpegWithOrientation(page(400, 190, exifPage), o),
    });
  }
  for (const p of pages) {
    const jpg = p.bytes !== undefined;
    const bytes = p.bytes ?? png(p.img, p.encoding as PngKind);
    add(
      `page-${p.name}.${jpg ? "jpg" : "png"}`,
      bytes,
      { model: "ppocr-det", text: p.text.join("\n"), angle: 0 },
      jpg ? p.encoding : `png ${p.encoding}`,
    );
  }
  return { files, list };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { files, list } = buildReferenceFixtures();
  await rm(FIXTURES_DIR, { recursive: true, force: true });
  await mkdir(FIXTURES_DIR, { recursive: true });
  let total = 0;
  for (const [file, bytes] of files) {
    await writeFile(`${FIXTURES_DIR}${file}`, bytes);
    total += bytes.length;
  }
  await writeFile(`${FIXTURES_DIR}fixtures.json`, `${JSON.stringify(list, null, 2)}\n`);
  console.log(`wrote ${files.size} fixtures (${total} bytes) and fixtures.json to ${FIXTURES_DIR}`);
}
