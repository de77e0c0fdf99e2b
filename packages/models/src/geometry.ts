// Plane geometry for text boxes, reproducing the libraries PaddleOCR's DB post-processing calls,
// down to their float32 arithmetic and tie-breaking, so boxes land on the same pixels:
// OpenCV 4's convexHull (Sklansky), minAreaRect (rotating calipers), boxPoints and fillPoly
// (8-connected edges plus scan-line fill), and Clipper 6's polygon offset with round joins
// (pyclipper). Browser-safe: no Node modules.
import type { Point } from "./contours";

const f32 = Math.fround;

/** A rotated rectangle as OpenCV's RotatedRect: float32 centre, size and angle in degrees. */
export interface RotatedRect {
  cx: number;
  cy: number;
  width: number;
  height: number;
  angleDeg: number;
}

function sign(v: number): number {
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

/** One monotone chain of Sklansky's scan over points sorted by x (OpenCV's Sklansky_). */
function sklansky(
  pts: Point[],
  start: number,
  end: number,
  stack: number[],
  nsign: number,
  sign2: number,
): number {
  const incr = end > start ? 1 : -1;
  let pprev = start;
  let pcur = pprev + incr;
  let pnext = pcur + incr;
  let size = 3;
  if (start === end || (pts[start]![0] === pts[end]![0] && pts[start]![1] === pts[end]![1])) {
    stack[0] = start;
    return 1;
  }
  stack[0] = pprev;
  stack[1] = pcur;
  stack[2] = pnext;
  const after = end + incr;
  while (pnext !== after) {
    const cury = pts[pcur]![1];
    const by = pts[pnext]![1] - cury;
    if (sign(by) !== nsign) {
      const ax = pts[pcur]![0] - pts[pprev]![0];
      const bx = pts[pnext]![0] - pts[pcur]![0];
      const ay = cury - pts[pprev]![1];
      const convexity = ay * bx - ax * by;
      if (sign(convexity) === sign2 && (ax !== 0 || ay !== 0)) {
        pprev = pcur;
        pcur = pnext;
        pnext += incr;
        stack[size++] = pnext;
      } else if (pprev === start) {
        pcur = pnext;
        stack[1] = pcur;
        pnext += incr;
        stack[2] = pnext;
      } else {
        stack[size - 2] = pnext;
        pcur = pprev;
        pprev = stack[size - 4]!;
        size--;
      }
    } else {
      pnext += incr;
      stack[size - 1] = pnext;
    }
  }
  return size - 1;
}

/**
 * Convex hull of integer points, counter-clockwise in image coordinates, starting where
 * OpenCV's convexHull(points, clockwise=false) starts (which depends on the input order).
 */
export function convexHull(points: readonly Point[]): Point[] {
  const total = points.length;
  if (total === 0) return [];
  // Sorted by x, then y, then input position (OpenCV compares the pointers last).
  const order = points.map((_, i) => i);
  order.sort((a, b) => points[a]![0] - points[b]![0] || points[a]![1] - points[b]![1] || a - b);
  const pts = order.map((i) => points[i]!);
  let miny = 0;
  let maxy = 0;
  for (let i = 1; i < total; i++) {
    if (pts[miny]![1] > pts[i]![1]) miny = i;
    if (pts[maxy]![1] < pts[i]![1]) maxy = i;
  }
  const hull: number[] = [];
  if (pts[0]![0] === pts[total - 1]![0] && pts[0]![1] === pts[total - 1]![1]) {
    hull.push(0);
  } else {
    let tl: number[] = [];
    let tr: number[] = [];
    let tlCount = sklansky(pts, 0, maxy, tl, -1, 1);
    let trCount = sklansky(pts, total - 1, maxy, tr, -1, -1);
    // Counter-clockwise: the upper chains are taken the other way round.
    [tl, tr] = [tr, tl];
    [tlCount, trCount] = [trCount, tlCount];
    for (let i = 0; i < tlCount - 1; i++) hull.push(tl[i]!);
    for (let i = trCount - 1; i > 0; i--) hull.push(tr[i]!);
    const stopIdx = trCount > 2 ? tr[1]! : tlCount > 2 ? tl[tlCount - 2]! : -1;

    const bl: number[] = [];
    const br: number[] = [];
    let blCount = sklansky(pts, 0, miny, bl, 1, -1);
    let brCount = sklansky(pts, total - 1, miny, br, 1, 1);
    if (stopIdx >= 0) {
      const checkIdx = blCount > 2 ? bl[1]! : blCount + brCount > 2 ? br[2 - blCount]! : -1;
      if (
        checkIdx === stopIdx ||
        (checkIdx >= 0 &&
          pts[checkIdx]![0] === pts[stopIdx]![0] &&
          pts[checkIdx]![1] === pts[stopIdx]![1])
      ) {
        // All points on one line: the lower half mirrors the upper one.
        blCount = Math.min(blCount, 2);
        brCount = Math.min(brCount, 2);
      }
    }
    for (let i = 0; i < blCount - 1; i++) hull.push(bl[i]!);
    for (let i = brCount - 1; i > 0; i--) hull.push(br[i]!);
  }
  // Indices into the input, cyclically shifted so that they ascend or descend where they can.
  const idx = hull.map((i) => order[i]!);
  const nout = idx.length;
  if (nout >= 3) {
    let minI = 0;
    let maxI = 0;
    let lt = 0;
    for (let i = 1; i < nout; i++) {
      const v = idx[i]!;
      if (idx[i - 1]! < v) lt++;
      if (lt > 1 && lt <= i - 2) break;
      if (v < idx[minI]!) minI = i;
      if (v > idx[maxI]!) maxI = i;
    }
    const mmdist = Math.abs(maxI - minI);
    if ((mmdist === 1 || mmdist === nout - 1) && (lt <= 1 || lt >= nout - 2)) {
      const ascending = (maxI + 1) % nout === minI;
      const i0 = ascending ? minI : maxI;
      if (i0 > 0) {
        const shifted: number[] = [];
        let j = i0;
        let i = 0;
        for (; i < nout; i++) {
          const cur = idx[j]!;
          shifted.push(cur);
          const nextJ = j + 1 < nout ? j + 1 : 0;
          if (i < nout - 1 && ascending !== cur < idx[nextJ]!) break;
          j = nextJ;
        }
        if (i === nout) idx.splice(0, nout, ...shifted);
      }
    }
  }
  return idx.map((i) => points[i]!);
}

/** Rotating calipers over a convex hull (OpenCV's rotatingCalipers, CALIPERS_MINAREARECT). */
function calipers(p: Point[]): [number, number, number, number, number, number] {
  const n = p.length;
  const vx = new Array<number>(n);
  const vy = new Array<number>(n);
  const inv = new Array<number>(n);
  let left = 0;
  let bottom = 0;
  let right = 0;
  let top = 0;
  let leftX = p[0]![0];
  let rightX = leftX;
  let topY = p[0]![1];
  let bottomY = topY;
  for (let i = 0; i < n; i++) {
    const [x0, y0] = p[i]!;
    // The first extreme point in hull order (strict comparisons), as OpenCV picks it.
    if (x0 < leftX) [leftX, left] = [x0, i];
    if (x0 > rightX) [rightX, right] = [x0, i];
    if (y0 > topY) [topY, top] = [y0, i];
    if (y0 < bottomY) [bottomY, bottom] = [y0, i];
    const [x1, y1] = p[(i + 1) % n]!;
    const dx = f32(x1 - x0);
    const dy = f32(y1 - y0);
    vx[i] = dx;
    vy[i] = dy;
    inv[i] = f32(1 / Math.sqrt(dx * dx + dy * dy));
  }
  let orientation = 0;
  {
    let ax = vx[n - 1]!;
    let ay = vy[n - 1]!;
    for (let i = 0; i < n; i++) {
      const bx = vx[i]!;
      const by = vy[i]!;
      const convexity = ax * by - ay * bx;
      if (convexity !== 0) {
        orientation = convexity > 0 ? 1 : -1;
        break;
      }
      ax = bx;
      ay = by;
    }
    if (orientation === 0) throw new Error("minAreaRect: the hull has no turn");
  }
  let baseA = orientation;
  let baseB = 0;
  const seq = [bottom, right, top, left];
  let minArea = Number.MAX_VALUE;
  let best = { left: 0, a: 0, width: 0, b: 0, height: 0, bottom: 0 };
  for (let k = 0; k < n; k++) {
    // Each caliper's edge, turned to caliper 0's frame; the one turned least leads.
    const rot: [number, number][] = [
      [vx[seq[0]!]!, vy[seq[0]!]!],
      [vy[seq[1]!]!, -vx[seq[1]!]!],
      [-vx[seq[2]!]!, -vy[seq[2]!]!],
      [-vy[seq[3]!]!, vx[seq[3]!]!],
    ];
    let main = 0;
    for (let i = 1; i < 4; i++) {
      // rot[i] lies clockwise of rot[main] (float32 dot product with rot[i] turned 90° clockwise).
      const tx = rot[i]![1];
      const ty = -rot[i]![0];
      if (f32(f32(tx * rot[main]![0]) + f32(ty * rot[main]![1])) < 0) main = i;
    }
    const pi = seq[main]!;
    const leadX = f32(vx[pi]! * inv[pi]!);
    const leadY = f32(vy[pi]! * inv[pi]!);
    // The leading edge becomes the new base, turned back by its caliper's quarter turns.
    if (main === 0) [baseA, baseB] = [leadX, leadY];
    else if (main === 1) [baseA, baseB] = [leadY, -leadX];
    else if (main === 2) [baseA, baseB] = [-leadX, -leadY];
    else [baseA, baseB] = [-leadY, leadX];
    seq[main] = seq[main]! + 1 === n ? 0 : seq[main]! + 1;

    let dx = f32(p[seq[1]!]![0] - p[seq[3]!]![0]);
    let dy = f32(p[seq[1]!]![1] - p[seq[3]!]![1]);
    const width = f32(f32(dx * baseA) + f32(dy * baseB));
    dx = f32(p[seq[2]!]![0] - p[seq[0]!]![0]);
    dy = f32(p[seq[2]!]![1] - p[seq[0]!]![1]);
    const height = f32(f32(-dx * baseB) + f32(dy * baseA));
    const area = f32(width * height);
    if (area <= minArea) {
      minArea = area;
      best = { left: seq[3]!, a: baseA, width, b: baseB, height, bottom: seq[0]! };
    }
  }
  const A1 = best.a;
  const B1 = best.b;
  const A2 = -best.b;
  const B2 = best.a;
  const pl = p[best.left]!;
  const pb = p[best.bottom]!;
  const C1 = f32(f32(A1 * pl[0]) + f32(pl[1] * B1));
  const C2 = f32(f32(A2 * pb[0]) + f32(pb[1] * B2));
  const idet = f32(1 / f32(f32(A1 * B2) - f32(A2 * B1)));
  const px = f32(f32(f32(C1 * B2) - f32(C2 * B1)) * idet);
  const py = f32(f32(f32(A1 * C2) - f32(A2 * C1)) * idet);
  return [
    px,
    py,
    f32(A1 * best.width),
    f32(B1 * best.width),
    f32(A2 * best.height),
    f32(B2 * best.height),
  ];
}

/** The smallest rotated rectangle around integer points (cv::minAreaRect). */
export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points);
  const n = hull.length;
  let rect: RotatedRect = { cx: 0, cy: 0, width: 0, height: 0, angleDeg: 0 };
  let angle = 0;
  if (n > 2) {
    const [x0, y0, x1, y1, x2, y2] = calipers(hull);
    rect = {
      cx: f32(x0 + f32(f32(x1 + x2) * 0.5)),
      cy: f32(y0 + f32(f32(y1 + y2) * 0.5)),
      width: f32(Math.sqrt(x1 * x1 + y1 * y1)),
      height: f32(Math.sqrt(x2 * x2 + y2 * y2)),
      angleDeg: 0,
    };
    angle = f32(Math.atan2(y1, x1));
  } else if (n === 2) {
    const [a, b] = hull as [Point, Point];
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    rect = {
      cx: f32(f32(a[0] + b[0]) * 0.5),
      cy: f32(f32(a[1] + b[1]) * 0.5),
      width: f32(Math.sqrt(dx * dx + dy * dy)),
      height: 0,
      angleDeg: 0,
    };
    angle = f32(Math.atan2(dy, dx));
  } else if (n === 1) {
    rect = { cx: hull[0]![0], cy: hull[0]![1], width: 0, height: 0, angleDeg: 0 };
  }
  rect.angleDeg = f32(f32(angle * 180) / Math.PI);
  return rect;
}

