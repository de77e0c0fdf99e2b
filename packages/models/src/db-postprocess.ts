// Text boxes from a DB text detector's probability map, step for step as PaddleOCR 2.x does it
// (DBPostProcess.boxes_from_bitmap with box_type "quad" and score_mode "fast", then
// TextDetector.filter_tag_det_res): threshold the map, take every region border, fit the
// smallest rotated rectangle, score it by the mean probability inside, grow it back out by
// area·ratio/perimeter (the model predicts text shrunk by that much), fit again, scale to
// source pixels, order the corners clockwise and clip them to the image.
// Liao et al., "Real-time Scene Text Detection with Differentiable Binarization", AAAI 2020.
// Browser-safe: no Node modules.
import { findContours, type Point } from "./contours";
import {
  boxPoints,
  fillPolygon,
  minAreaRect,
  offsetPolygonRound,
  polygonAreaLength,
} from "./geometry";

export interface DbParams {
  /** A pixel is text above this probability (PaddleOCR det_db_thresh). */
  threshold: number;
  /** Boxes whose mean probability is below this are dropped (det_db_box_thresh). */
  boxThreshold: number;
  /** How far boxes grow: area·unclipRatio/perimeter (det_db_unclip_ratio). */
  unclipRatio: number;
  /** Regions looked at, at most (PaddleOCR's max_candidates). */
  maxCandidates: number;
  /** Boxes whose short side is under this many map pixels are dropped (min_size). */
  minSidePx: number;
}

export interface DbBox {
  /** Corners in source pixels, clockwise from the top-left (integers). */
  points: [Point, Point, Point, Point];
  /** Mean probability inside the box before it grew, 0..1. */
  score: number;
}

/** The rectangle around points, corners ordered as PaddleOCR's get_mini_boxes orders them. */
function miniBox(points: readonly Point[]): { box: Point[]; shortSide: number } {
  const rect = minAreaRect(points);
  // Python's sort by x is stable.
  const p = boxPoints(rect)
    .map((pt, i) => ({ pt, i }))
    .sort((a, b) => a.pt[0] - b.pt[0] || a.i - b.i)
    .map((e) => e.pt);
  const [i1, i4] = p[1]![1] > p[0]![1] ? [0, 1] : [1, 0];
  const [i2, i3] = p[3]![1] > p[2]![1] ? [2, 3] : [3, 2];
  return { box: [p[i1]!, p[i2]!, p[i3]!, p[i4]!], shortSide: Math.min(rect.width, rect.height) };
}

/** Mean probability inside the box's polygon, on the map's pixels (box_score_fast). */
function boxScore(map: ArrayLike<number>, width: number, height: number, box: Point[]): number {
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const xs = box.map((p) => p[0]);
  const ys = box.map((p) => p[1]);
  const xmin = clip(Math.floor(Math.min(...xs)), width - 1);
  const xmax = clip(Math.ceil(Math.max(...xs)), width - 1);
  const ymin = clip(Math.floor(Math.min(...ys)), height - 1);
  const ymax = clip(Math.ceil(Math.max(...ys)), height - 1);
  const w = xmax - xmin + 1;
  const h = ymax - ymin + 1;
  // Float32 offsets, then truncated toward zero as numpy's astype("int32").
  const local = box.map(
    (p) => [Math.trunc(Math.fround(p[0] - xmin)), Math.trunc(Math.fround(p[1] - ymin))] as Point,
  );
  const mask = fillPolygon(w, h, local);
  let sum = 0;
  let count = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (mask[y * w + x]) {
        sum += map[(ymin + y) * width + xmin + x]!;
        count++;
      }
    }
  }
  return count === 0 ? 0 : sum / count;
}

/** Round half to even in float32, as numpy's round on a float32 array. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Corners clockwise from the top-left (TextDetector.order_points_clockwise). */
function orderClockwise(pts: readonly Point[]): Point[] {
  const argmin = (v: number[]) => v.indexOf(Math.min(...v));
  const argmax = (v: number[]) => v.indexOf(Math.max(...v));
  const sums = pts.map((p) => p[0] + p[1]);
  const first = argmin(sums);
  const third = argmax(sums);
  const rest = pts.filter((_, i) => i !== first && i !== third);
  const diffs = rest.map((p) => p[1] - p[0]);
  return [pts[first]!, rest[argmin(diffs)]!, pts[third]!, rest[argmax(diffs)]!];
}

/**
 * PaddleOCR's DB boxes for a `width` × `height` probability map of an image `srcWidth` ×
 * `srcHeight`, in PaddleOCR's order (the reverse of the raster order of region borders).
 */
export function dbBoxes(
  map: ArrayLike<number>,
  width: number,
  height: number,
  params: DbParams,
  srcWidth: number,
  srcHeight: number,
): DbBox[] {
  // numpy compares the float32 map with the threshold as float32.
  const threshold = Math.fround(params.threshold);
  const bitmap = new Uint8Array(width * height);
  for (let i = 0; i < bitmap.length; i++) bitmap[i] = map[i]! > threshold ? 1 : 0;
  const contours = findContours(bitmap, width, height).slice(0, params.maxCandidates);
  const out: DbBox[] = [];
  for (const contour of contours) {
    const first = miniBox(contour);
    if (first.shortSide < params.minSidePx) continue;
    const score = boxScore(map, width, height, first.box);
    if (params.boxThreshold > score) continue;
    // Grow by area·ratio/perimeter of the float box; Clipper takes the corners truncated.
    const { area, length } = polygonAreaLength(first.box);
    const grown = offsetPolygonRound(
      first.box.map((p) => [Math.trunc(p[0]), Math.trunc(p[1])] as Point),
      (area * params.unclipRatio) / length,
    );
    if (grown.length === 0) continue;
    const second = miniBox(grown);
    if (second.shortSide < params.minSidePx + 2) continue;
    const scaled = second.box.map(
      (p) =>
        [
          Math.min(
            Math.max(roundHalfEven(Math.fround(Math.fround(p[0] / width) * srcWidth)), 0),
            srcWidth,
          ),
          Math.min(
            Math.max(roundHalfEven(Math.fround(Math.fround(p[1] / height) * srcHeight)), 0),
            srcHeight,
          ),
        ] as Point,
    );
    // filter_tag_det_res: clockwise corners clipped into the image, and no side of 3 pixels or less.
    const points = orderClockwise(scaled).map(
      (p) =>
        [
          Math.min(Math.max(p[0], 0), srcWidth - 1),
          Math.min(Math.max(p[1], 0), srcHeight - 1),
        ] as Point,
    );
    const side = (a: Point, b: Point) => Math.trunc(Math.hypot(a[0] - b[0], a[1] - b[1]));
    if (side(points[0]!, points[1]!) <= 3 || side(points[0]!, points[3]!) <= 3) continue;
    out.push({ points: points as DbBox["points"], score });
  }
  return out;
}
