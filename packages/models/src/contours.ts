// Borders of the regions of a binary map, as OpenCV 4's cv::findContours finds them with
// RETR_LIST and CHAIN_APPROX_SIMPLE (Suzuki and Abe's border following, 1985): every outer
// border and every hole border, 8-connected, each as the pixels where its direction changes.
// PaddleOCR's DB post-processing takes the text regions from it, so the same points, in the
// same order, give the same boxes. Browser-safe: no Node modules.

export type Point = [number, number];

/** Direction codes 0..7: right, up-right, up, up-left, left, down-left, down, down-right. */
const CODE_DX = [1, 1, 0, -1, -1, -1, 0, 1];
const CODE_DY = [0, -1, -1, -1, 0, 1, 1, 1];

/** Marks on a followed border, as OpenCV's: 2, or 2 with the high bit where the border's right side is. */
const NBD = 2;
const NBD_RIGHT = NBD | -128;

/**
 * The contours of `map` (width × height, nonzero = inside), in OpenCV's order: the reverse of
 * the order a raster scan meets them.
 */
export function findContours(map: ArrayLike<number>, width: number, height: number): Point[][] {
  // A zero frame around the map, as OpenCV adds one, so borders on the edge are followed too.
  const w = width + 2;
  const h = height + 2;
  const img = new Int8Array(w * h);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) if (map[y * width + x]) img[(y + 1) * w + x + 1] = 1;
  const deltas = [1, -w + 1, -w, -w - 1, -1, w - 1, w, w + 1];
  const found: Point[][] = [];

  for (let y = 1; y < h - 1; y++) {
    let prev = 0;
    for (let x = 1; x < w - 1; x++) {
      const p = img[y * w + x]!;
      if (p === prev) continue;
      let isHole = false;
      if (!(prev === 0 && p === 1)) {
        // A hole border starts where a pixel not yet met as a right border meets background.
        if (p !== 0 || prev < 1) {
          prev = p;
          continue;
        }
        isHole = true;
      }
      const start = y * w + x - (isHole ? 1 : 0);
      found.push(follow(img, deltas, w, start, isHole));
      // The scan goes on past the start pixel, which following may have marked.
      prev = img[y * w + x]!;
    }
  }
  return found.reverse();
}

/** Follows one border from `start`, marking it, and returns its direction-change points. */
function follow(
  img: Int8Array,
  deltas: number[],
  w: number,
  start: number,
  isHole: boolean,
): Point[] {
  const points: Point[] = [];
  // Map coordinates: the frame shifts everything by one pixel.
  let px = (start % w) - 1;
  let py = Math.floor(start / w) - 1;
  const sEnd0 = isHole ? 0 : 4;
  let s = sEnd0;
  let i1 = start;
  do {
    s = (s - 1) & 7;
    i1 = start + deltas[s]!;
  } while (img[i1] === 0 && s !== sEnd0);
  if (s === sEnd0 && img[i1] === 0) {
    // A single pixel.
    img[start] = NBD_RIGHT;
    return [[px, py]];
  }
  let i3 = start;
  let prevS = s ^ 4;
  for (;;) {
    const sEnd = s;
    let i4 = i3;
    // Counter-clockwise from the direction we came back along, to the next border pixel.
    for (;;) {
      s = (s + 1) & 7;
      i4 = i3 + deltas[s]!;
      if (img[i4] !== 0) break;
      if (s === sEnd) break;
    }
    if (s - 1 >= 0 && s - 1 < sEnd) img[i3] = NBD_RIGHT;
    else if (img[i3] === 1) img[i3] = NBD;
    if (s !== prevS) {
      points.push([px, py]);
      prevS = s;
    }
    px += CODE_DX[s]!;
    py += CODE_DY[s]!;
    if (i4 === start && i3 === i1) break;
    i3 = i4;
    s = (s + 4) & 7;
  }
  return points;
}