/** The rectangle's corners (cv::boxPoints), float32. */
export function boxPoints(r: RotatedRect): Point[] {
  const rad = (r.angleDeg * Math.PI) / 180;
  const b = f32(f32(Math.cos(rad)) * 0.5);
  const a = f32(f32(Math.sin(rad)) * 0.5);
  const p0: Point = [
    f32(f32(r.cx - f32(a * r.height)) - f32(b * r.width)),
    f32(f32(r.cy + f32(b * r.height)) - f32(a * r.width)),
  ];
  const p1: Point = [
    f32(f32(r.cx + f32(a * r.height)) - f32(b * r.width)),
    f32(f32(r.cy - f32(b * r.height)) - f32(a * r.width)),
  ];
  return [
    p0,
    p1,
    [f32(f32(2 * r.cx) - p0[0]), f32(f32(2 * r.cy) - p0[1])],
    [f32(f32(2 * r.cx) - p1[0]), f32(f32(2 * r.cy) - p1[1])],
  ];
}

// ---- filling a polygon (cv::fillPoly, 8-connected, no sub-pixel shift) ----

const XY_SHIFT = 16;
const XY_ONE = 1 << XY_SHIFT;

/** Cohen-Sutherland clipping of an integer segment to the image (OpenCV's clipLine). */
function clipLine(width: number, height: number, a: Point, b: Point): boolean {
  let [x1, y1] = a;
  let [x2, y2] = b;
  const right = width - 1;
  const bottom = height - 1;
  let c1 = +(x1 < 0) + +(x1 > right) * 2 + +(y1 < 0) * 4 + +(y1 > bottom) * 8;
  let c2 = +(x2 < 0) + +(x2 > right) * 2 + +(y2 < 0) * 4 + +(y2 > bottom) * 8;
  if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
    if (c1 & 12) {
      const t = c1 < 8 ? 0 : bottom;
      x1 += Math.trunc(((t - y1) * (x2 - x1)) / (y2 - y1));
      y1 = t;
      c1 = +(x1 < 0) + +(x1 > right) * 2;
    }
    if (c2 & 12) {
      const t = c2 < 8 ? 0 : bottom;
      x2 += Math.trunc(((t - y2) * (x2 - x1)) / (y2 - y1));
      y2 = t;
      c2 = +(x2 < 0) + +(x2 > right) * 2;
    }
    if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
      if (c1) {
        const t = c1 === 1 ? 0 : right;
        y1 += Math.trunc(((t - x1) * (y2 - y1)) / (x2 - x1));
        x1 = t;
        c1 = 0;
      }
      if (c2) {
        const t = c2 === 1 ? 0 : right;
        y2 += Math.trunc(((t - x2) * (y2 - y1)) / (x2 - x1));
        x2 = t;
        c2 = 0;
      }
    }
  }
  a[0] = x1;
  a[1] = y1;
  b[0] = x2;
  b[1] = y2;
  return (c1 | c2) === 0;
}

