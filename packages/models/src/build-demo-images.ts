// Writes demo/*.png and demo/answers.json: short English phrases rendered in DejaVu Sans (from
// @fontsource/dejavu-sans, so every machine draws the same glyphs), dark text on a light
// background. Lines upright and upside down for the direction classifier; pages of several
// lines for the detector. Everything is fixed, so a rerun writes the same bytes.
// Run: npx tsx src/build-demo-images.ts
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { createCanvas, GlobalFonts, type SKRSContext2D } from "@napi-rs/canvas";
import { encode } from "fast-png";
import { DEMO_DIR, type DemoImage } from "./demo-images";

const FONT = "DemoSans";
const INK = "#1d2433";
const PAPER = "#f3f0e8";

const LINE_PHRASES = [
  "parked cars",
  "open road",
  "night shift",
  "charge at 80%",
  "hello world",
  "solar noon",
  "fleet of cars",
  "low tariff",
];

const PAGES: string[][] = [
  ["Nightshift", "a fleet of parked cars", "as one inference cloud"],
  ["Plugged in at home", "battery 72%", "departs 07:45"],
  ["Off-peak power", "cheaper at night"],
  ["Task 1042 done", "verified by quorum", "owner paid $0.03", "next lease in 5 s"],
];

/**
 * Documents: A4 pages at 150 dpi (1240 × 1754 pixels), the size a scanned letter comes in. The
 * detector works on them at PaddleOCR's 960-pixel limit: real work for a car, where the small
 * pages above take a fraction of that.
 */
const DOCUMENTS: { title: string; paragraphs: string[][] }[] = [
  {
    title: "Parked cars as a datacenter",
    paragraphs: [
      [
        "A car is parked about ninety-five percent of the day.",
        "Its computer for driving sits idle while it waits,",
        "plugged in at home or at work, with energy to spare.",
      ],
      [
        "Nightshift gives such cars short inference tasks:",
        "each one small enough to finish before the owner",
        "leaves, checked against the answers of other cars,",
        "and paid for when it is found to be right.",
      ],
      [
        "The owner sets the limits: the hours it may work,",
        "the charge it keeps in reserve, and the charge it",
        "must have when it leaves in the morning.",
      ],
    ],
  },
  {
    title: "Monthly statement for one car",
    paragraphs: [
      [
        "Tasks completed: 18,204",
        "Tasks verified by quorum: 17,950",
        "Energy used: 41.6 kWh",
        "Of which from the grid: 39.2 kWh",
      ],
      [
        "Average price of power: $0.11 per kWh",
        "Carbon at the plug: 212 g per kWh",
        "Owner paid: $12.48",
      ],
      [
        "Most work was done between midnight and six,",
        "when power was cheapest and the car was charging.",
      ],
    ],
  },
];

type Box = DemoImage["boxes"][number];

function registerFont(): void {
  const file = createRequire(import.meta.url).resolve(
    "@fontsource/dejavu-sans/files/dejavu-sans-latin-400-normal.woff2",
  );
  GlobalFonts.registerFromPath(file, FONT);
}

/** The ink box of `text` drawn with its baseline at (x, y). */
function inkBox(ctx: SKRSContext2D, text: string, x: number, y: number): Box {
  const m = ctx.measureText(text);
  const left = Math.floor(x - m.actualBoundingBoxLeft);
  const top = Math.floor(y - m.actualBoundingBoxAscent);
  const right = Math.ceil(x + m.actualBoundingBoxRight);
  const bottom = Math.ceil(y + m.actualBoundingBoxDescent);
  return { x: left, y: top, width: right - left, height: bottom - top };
}

function render(
  width: number,
  height: number,
  angle: 0 | 180,
  draw: (ctx: SKRSContext2D) => Box[],
): { png: Uint8Array; boxes: Box[] } {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, width, height);
  if (angle === 180) {
    ctx.translate(width, height);
    ctx.rotate(Math.PI);
  }
  ctx.fillStyle = INK;
  let boxes = draw(ctx);
  if (angle === 180) {
    boxes = boxes.map((b) => ({ ...b, x: width - b.x - b.width, y: height - b.y - b.height }));
  }
  // RGB without alpha, through fast-png: small files whose bytes depend only on the pixels.
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    rgb[p * 3] = rgba[p * 4]!;
    rgb[p * 3 + 1] = rgba[p * 4 + 1]!;
    rgb[p * 3 + 2] = rgba[p * 4 + 2]!;
  }
  return { png: encode({ width, height, data: rgb, channels: 3, depth: 8 }), boxes };
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

export function buildDemoImages(): { files: Map<string, Uint8Array>; answers: DemoImage[] } {
  registerFont();
  const files = new Map<string, Uint8Array>();
  const answers: DemoImage[] = [];
  const measure = createCanvas(1, 1).getContext("2d");

  LINE_PHRASES.forEach((text, i) => {
    // Two sizes, so the classifier sees text both filling and not filling its 48-pixel height.
    const fontPx = i % 2 === 0 ? 28 : 36;
    measure.font = `${fontPx}px ${FONT}`;
    const textW = Math.ceil(measure.measureText(text).width);
    const pad = Math.round(fontPx * 0.4);
    const width = textW + 2 * pad;
    const height = Math.round(fontPx * 1.5);
    for (const angle of [0, 180] as const) {
      const { png, boxes } = render(width, height, angle, (ctx) => {
        ctx.font = `${fontPx}px ${FONT}`;
        const baseline = Math.round(height * 0.7);
        ctx.fillText(text, pad, baseline);
        return [inkBox(ctx, text, pad, baseline)];
      });
      const file = `line-${slug(text)}-${angle}.png`;
      files.set(file, png);
      answers.push({ file, kind: "line", text, angle, width, height, boxes });
    }
  });

  PAGES.forEach((lines, i) => {
    const width = 480;
    const height = 320;
    const fontPx = [30, 26, 34, 24][i]!;
    const lineGap = Math.round(fontPx * 2);
    const { png, boxes } = render(width, height, 0, (ctx) => {
      ctx.font = `${fontPx}px ${FONT}`;
      return lines.map((line, j) => {
        const x = 24 + 16 * j;
        const baseline = 40 + fontPx + j * lineGap;
        ctx.fillText(line, x, baseline);
        return inkBox(ctx, line, x, baseline);
      });
    });
    const file = `page-${i + 1}.png`;
    files.set(file, png);
    answers.push({ file, kind: "page", text: lines.join("\n"), angle: 0, width, height, boxes });
  });

  DOCUMENTS.forEach((doc, i) => {
    const width = 1240;
    const height = 1754;
    const margin = 150;
    const lines: string[] = [];
    const { png, boxes } = render(width, height, 0, (ctx) => {
      const out: Box[] = [];
      let baseline = margin + 48;
      ctx.font = `48px ${FONT}`;
      ctx.fillText(doc.title, margin, baseline);
      out.push(inkBox(ctx, doc.title, margin, baseline));
      lines.push(doc.title);
      baseline += 40;
      ctx.font = `32px ${FONT}`;
      for (const paragraph of doc.paragraphs) {
        baseline += 40;
        for (const line of paragraph) {
          baseline += 52;
          ctx.fillText(line, margin, baseline);
          out.push(inkBox(ctx, line, margin, baseline));
          lines.push(line);
        }
      }
      return out;
    });
    const file = `document-${i + 1}.png`;
    files.set(file, png);
    answers.push({
      file,
      kind: "document",
      text: lines.join("\n"),
      angle: 0,
      width,
      height,
      boxes,
    });
  });
  return { files, answers };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { files, answers } = buildDemoImages();
  await mkdir(DEMO_DIR, { recursive: true });
  for (const [file, bytes] of files) await writeFile(`${DEMO_DIR}${file}`, bytes);
  await writeFile(`${DEMO_DIR}answers.json`, `${JSON.stringify(answers, null, 2)}\n`);
  console.log(`wrote ${files.size} images and answers.json to ${DEMO_DIR}`);
}