/** An 8-connected line, drawn left to right as OpenCV's LineIterator does. */
function drawLine(mask: Uint8Array, width: number, height: number, p: Point, q: Point): void {
  const a: Point = [p[0], p[1]];
  const b: Point = [q[0], q[1]];
  const outside =
    a[0] < 0 || a[0] >= width || b[0] < 0 || b[0] >= width ||
    a[1] < 0 || a[1] >= height || b[1] < 0 || b[1] >= height; // prettier-ignore
  if (outside && !clipLine(width, height, a, b)) return;
  let [x, y] = a;
  let dx = b[0] - a[0];
  let dy = b[1] - a[1];
  if (dx < 0) {
    dx = -dx;
    dy = -dy;
    [x, y] = b;
  }
  let stepY = 1;
  if (dy < 0) {
    dy = -dy;
    stepY = -1;
  }
  const vertical = dy > dx;
  const major = vertical ? dy : dx;
  const minor = vertical ? dx : dy;
  let err = major - 2 * minor;
  for (let i = 0; i <= major; i++) {
    mask[y * width + x] = 1;
    const diagonal = err < 0;
    err += -2 * minor + (diagonal ? 2 * major : 0);
    if (vertical) {
      y += stepY;
      if (diagonal) x += 1;
    } else {
      x += 1;
      if (diagonal) y += stepY;
    }
  }
}

interface Edge {
  y0: number;
  y1: number;
  x: number;
  dx: number;
  next: Edge | null;
}

/**
 * A width × height mask with the polygon filled in (cv::fillPoly(mask, [pts], 1)): its edges
 * drawn as 8-connected lines and its inside filled row by row, in 16.16 fixed point.
 */
export function fillPolygon(width: number, height: number, pts: readonly Point[]): Uint8Array {
  const mask = new Uint8Array(width * height);
  const edges: Edge[] = [];
  const n = pts.length;
  let p0 = pts[n - 1]!;
  for (let i = 0; i < n; i++) {
    const p1 = pts[i]!;
    drawLine(mask, width, height, p0, p1);
    const x0 = p0[0] * XY_ONE;
    const x1 = p1[0] * XY_ONE;
    if (p0[1] !== p1[1]) {
      const down = p0[1] < p1[1];
      edges.push({
        y0: down ? p0[1] : p1[1],
        y1: down ? p1[1] : p0[1],
        x: down ? x0 : x1,
        dx: Math.trunc((x1 - x0) / (p1[1] - p0[1])),
        next: null,
      });
    }
    p0 = p1;
  }
  if (edges.length < 2) return mask;
  let yMin = Infinity;
  let yMax = -Infinity;
  let xMin = Infinity;
  let xMax = -Infinity;
  for (const e of edges) {
    const xEnd = e.x + (e.y1 - e.y0) * e.dx;
    yMin = Math.min(yMin, e.y0);
    yMax = Math.max(yMax, e.y1);
    xMin = Math.min(xMin, e.x, xEnd);
    xMax = Math.max(xMax, e.x, xEnd);
  }
  if (yMax < 0 || yMin >= height || xMax < 0 || xMin >= width * XY_ONE) return mask;
  edges.sort((a, b) => a.y0 - b.y0 || a.x - b.x || a.dx - b.dx);
  const total = edges.length;
  edges.push({ y0: Number.MAX_SAFE_INTEGER, y1: 0, x: 0, dx: 0, next: null });
  const head: Edge = { y0: 0, y1: 0, x: 0, dx: 0, next: null };
  let i = 0;
  let e = edges[0]!;
  yMax = Math.min(yMax, height);
  for (let y = e.y0; y < yMax; y++) {
    let prelast: Edge = head;
    let last = head.next;
    let draw = false;
    while (last || e.y0 === y) {
      if (last && last.y1 === y) {
        // The edge ends above this row.
        prelast.next = last.next;
        last = last.next;
        continue;
      }
      const keep = prelast;
      if (last && (e.y0 > y || last.x < e.x)) {
        prelast = last;
        last = last.next;
      } else if (i < total) {
        // A new edge starts on this row.
        prelast.next = e;
        e.next = last;
        prelast = e;
        e = edges[++i]!;
      } else break;
      if (draw) {
        if (y >= 0) {
          let x1: number;
          let x2: number;
          if (keep.x > prelast.x) {
            x1 = Math.floor((prelast.x + XY_ONE - 1) / XY_ONE);
            x2 = Math.floor(keep.x / XY_ONE);
          } else {
            x1 = Math.floor((keep.x + XY_ONE - 1) / XY_ONE);
            x2 = Math.floor(prelast.x / XY_ONE);
          }
          if (x1 < width && x2 >= 0) {
            x1 = Math.max(x1, 0);
            x2 = Math.min(x2, width - 1);
            mask.fill(1, y * width + x1, y * width + x2 + 1);
          }
        }
        keep.x += keep.dx;
        prelast.x += prelast.dx;
      }
      draw = !draw;
    }
    // Keep the active edges sorted by x (bubble sort, as OpenCV).
    let keepPrelast: Edge | null = null;
    do {
      prelast = head;
      last = head.next;
      let lastExchange: Edge | null = null;
      while (last !== keepPrelast && last && last.next) {
        const te: Edge = last.next;
        if (last.x > te.x) {
          prelast.next = te;
          last.next = te.next;
          te.next = last;
          prelast = te;
          lastExchange = prelast;
        } else {
          prelast = last;
          last = te;
        }
      }
      if (lastExchange === null) break;
      keepPrelast = lastExchange;
    } while (keepPrelast !== head.next && keepPrelast !== head);
  }
  return mask;
}

// ---- growing a polygon (Clipper 6 ClipperOffset, round joins, closed polygon) ----

/** Clipper's Round: half away from zero. */
function clipperRound(v: number): number {
  return v < 0 ? Math.trunc(v - 0.5) : Math.trunc(v + 0.5);
}

/** Twice the signed area (Clipper's Area sign tells the orientation). */
function doubleArea(poly: readonly Point[]): number {
  let a = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    a += (poly[j]![0] + poly[i]![0]) * (poly[j]![1] - poly[i]![1]);
  }
  return a;
}

/**
 * The vertices of a closed integer polygon grown by `delta` with round corners (pyclipper's
 * PyclipperOffset with JT_ROUND, ET_CLOSEDPOLYGON, ArcTolerance 0.25), before Clipper's final
 * union. That union only merges and cleans the outline; for the convex quadrilaterals grown
 * here it keeps the vertices that matter to a hull.
 */
export function offsetPolygonRound(path: readonly Point[], delta: number): Point[] {
  // Duplicate neighbours (and a last point equal to the first) are dropped, as AddPath does.
  const src: Point[] = [];
  for (const p of path) {
    const prev = src[src.length - 1];
    if (!prev || prev[0] !== p[0] || prev[1] !== p[1]) src.push([p[0], p[1]]);
  }
  while (
    src.length > 1 &&
    src[0]![0] === src[src.length - 1]![0] &&
    src[0]![1] === src[src.length - 1]![1]
  )
    src.pop();
  if (src.length < 3) return [];
  // Clipper makes outer polygons positive (counter-clockwise in its y-up sense) first.
  if (!(doubleArea(src) <= 0)) src.reverse();
  const len = src.length;
  const arcTolerance = 0.25;
  const y = arcTolerance > Math.abs(delta) * 0.25 ? Math.abs(delta) * 0.25 : arcTolerance;
  let steps = Math.PI / Math.acos(1 - y / Math.abs(delta));
  if (steps > Math.abs(delta) * Math.PI) steps = Math.abs(delta) * Math.PI;
  const sin = Math.sin((2 * Math.PI) / steps) * (delta < 0 ? -1 : 1);
  const cos = Math.cos((2 * Math.PI) / steps);
  const stepsPerRad = steps / (2 * Math.PI);
  const normals: Point[] = [];
  for (let j = 0; j < len; j++) {
    const a = src[j]!;
    const b = src[(j + 1) % len]!;
    if (a[0] === b[0] && a[1] === b[1]) {
      normals.push([0, 0]);
      continue;
    }
    let dx = b[0] - a[0];
    let dy = b[1] - a[1];
    const f = (1 * 1.0) / Math.sqrt(dx * dx + dy * dy);
    dx *= f;
    dy *= f;
    normals.push([dy, -dx]);
  }
  const out: Point[] = [];
  let k = len - 1;
  for (let j = 0; j < len; j++) {
    const nk = normals[k]!;
    const nj = normals[j]!;
    const pj = src[j]!;
    let sinA = nk[0] * nj[1] - nj[0] * nk[1];
    const at = (n: Point): Point => [
      clipperRound(pj[0] + n[0] * delta),
      clipperRound(pj[1] + n[1] * delta),
    ];
    if (Math.abs(sinA * delta) < 1.0) {
      const cosA = nk[0] * nj[0] + nj[1] * nk[1];
      if (cosA > 0) {
        // Nearly straight on: one point, and (as Clipper) k stays on the earlier edge.
        out.push(at(nk));
        continue;
      }
    } else if (sinA > 1.0) sinA = 1.0;
    else if (sinA < -1.0) sinA = -1.0;
    if (sinA * delta < 0) {
      out.push(at(nk), [pj[0], pj[1]], at(nj));
    } else {
      const angle = Math.atan2(sinA, nk[0] * nj[0] + nk[1] * nj[1]);
      const count = Math.max(clipperRound(stepsPerRad * Math.abs(angle)), 1);
      let X = nk[0];
      let Y = nk[1];
      for (let s = 0; s < count; s++) {
        out.push([clipperRound(pj[0] + X * delta), clipperRound(pj[1] + Y * delta)]);
        const X2 = X;
        X = X * cos - sin * Y;
        Y = X2 * sin + Y * cos;
      }
      out.push(at(nj));
    }
    k = j;
  }
  return out;
}

/** Area and perimeter of a polygon in float64 (what shapely's Polygon gives). */
export function polygonAreaLength(poly: readonly Point[]): { area: number; length: number } {
  let twice = 0;
  let length = 0;
  const n = poly.length;
  for (let i = 0; i < n; i++) {
    const a = poly[i]!;
    const b = poly[(i + 1) % n]!;
    twice += a[0] * b[1] - b[0] * a[1];
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    length += Math.sqrt(dx * dx + dy * dy);
  }
  return { area: Math.abs(twice) / 2, length };
}
